"""Browser messages are trusted no further than the contract: the studio and the grid view check every value they take
from the browser where it enters, and refuse a bad one whole, cheaply, with one notice.

A buggy or compromised frontend, or a notebook whose saved widget state was edited, can send anything. Everything here
is delivered the way ipywidgets delivers it: ``widget.set_state(state)`` is what the comm's ``update`` calls for synced
traits, ``widget._handle_custom_msg(content, buffers)`` what it calls for custom messages (with ipywidgets' own
dispatcher, which turns an escaping exception into a logged traceback: so the log is watched too). For each message:

- nothing escapes, and the log holds at most warnings, none with a traceback;
- a refused one changes nothing (the synced state, the mask, the sources; the grid's ratings and requests), shows
  exactly one notice naming the field and the rule, logs one warning, and puts the browser back (an ``update`` of the
  refused traits with Python's values, no echo of the bad ones);
- a refused one returns fast (under 0.5 s of wall time on a busy 2-core machine) and allocates nothing that grows with
  the bad number (tracemalloc's peak under twice the mask's own bytes, however big the bad value).

The named cases of the hardening issue come first as examples; hypothesis then sends any JSON in any field.
"""

from __future__ import annotations

import gc
import logging
import math
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ipywidgets.widgets.widget import _remove_buffers

from anyfast_widget import ImageStudio, compare, prompts
from anyfast_widget.studio import _limits as studio_limits

from .conftest import encode, gradient

WIDTH, HEIGHT = 1024, 768  # the primary source of the named cases: its mask is 786,432 bytes
REFUSED_SECONDS = 0.5  # a refusal's wall time, generous for a busy 2-core machine (it takes well under 10 ms)
REFUSED_PEAK = 2 * WIDTH * HEIGHT  # bytes a refusal may allocate at most: twice the mask's (checking 20,000 points takes ~0.8 MB)
HYPOTHESIS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


# -- delivering, and what came of it --------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Outcome:
    """What one delivered message did: its wall time, the notices set, the log records, what went to the browser."""

    seconds: float
    notices: list[dict]
    records: list[logging.LogRecord]
    sent: list[dict]
    error: BaseException | None = None
    peak: int | None = None
    refused_keys: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return len(self.notices) == 1 and self.notices[0].get("title", "").endswith("from the browser was refused")

    def check_clean(self) -> None:
        """Nothing escaped; the log holds warnings at most, none with a traceback; one notice at most."""
        assert self.error is None, f"escaped: {self.error!r}"
        loud = [r for r in self.records if r.levelno > logging.WARNING or r.exc_info]
        assert loud == [], [r.getMessage() for r in loud]
        assert len(self.notices) <= 1, self.notices


def deliver(widget, *, state: dict | None = None, content=None, buffers=None, memory: bool = False) -> Outcome:
    """Deliver an update of synced traits (``state``) or a custom message (``content``, ``buffers``), as the comm does."""
    notices: list[dict] = []
    sent: list[dict] = []

    def on_notice(change):
        if change["new"]:
            notices.append(change["new"])

    widget.observe(on_notice, names="notice")
    widget._send = lambda msg, buffers=None: sent.append(msg)
    handler = _Records()
    loggers = [logging.getLogger(), logging.getLogger("traitlets")]
    for logger in loggers:
        logger.addHandler(handler)
    error = None
    gc.collect()  # the test's own big lists are not the message's cost
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        if state is not None:
            widget.set_state(state)
        else:
            widget._handle_custom_msg(content, buffers if buffers is not None else [])
    except BaseException as caught:  # noqa: BLE001 - that is what is tested
        error = caught
    seconds = time.perf_counter() - start
    peak = None
    if memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    for logger in loggers:
        logger.removeHandler(handler)
    widget.unobserve(on_notice, names="notice")
    del widget._send
    records = list({id(r): r for r in handler.records}.values())
    keys = [k for k in (state or {}) if k in widget.keys] if isinstance(state, dict) else []
    return Outcome(seconds, notices, records, sent, error, peak, keys)


def check_refused(outcome: Outcome, widget, before, snapshot, field_name: str | None = None, rule: str | None = None):
    """The whole refusal: clean, fast, small, one notice naming the field and rule, one warning, nothing changed, put back."""
    outcome.check_clean()
    assert outcome.refused, outcome.notices
    notice = outcome.notices[0]
    assert notice["kind"] == "error" and notice["hint"] is not None
    if field_name is not None:
        assert notice["message"].startswith(f"{field_name}:"), notice
    if rule is not None:
        assert f"(rule: {rule};" in notice["message"], notice
    warnings = [r for r in outcome.records if r.name == "anyfast_widget" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in outcome.records]
    assert snapshot(widget) == before, "a refused message changed the state"
    assert outcome.seconds < REFUSED_SECONDS, f"a refusal took {outcome.seconds:.3f} s"
    if outcome.peak is not None:
        assert outcome.peak < REFUSED_PEAK, f"a refusal allocated {outcome.peak:,} bytes"
    assert not [m for m in outcome.sent if m.get("method") == "echo_update"]  # the bad value is not echoed
    if outcome.refused_keys:  # the browser is put back: Python's own values of the refused traits
        updates = [m for m in outcome.sent if m.get("method") == "update" and set(outcome.refused_keys) <= set(m["state"])]
        assert updates, outcome.sent
        ours, _, _ = _remove_buffers(widget.get_state(outcome.refused_keys))  # as send_state splits out binary values
        assert {k: updates[-1]["state"][k] for k in outcome.refused_keys} == ours


# -- the widgets -----------------------------------------------------------------------------------------------------


def studio_snapshot(studio):
    state = {k: v for k, v in studio.get_state().items() if k not in ("notice", "_esm", "_css")}
    region = studio._mask.region
    return state, None if region is None else region.tobytes(), [s.id for s in studio._sources]


def grid_snapshot(view):
    state = {k: v for k, v in view.get_state().items() if k not in ("notice", "_esm", "_css")}
    return state, list(view.grid.ratings), [s.status for _, s in view.grid.slots()]


def stroke(points, radius=20.0, mode="paint"):
    return {"op": "stroke", "points": [float(v) for xy in points for v in xy], "radius": radius, "mode": mode}


def make_studio(run_dir, size, monkeypatch):
    monkeypatch.delenv("ANYFAST_API_KEY", raising=False)  # a run button pressed by hypothesis goes nowhere
    studio = ImageStudio(run_dir=run_dir)
    studio.sources = [gradient(*size), gradient(size[0] // 2, size[1] // 2), gradient(64, 48)]
    studio.mask_edits = [stroke([(100, 100), (300, 200)], 30)]
    studio.mask_tools = {"grow": 2, "feather": 4, "keep_outside": False}
    return studio


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """Shared by the tests of refusals, which check that nothing changes (a test that changes it takes ``fresh``)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        s = make_studio(tmp_path_factory.mktemp("runs"), (WIDTH, HEIGHT), monkeypatch)
        yield s
    s.close()


@pytest.fixture
def fresh(run_dir, monkeypatch):
    s = make_studio(run_dir, (WIDTH, HEIGHT), monkeypatch)
    yield s
    s.close()


@pytest.fixture
def small_studio(run_dir, monkeypatch):
    """For hypothesis: a small primary, so that the values it makes up and the studio accepts are cheap too."""
    s = make_studio(run_dir, (256, 192), monkeypatch)
    yield s
    s.close()


@pytest.fixture
def view(anyfast_simulator, run_dir):
    """A grid of 2 pages x 1 row x 2 columns x 2 repeats, all done."""
    grid = compare(
        "a fox",
        cols={"quality": ["low", "high"]},
        pages=prompts(["a fox", "an owl"]),
        repeats=2,
        api_key=anyfast_simulator.api_key,
        base_url=anyfast_simulator.base_url,
        run_dir=run_dir,
        progress=False,
    )
    v = grid.view
    yield v
    v.close()


def result_ids(view) -> list[str]:
    return [s["result_id"] for c in view.cells for s in c["slots"]]


# -- the named cases: the studio's synced traits --------------------------------------------------------------------

MILLION = {"op": "stroke", "points": [500.5, 400.25] * 1_000_000, "radius": 20.0, "mode": "paint"}
ZIGZAG = {"op": "stroke", "points": [v for i in range(20_000) for v in ((0.0, 0.0) if i % 2 else (1000.0, 760.0))], "radius": 1.0}
TOOLS = {"grow": 2, "feather": 4, "keep_outside": False}
BRUSH = {"radius": 40.0, "mode": "paint", "opacity": 0.5, "visible": True}

NAMED_STATES = [
    # grow / shrink / feather, checked before any mask is grown
    ("grow 1,000", {"mask_tools": {**TOOLS, "grow": 1_000}}, "mask_tools.grow", "range"),
    ("grow 5,000", {"mask_tools": {**TOOLS, "grow": 5_000}}, "mask_tools.grow", "range"),
    ("grow 100,000", {"mask_tools": {**TOOLS, "grow": 100_000}}, "mask_tools.grow", "range"),
    ("shrink 5,000", {"mask_tools": {**TOOLS, "grow": -5_000}}, "mask_tools.grow", "range"),
    ("grow NaN", {"mask_tools": {**TOOLS, "grow": math.nan}}, "mask_tools.grow", "type"),
    ("grow text", {"mask_tools": {**TOOLS, "grow": "a lot"}}, "mask_tools.grow", "type"),
    ("grow 2.5", {"mask_tools": {**TOOLS, "grow": 2.5}}, "mask_tools.grow", "type"),
    ("grow true", {"mask_tools": {**TOOLS, "grow": True}}, "mask_tools.grow", "type"),
    ("feather 10^9", {"mask_tools": {**TOOLS, "feather": 1e9}}, "mask_tools.feather", "range"),
    ("feather -1", {"mask_tools": {**TOOLS, "feather": -1}}, "mask_tools.feather", "range"),
    ("keep outside 'yes'", {"mask_tools": {**TOOLS, "keep_outside": "yes"}}, "mask_tools.keep_outside", "type"),
    ("an extra mask tool", {"mask_tools": {**TOOLS, "blur": 3}}, "mask_tools", "unknown_key"),
    # the brush
    ("a garbage brush mode", {"brush": {**BRUSH, "mode": "smudge"}}, "brush.mode", "enum"),
    ("an opacity of 7", {"brush": {**BRUSH, "opacity": 7}}, "brush.opacity", "range"),
    ("a NaN opacity", {"brush": {**BRUSH, "opacity": math.nan}}, "brush.opacity", "range"),
    ("a negative radius", {"brush": {**BRUSH, "radius": -4}}, "brush.radius", "range"),
    ("visible 1", {"brush": {**BRUSH, "visible": 1}}, "brush.visible", "type"),
    ("an extra brush key", {"brush": {**BRUSH, "smudge": 3}}, "brush", "unknown_key"),
    ("a brush tool that is not one", {"brush": {**BRUSH, "tool": "chainsaw"}}, "brush.tool", "enum"),
    ("an overlay colour of a script", {"brush": {**BRUSH, "colour": "red;alert(1)"}}, "brush.colour", "format"),
    ("a tolerance of 1,000", {"brush": {**BRUSH, "tolerance": 1_000}}, "brush.tolerance", "range"),
    ("a brush that is a list", {"brush": [40]}, "brush", "type"),
    # the settings
    ("a prompt of 100,001 characters", {"prompt": "x" * 100_001}, "prompt", "max_length"),
    ("a prompt that is a number", {"prompt": 5}, "prompt", "type"),
    ("an unknown parameter", {"params": {"size": "1024x1024", "n": 4}}, "params", "unknown_key"),
    ("a size that is a list of three", {"params": {"size": [1024, 1024, 3]}}, "params.size", "type"),
    ("a size of a NaN", {"params": {"size": [1024, math.nan]}}, "params.size[1]", "range"),
    ("a huge quality", {"params": {"quality": "x" * 10_000}}, "params.quality", "max_length"),
    ("a NaN compression", {"params": {"output_compression": math.nan}}, "params.output_compression", "range"),
    ("9 variants", {"variants": 9}, "variants", "range"),
    ("-1 variants", {"variants": -1}, "variants", "range"),
    ("a googol of variants", {"variants": 10**100}, "variants", "range"),
    ("true variants", {"variants": True}, "variants", "type"),
    ("2.5 variants", {"variants": 2.5}, "variants", "type"),
    # traits only Python writes
    ("running", {"running": True}, "running", "read_only"),
    ("the sources' cards", {"source_cards": []}, "source_cards", "read_only"),
    ("the canvas size", {"canvas_size": [1, 1]}, "canvas_size", "read_only"),
    ("the limits", {"limits": {"variants": 1000, "sources": 1000}}, "limits", "read_only"),
    ("the bundle", {"_esm": "alert(1)"}, "_esm", "read_only"),
    # refused whole: the good part of a bad update is not applied either
    ("a good prompt with a bad grow", {"prompt": "a boat", "mask_tools": {**TOOLS, "grow": 5_000}}, "mask_tools.grow", "range"),
    ("a good prompt with a bad brush", {"prompt": "a boat", "brush": {**BRUSH, "mode": "smudge"}}, "brush.mode", None),
]


@pytest.mark.parametrize("name, state, field_name, rule", NAMED_STATES, ids=[c[0] for c in NAMED_STATES])
def test_a_bad_trait_value_from_the_browser_is_refused_whole_fast_and_small(studio, name, state, field_name, rule):
    before = studio_snapshot(studio)
    outcome = deliver(studio, state=state, memory=True)
    check_refused(outcome, studio, before, studio_snapshot, field_name, rule)
    outcome = deliver(studio, state=state)  # again, timed without tracemalloc's overhead
    check_refused(outcome, studio, before, studio_snapshot, field_name, rule)


def test_a_nan_grow_no_longer_breaks_every_later_stroke(fresh):
    outcome = deliver(fresh, state={"mask_tools": {**TOOLS, "grow": math.nan}})
    assert outcome.refused and fresh.mask_tools["grow"] == 2
    before = fresh.mask.region.sum()
    outcome = deliver(fresh, content=edit(stroke([(600, 500), (700, 600)], 25)))
    outcome.check_clean()
    assert outcome.notices == [] and fresh.mask.region.sum() > before


def test_python_assignments_are_held_to_the_same_rules(fresh):
    for name, value in [("mask_tools", {**TOOLS, "grow": 5_000}), ("brush", {**BRUSH, "mode": "x"})]:
        kept = getattr(fresh, name)
        with pytest.raises(studio_limits.Refused):
            setattr(fresh, name, value)
        assert getattr(fresh, name) == kept
    kept = fresh.mask
    for edits, rule in [
        ([MILLION], "max_points"),
        ([{"op": "invert"}] * 2_001, "max_edits"),
        ([stroke([(5.0, 5.0)] * 20_000)] * 26, "max_points"),
        ([stroke([(5.0, 5.0)] * 10_000, 9_000)], "max_sweep"),
    ]:
        with pytest.raises(ValueError, match=rule):
            fresh.mask_edits = edits
        assert fresh.mask == kept
    fresh.variants = 9  # from Python, a count the API cannot take is a violation shown, not a refusal
    assert "variants" in [v["field"] for v in fresh.violations]


def test_legitimate_updates_are_taken_as_before(fresh):
    big = [stroke([(50 + i * 0.3, 300 + 100 * math.sin(i / 200)) for i in range(20_000)], 60)]  # a long stroke at the limit
    outcome = deliver(fresh, content=edit(big[0]))
    outcome.check_clean()
    assert outcome.notices == [] and fresh.mask_edits[-1] == big[0] and fresh.mask.region[300, 200]
    state = {"mask_tools": {"grow": -64, "feather": 256, "keep_outside": True}, "brush": {**BRUSH, "mode": "erase"}}
    outcome = deliver(fresh, state=state)
    outcome.check_clean()
    assert outcome.notices == [] and fresh.mask_tools == state["mask_tools"] and fresh.brush["mode"] == "erase"
    outcome = deliver(fresh, state={"prompt": "a boat", "params": {**fresh.params, "size": "1536x1024"}, "variants": 8})
    assert outcome.notices == [] and (fresh.prompt, fresh.params["size"], fresh.variants) == ("a boat", "1536x1024", 8)


# -- the named cases: the studio's messages --------------------------------------------------------------------------


def edit(op):
    return {"type": "mask_edit", "edit": op}


NAMED_MESSAGES = [
    # mask edits: one per message, its size checked before anything is converted
    ("a stroke of a million points", edit(MILLION), None, "mask_edit.edit.points", "max_points"),
    ("one point too many", edit(stroke([(1, 1)] * 20_001)), None, "mask_edit.edit.points", "max_points"),
    ("a zigzag across the image", edit(ZIGZAG), None, "mask_edit.edit.points", "max_length"),
    ("a point far away", edit(stroke([(1e7, 5)])), None, "mask_edit.edit.points", "range"),
    ("NaN in the points", edit(stroke([(1, math.nan)])), None, "mask_edit.edit.points", "range"),
    ("text in the points", edit({"op": "stroke", "points": [1, "x"], "radius": 3}), None, "mask_edit.edit.points", "type"),
    ("odd points", edit({"op": "stroke", "points": [1, 2, 3], "radius": 3}), None, "mask_edit.edit.points", "even"),
    ("a huge radius", edit(stroke([(5, 5)], 1e300)), None, "mask_edit.edit.radius", "range"),
    ("a NaN radius", edit(stroke([(5, 5)], math.nan)), None, "mask_edit.edit.radius", "range"),
    ("a smudge", edit(stroke([(5, 5)], 5, "smudge")), None, "mask_edit.edit.mode", "enum"),
    ("an extra key in a stroke", edit({**stroke([(5, 5)]), "colour": "red"}), None, "mask_edit.edit", "unknown_key"),
    ("an extra key in a clear", edit({"op": "clear", "all": True}), None, "mask_edit.edit", "unknown_key"),
    ("an unknown op", edit({"op": "blur"}), None, "mask_edit.edit.op", "enum"),
    ("an edit that is a list", edit([{"op": "clear"}]), None, "mask_edit.edit", "type"),
    ("no edit", {"type": "mask_edit"}, None, "mask_edit", "required"),
    ("a rect of three numbers", edit({"op": "rect", "box": [1, 2, 3]}), None, "mask_edit.edit.box", "count"),
    ("a rect of a million numbers", edit({"op": "rect", "box": [1.5] * 1_000_000}), None, "mask_edit.edit.box", "count"),
    ("an ellipse at infinity", edit({"op": "ellipse", "box": [0, 0, math.inf, 5]}), None, "mask_edit.edit.box", "range"),
    ("a polygon of two points", edit({"op": "polygon", "points": [1, 2, 3, 4]}), None, "mask_edit.edit.points", "max_points"),
    (
        "a polygon of a million points",
        edit({"op": "polygon", "points": [1.0, 2.0] * 1_000_000}),
        None,
        "mask_edit.edit.points",
        "max_points",
    ),
    (
        "a colour pick of tolerance 300",
        edit({"op": "color", "point": [1, 1], "tolerance": 300, "contiguous": True}),
        None,
        "mask_edit.edit.tolerance",
        "range",
    ),
    (
        "a colour pick, contiguous 'yes'",
        edit({"op": "color", "point": [1, 1], "tolerance": 3, "contiguous": "yes"}),
        None,
        "mask_edit.edit.contiguous",
        "type",
    ),
    (
        "a colour pick with no point",
        edit({"op": "color", "tolerance": 3, "contiguous": True}),
        None,
        "mask_edit.edit",
        "required",
    ),
    # the sharp view and the canvas extension
    (
        "a view of 10^6 pixels across",
        {"type": "view", "box": [0, 0, 10, 10], "width": 10**6, "height": 5},
        None,
        "view.width",
        "range",
    ),
    ("a view of NaN", {"type": "view", "box": [0, math.nan, 10, 10], "width": 10, "height": 5}, None, "view.box", "range"),
    ("an extension of 10^6 pixels", {"type": "extend", "left": 10**6}, None, "extend.left", "range"),
    ("an extension of -5 pixels", {"type": "extend", "top": -5}, None, "extend.top", "range"),
    ("an extension filled with lava", {"type": "extend", "left": 64, "fill": "lava"}, None, "extend.fill", "enum"),
    ("an aspect of a novel", {"type": "extend", "aspect": "16:9" * 1_000}, None, "extend.aspect", "max_length"),
    ("an undo that carries a list", {"type": "mask_undo", "edits": [1]}, None, "mask_undo", "unknown_key"),
    ("a negative index removes nothing", {"type": "remove_source", "index": -1}, None, "remove_source.index", "range"),
    ("an index past the end", {"type": "remove_source", "index": 3}, None, "remove_source.index", "range"),
    ("an index of text", {"type": "remove_source", "index": "0"}, None, "remove_source.index", "type"),
    ("an index of true", {"type": "remove_source", "index": True}, None, "remove_source.index", "type"),
    ("an index of 0.0", {"type": "remove_source", "index": 0.0}, None, "remove_source.index", "type"),
    ("no index", {"type": "remove_source"}, None, "remove_source.index", "type"),
    ("a move from -1", {"type": "move_source", "from": -1, "to": 0}, None, "move_source.from", "range"),
    ("a move to 99", {"type": "move_source", "from": 0, "to": 99}, None, "move_source.to", "range"),
    ("an unknown type", {"type": "explode"}, None, "type", "enum"),
    ("no type", {"index": 0}, None, "type", "enum"),
    ("a message that is a list", ["run"], None, "message", "type"),
    ("a message that is text", "run", None, "message", "type"),
    ("an extra field", {"type": "cancel", "now": True}, None, "cancel", "unknown_key"),
    ("buffers with a click", {"type": "run"}, [b"x"], "run", "buffers"),
    ("an unknown result", {"type": "use_as_source", "id": "20250101T000000-dead"}, None, "use_as_source.id", "unknown_result"),
    ("a path for an id", {"type": "fetch", "id": "../../etc/passwd", "purpose": "download"}, None, "fetch.id", "format"),
    ("a huge id", {"type": "fetch", "id": "a" * 100_000}, None, "fetch.id", "max_length"),
    ("an id that is a number", {"type": "fetch", "id": 5}, None, "fetch.id", "type"),
    ("a purpose to steal", {"type": "fetch", "id": "abc", "purpose": "steal"}, None, "fetch.purpose", "enum"),
    ("files without names", {"type": "add_sources", "names": []}, [b"x"], "add_sources.names", "count"),
    ("names without files", {"type": "add_sources", "names": ["a.png"]}, [], "add_sources", "max_files"),
    ("seventeen files", {"type": "add_sources", "names": ["a.png"] * 17}, [b"x"] * 17, "add_sources", "max_files"),
    ("a name that is a number", {"type": "add_sources", "names": [5]}, [b"x"], "add_sources.names[0]", "type"),
    ("a huge name", {"type": "add_sources", "names": ["a" * 10_000]}, [b"x"], "add_sources.names[0]", "max_length"),
    ("a file that is text", {"type": "add_sources", "names": ["a.png"]}, ["not bytes"], "add_sources[0]", "type"),
]


@pytest.mark.parametrize("name, content, buffers, field_name, rule", NAMED_MESSAGES, ids=[c[0] for c in NAMED_MESSAGES])
def test_a_bad_message_from_the_browser_is_refused_whole_fast_and_small(studio, name, content, buffers, field_name, rule):
    before = studio_snapshot(studio)
    outcome = deliver(studio, content=content, buffers=buffers, memory=True)
    check_refused(outcome, studio, before, studio_snapshot, field_name, rule)


def test_an_upload_over_the_byte_limit_is_refused_before_it_is_read(fresh, monkeypatch):
    monkeypatch.setattr(studio_limits, "MAX_UPLOAD_BYTES", 100)  # the rule, without a 100 MB buffer in the test
    before = studio_snapshot(fresh)
    png = encode(gradient(64, 48), "PNG")
    assert len(png) > 100
    outcome = deliver(fresh, content={"type": "add_sources", "names": ["big.png"]}, buffers=[memoryview(png)])
    check_refused(outcome, fresh, before, studio_snapshot, "add_sources[0]", "max_bytes")


def test_legitimate_messages_work_as_before(fresh):
    ids = [s.id for s in fresh._sources]
    outcome = deliver(fresh, content={"type": "move_source", "from": 2, "to": 0})
    assert outcome.notices == [] and [s.id for s in fresh._sources] == [ids[2], ids[0], ids[1]]
    outcome = deliver(fresh, content={"type": "remove_source", "index": 2})
    assert outcome.notices == [] and [s.id for s in fresh._sources] == [ids[2], ids[0]]
    png = encode(gradient(40, 30), "PNG")
    outcome = deliver(fresh, content={"type": "add_sources", "names": ["new.png"]}, buffers=[memoryview(png)])
    assert outcome.notices == [] and fresh.source_cards[-1]["name"] == "new.png"


# -- the named cases: the grid view ----------------------------------------------------------------------------------


def named_grid_cases(ids: list[str]):
    a, b = ids[0], ids[1]
    return [
        ("retry a cell at -1", {"type": "retry", "index": -1}, "retry.index", "range"),
        ("retry a cell past the end", {"type": "retry", "index": 4}, "retry.index", "range"),
        ("retry a cell of text", {"type": "retry", "index": "0"}, "retry.index", "type"),
        ("retry a repeat at -1", {"type": "retry", "index": 0, "repeat": -1}, "retry.repeat", "range"),
        ("retry a repeat past the end", {"type": "retry", "index": 0, "repeat": 2}, "retry.repeat", "range"),
        ("thumbs of a NaN edge", {"type": "thumbs", "ids": [a], "edge": math.nan}, "thumbs.edge", "type"),
        ("thumbs of a huge edge", {"type": "thumbs", "ids": [a], "edge": 10**9}, "thumbs.edge", "range"),
        ("thumbs of an edge of text", {"type": "thumbs", "ids": [a], "edge": "256"}, "thumbs.edge", "type"),
        ("thumbs of too many ids", {"type": "thumbs", "ids": [a] * 257, "edge": 128}, "thumbs.ids", "max_count"),
        ("thumbs of a huge id", {"type": "thumbs", "ids": ["a" * 100_000], "edge": 128}, "thumbs.ids[0]", "max_length"),
        ("thumbs of a number", {"type": "thumbs", "ids": [5], "edge": 128}, "thumbs.ids[0]", "type"),
        ("thumbs of no list", {"type": "thumbs", "ids": "abc", "edge": 128}, "thumbs.ids", "type"),
        ("a difference with no result", {"type": "difference", "a": a, "b": "nope"}, "difference.b", "unknown_result"),
        ("a difference with a number", {"type": "difference", "a": 1, "b": b}, "difference.a", "type"),
        ("a rating of a winner c", {"type": "rate", "a": a, "b": b, "winner": "c"}, "rate.winner", "enum"),
        ("a rating of one result", {"type": "rate", "a": a, "b": a, "winner": "a"}, "rate.b", "different"),
        ("a rating of no result", {"type": "rate", "a": a, "b": "nope", "winner": "a"}, "rate.b", "unknown_result"),
        ("an export kind exe", {"type": "export", "kind": "exe"}, "export.kind", "enum"),
        ("an export kind of a path", {"type": "export", "kind": "../../x"}, "export.kind", "enum"),
        ("a run confirmed by text", {"type": "run", "confirm": "yes"}, "run.confirm", "type"),
        ("an unknown type", {"type": "explode"}, "type", "enum"),
        ("an extra field", {"type": "dismiss", "all": True}, "dismiss", "unknown_key"),
        ("a message that is a list", ["run"], "message", "type"),
    ]


def test_a_bad_message_to_the_grid_is_refused_whole_fast_and_small(view, anyfast_simulator):
    ids = result_ids(view)
    sent_before = anyfast_simulator.request_count()
    for name, content, field_name, rule in named_grid_cases(ids):
        before = grid_snapshot(view)
        outcome = deliver(view, content=content, memory=True)
        try:
            check_refused(outcome, view, before, grid_snapshot, field_name, rule)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from error
        assert [m for m in outcome.sent if m.get("method") == "custom"] == [], name  # no picture, no download
    before = grid_snapshot(view)
    outcome = deliver(view, content={"type": "run"}, buffers=[b"x"])
    check_refused(outcome, view, before, grid_snapshot, "run", "buffers")
    assert anyfast_simulator.request_count() == sent_before


@pytest.mark.parametrize(
    "page, rule",
    [
        (-1, "range"),
        (2, "range"),
        (10**100, "range"),
        ("1", "type"),
        (1.0, "type"),
        (True, "type"),
        (None, "type"),
        ([1], "type"),
    ],  # noqa: E501
)
def test_a_page_that_is_not_one_is_refused_and_put_back(view, page, rule):
    view.page = 1
    before = grid_snapshot(view)
    outcome = deliver(view, state={"page": page}, memory=True)
    check_refused(outcome, view, before, grid_snapshot, "page", rule)
    assert view.page == 1


@pytest.mark.parametrize(
    "window, field_name, rule",
    [
        ([-1, 0], "window[0]", "range"),  # never Python's negative indexing
        ([1, 0], "window[0]", "range"),  # the grid has one row
        ([0, 2], "window[1]", "range"),
        ([0, 10**100], "window[1]", "range"),
        ([0.0, 0], "window[0]", "type"),
        ([True, 0], "window[0]", "type"),
        ([0, "1"], "window[1]", "type"),
        ([0], "window", "type"),
        ([0, 0, 0], "window", "type"),
        ({"row": 0, "col": 0}, "window", "type"),
        (None, "window", "type"),
    ],
)
def test_a_window_that_is_not_one_is_refused_and_put_back(view, window, field_name, rule):
    view.window = [0, 1]
    before = grid_snapshot(view)
    outcome = deliver(view, state={"window": window}, memory=True)
    check_refused(outcome, view, before, grid_snapshot, field_name, rule)
    assert view.window == [0, 1]


def test_a_window_and_a_page_from_the_browser_are_taken_together(view):
    outcome = deliver(view, state={"page": 1, "window": [0, 1]})
    assert outcome.notices == [] and view.page == 1 and view.window == [0, 1]
    view.window = [7, -3]  # from Python, clamped
    assert view.window == [0, 0]


@pytest.mark.parametrize("state", [{"cells": []}, {"running": True}, {"notice": {"kind": "info"}}, {"page": 0, "ratings": []}])
def test_the_grid_traits_only_python_writes_are_refused(view, state):
    view.page = 1
    before = grid_snapshot(view)
    outcome = deliver(view, state=state)
    check_refused(outcome, view, before, grid_snapshot, None, "read_only")
    assert view.page == 1


def test_the_grid_takes_legitimate_messages_as_before(view):
    ids = result_ids(view)
    outcome = deliver(view, state={"page": 1})
    assert outcome.notices == [] and view.page == 1
    outcome = deliver(view, content={"type": "thumbs", "ids": [ids[0], "gone"], "edge": 200})
    answers = [m["content"] for m in outcome.sent if m.get("method") == "custom"]
    assert outcome.notices == [] and answers[0]["missing"] == ["gone"] and answers[0]["items"][0]["id"] == ids[0]
    outcome = deliver(view, content={"type": "rate", "a": ids[0], "b": ids[2], "winner": "tie"})
    assert outcome.notices == [] and len(view.grid.ratings) == 1
    view.page = 5  # from Python, clamped
    assert view.page == 1


# -- hypothesis: any JSON in any field --------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["paint", "erase", "stroke", "clear", "invert", "a", "b", "tie", "png", "download", "enlarge"])
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6), max_leaves=24
)
huge = st.sampled_from([[0.5] * 300_001, "x" * 300_000, 10**400, {f"k{i}": i for i in range(50_000)}, [[1]] * 100_000])
anything = json_values | huge | st.integers(-5, 40) | st.floats(-1e6, 1e6)


def _studio_values():
    """A value for a browser-written trait: any JSON, or a good value with one field replaced by any JSON."""
    good = {
        "brush": dict(BRUSH),
        "mask_tools": dict(TOOLS),
        "params": {"size": "1024x1024", "quality": "medium"},
    }

    def one_field(name_key_value):
        name, key, value = name_key_value
        return name, {**good[name], key: value}

    keys = st.sampled_from(["radius", "mode", "opacity", "visible", "grow", "feather", "keep_outside", "tool", "colour", "x"])
    replaced = st.tuples(st.sampled_from(sorted(good)), keys, anything).map(one_field)
    names = st.sampled_from(sorted(studio_limits.BROWSER_TRAITS) + ["running", "notice", "jobs", "coverage", "_css"])
    return replaced | st.tuples(names, anything)


def check_any(outcome: Outcome, widget, before, snapshot, seconds: float = 2.0) -> None:
    """Whatever came in: clean; refused whole with one notice, or taken; bounded in time."""
    outcome.check_clean()
    if outcome.refused:
        assert snapshot(widget) == before
        assert outcome.seconds < REFUSED_SECONDS, outcome.seconds
    assert outcome.seconds < seconds, outcome.seconds


@settings(max_examples=100, **HYPOTHESIS)
@given(update=_studio_values(), more=st.none() | st.tuples(st.sampled_from(["prompt", "variants", "brush"]), anything))
def test_any_json_in_any_trait_is_refused_whole_or_taken(small_studio, update, more):
    state = dict([update, *([more] if more else [])])
    before = studio_snapshot(small_studio)
    outcome = deliver(small_studio, state=state)
    check_any(outcome, small_studio, before, studio_snapshot)
    if not outcome.refused:  # taken as it came
        for name, value in state.items():
            assert small_studio.get_state(name)[name] == value or name == "params"  # (a size typed by hand is tidied)


@settings(max_examples=100, **HYPOTHESIS)
@given(
    kind=st.sampled_from(sorted(studio_limits.MESSAGES)) | scalars,
    fields=st.dictionaries(
        st.sampled_from(["index", "from", "to", "id", "purpose", "names", "type", "edit", "box", "width", "left", "fill", "x"]),
        anything,
        max_size=3,
    ),
    buffers=st.lists(st.binary(max_size=64) | anything, max_size=3),
    wrap=st.booleans(),
)
def test_any_json_in_any_message_is_refused_whole_or_done(small_studio, kind, fields, buffers, wrap):
    content = {"type": kind, **fields} if wrap else fields or kind
    before = studio_snapshot(small_studio)
    outcome = deliver(small_studio, content=content, buffers=buffers)
    check_any(outcome, small_studio, before, studio_snapshot)
    if len(small_studio._sources) != 3 or small_studio._sources.primary.encoded.size != (
        256,
        192,
    ):  # a good remove/move/add/extend
        small_studio.sources = [gradient(256, 192), gradient(128, 96), gradient(64, 48)]
        small_studio.mask_edits = [stroke([(100, 100), (300, 200)], 30)]


@settings(max_examples=80, **HYPOTHESIS)
@given(
    kind=st.sampled_from(["thumbs", "difference", "retry", "rate", "dismiss", "run", "export"]) | scalars,
    fields=st.dictionaries(
        st.sampled_from(["ids", "edge", "a", "b", "index", "repeat", "winner", "confirm", "kind", "x"]), anything, max_size=3
    ),
    page=st.none() | anything,
)
def test_any_json_in_any_grid_message_is_refused_whole_or_done(view, anyfast_simulator, kind, fields, page):
    if kind == "run" or kind == "export":  # a good run would send nothing (all done); a good export is tested above
        fields = {**fields, "x": 1}
    before = grid_snapshot(view)
    sent = anyfast_simulator.request_count()
    outcome = deliver(view, content={"type": kind, **fields})
    check_any(outcome, view, before, grid_snapshot)
    if page is not None:
        before = grid_snapshot(view)
        outcome = deliver(view, state={"page": page})
        check_any(outcome, view, before, grid_snapshot)
        before = grid_snapshot(view)
        outcome = deliver(view, state={"window": page})
        check_any(outcome, view, before, grid_snapshot)
    assert anyfast_simulator.request_count() == sent
    assert 0 <= view.page <= 1 and view.window[0] == 0 and 0 <= view.window[1] <= 1


def test_the_limits_are_the_documented_ones():
    readme = (Path(__file__).parent.parent / "js" / "README.md").read_text()
    for number in (studio_limits.MAX_STROKE_POINTS, studio_limits.MAX_MASK_EDITS, studio_limits.MAX_PROMPT_CHARS):
        assert f"{number:,}" in readme
    assert f"-{studio_limits.MAX_GROW}..{studio_limits.MAX_GROW}" in readme
