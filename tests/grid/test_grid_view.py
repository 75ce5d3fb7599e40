"""The grid's widget model, from Python, against the stand-in server.

The browser side is tested in tests/browser/test_grid_browser.py; here the widget's
messages are delivered the way ipywidgets delivers them (``_handle_custom_msg``)
and what Python sends back is caught at ``widget.send``.
"""

from __future__ import annotations

import asyncio
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import (
    AsyncClient,
    RetryPolicy,
    compare,
    masks,
    prompts,
    replace,
)
from anyfast_widget.grid import _progress

from ..conftest import gradient
from ..studio.test_studio import state_json

FAST_RETRY = RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.02)
KERNEL_SHELL = SimpleNamespace(kernel=object())  # what get_ipython() gives in a Jupyter kernel, as far as the grid asks


@pytest.fixture
def grid_kwargs(anyfast_simulator, run_dir):
    return {"api_key": anyfast_simulator.api_key, "base_url": anyfast_simulator.base_url, "run_dir": run_dir, "progress": False}


class Outbox:
    """What the widget sends to the browser: (content, buffers as bytes)."""

    def __init__(self, widget):
        self.messages: list[tuple[dict, list[bytes]]] = []
        widget.send = lambda content, buffers=None: self.messages.append((content, [bytes(b) for b in buffers or []]))

    def of(self, kind: str) -> list[tuple[dict, list[bytes]]]:
        return [m for m in self.messages if m[0]["type"] == kind]


def blocked_grid(grid_kwargs, **options):
    """2 x 3, repeats 2; the middle column's prompt is refused by moderation."""
    return compare(
        "a fox",
        rows={"quality": ["low", "high"]},
        cols=prompts(["a fox", "a blockme fox", "an owl"], labels=["fox", "blocked", "owl"]),
        repeats=2,
        **grid_kwargs,
        **options,
    )


def test_the_widget_shows_labels_states_plan_and_measures_after_a_run(grid_kwargs):
    grid = blocked_grid(grid_kwargs)
    view = grid.view
    assert view.shape == [1, 2, 3] and view.repeats == 2
    assert view.axes["rows"] == {"name": "quality", "labels": ["low", "high"]}
    assert view.axes["cols"]["labels"] == ["fox", "blocked", "owl"] and view.axes["pages"] is None
    assert [c["status"] for c in view.cells] == ["done", "blocked", "done"] * 2
    blocked = view.cells[1]
    assert blocked["labels"] == ["", "low", "blocked"]
    assert all(s["error"]["title"] == "Blocked by moderation" and s["result_id"] is None for s in blocked["slots"])
    done = view.cells[0]
    assert all(s["result_id"] and s["size"] == [1024, 1024] and s["latency_s"] > 0 for s in done["slots"])
    assert done["spread"] is not None and 0 < done["spread"] < 1  # the simulator varies repeats a little
    assert view.plan["counts"] == {"done": 8, "blocked": 4} and view.plan["requests"] == 12 and view.plan["to_send"] == 0
    assert view.running is False
    assert len(view.measures) == 12 and {m["status"] for m in view.measures} == {"done", "blocked"}
    assert view.measures[0]["cell"] == 0 and view.measures[2]["cell"] == 1 and view.measures[0]["latency_s"] > 0


def test_a_grid_made_later_reads_the_same_state(grid_kwargs):
    blocked_grid(grid_kwargs)
    again = blocked_grid(grid_kwargs, run=False)
    assert [c["status"] for c in again.view.cells] == ["done", "blocked", "done"] * 2
    assert again.view.plan["to_send"] == 0 and again.view.plan["blocked"] == 4


async def test_cells_fill_in_live_while_the_grid_runs(grid_kwargs, anyfast_simulator):
    anyfast_simulator.configure(latency=0.3)
    grid = compare("a fox", cols=replace("fox", ["fox", "owl", "hare", "wolf"]), concurrency=2, **grid_kwargs)
    view = grid.view  # made right after compare(), as a notebook's display does
    assert view.running is True and [c["status"] for c in view.cells] == ["pending"] * 4
    seen: list[list[str]] = []
    view.observe(lambda change: seen.append([c["status"] for c in change["new"]]), names="cells")
    await grid
    await asyncio.sleep(0)  # the last update is due on the next turn of the loop
    assert seen[-1] == ["done"] * 4
    assert any("running" in states and "done" in states for states in seen)  # part filled in, part under way
    assert len(seen) < 16  # 8 slot changes, never one update each: coalesced
    assert view.running is False


async def test_a_failed_cell_shows_its_error_and_its_retry_button_sends_it_alone(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next(500, count=2)  # the first cell's try and its one retry
    async with AsyncClient(
        anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, retry=FAST_RETRY
    ) as client:
        grid = compare("a fox", cols={"quality": ["low", "high"]}, client=client, concurrency=1, progress=False)
        view = grid.view
        await grid
        await asyncio.sleep(0)
        assert [c["status"] for c in view.cells] == ["error", "done"]
        error = view.cells[0]["slots"][0]["error"]
        assert error["title"] == "ServerError" and "500" in error["message"]
        sent = anyfast_simulator.request_count()
        view._handle_custom_msg({"type": "retry", "index": 0}, [])
        await grid
        await asyncio.sleep(0)
        assert [c["status"] for c in view.cells] == ["done", "done"]
        assert anyfast_simulator.request_count() == sent + 1


async def test_retry_while_the_grid_runs_is_refused_with_a_notice(grid_kwargs, anyfast_simulator):
    anyfast_simulator.configure(latency=0.3)
    grid = compare("a fox", cols={"quality": ["low", "high"]}, **grid_kwargs)
    view = grid.view
    view._handle_custom_msg({"type": "retry", "index": 0}, [])
    assert view.notice["kind"] == "error" and "still running" in view.notice["message"]
    await grid
    assert anyfast_simulator.request_count() == 2


async def test_cancel_stops_what_has_not_started(grid_kwargs, anyfast_simulator):
    anyfast_simulator.configure(latency=0.4)
    grid = compare("a fox", cols=replace("fox", ["fox", "owl", "hare", "wolf"]), concurrency=1, **grid_kwargs)
    view = grid.view
    while not any(c["status"] == "running" for c in view.cells):
        await asyncio.sleep(0.02)
    view._handle_custom_msg({"type": "cancel"}, [])
    await grid
    await asyncio.sleep(0)
    assert [c["status"] for c in view.cells] == ["done", "cancelled", "cancelled", "cancelled"]
    assert anyfast_simulator.request_count() == 1 and view.running is False
    assert view.plan["to_send"] == 3
    assert view.notice["title"] == "Cancelled" and view.notice["message"].startswith("3 requests not sent")


def test_the_run_button_asks_for_confirmation_above_50_requests(grid_kwargs, anyfast_simulator):
    grid = compare("a fox", cols=replace("fox", [f"fox{i}" for i in range(26)]), repeats=2, run=False, **grid_kwargs)
    view = grid.view
    view._handle_custom_msg({"type": "run"}, [])
    assert view.notice["kind"] == "confirm" and "52 requests" in view.notice["message"]
    assert anyfast_simulator.request_count() == 0


def test_blind_ratings_from_the_keyboard_become_win_rates(grid_kwargs):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, **grid_kwargs)
    view = grid.view
    low, high = (c["slots"][0]["result_id"] for c in view.cells)
    view._handle_custom_msg({"type": "rate", "a": low, "b": high, "winner": "b"}, [])
    view._handle_custom_msg({"type": "rate", "a": high, "b": low, "winner": "tie"}, [])
    assert [r["winner"] for r in view.ratings] == ["b", "tie"]
    rates = {r["label"]: r["win_rate"] for r in view.win_rates}
    assert rates == {"high": pytest.approx(0.75), "low": pytest.approx(0.25)}
    assert len(grid.ratings) == 2  # stored by the grid, in its run directory


def test_a_rating_must_compare_two_results_of_the_grid(grid_kwargs):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, **grid_kwargs)
    view = grid.view
    low = view.cells[0]["slots"][0]["result_id"]
    view._handle_custom_msg({"type": "rate", "a": low, "b": "not-a-result", "winner": "a"}, [])
    assert view.notice["kind"] == "error" and grid.ratings == []


def test_thumbnails_come_as_binary_buffers_of_the_size_asked(grid_kwargs):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, size="1536x1024", **grid_kwargs)
    view = grid.view
    outbox = Outbox(view)
    ids = [c["slots"][0]["result_id"] for c in view.cells]
    view._handle_custom_msg({"type": "thumbs", "ids": [*ids, "unknown"], "edge": 200}, [])
    ((content, buffers),) = outbox.of("thumbs")
    assert [item["id"] for item in content["items"]] == ids and content["missing"] == ["unknown"]
    assert content["edge"] == 200  # the size asked for (the browser's cache key), made at the next size Python keeps
    for item, data in zip(content["items"], buffers):
        image = Image.open(io.BytesIO(data))
        assert image.size == (256, 171) == tuple(item["size"]) and item["mime"] == "image/jpeg"
    # no picture is ever part of the synced state (only the bundle, _esm and _css, is large)
    state = {k: v for k, v in view.get_state().items() if k not in ("_esm", "_css")}
    assert not any(isinstance(v, (bytes, memoryview)) for v in state.values())
    assert len(json.dumps(state)) < 20_000 and "base64" not in json.dumps(state)


def test_the_difference_heatmap_of_two_picked_cells(grid_kwargs):
    grid = compare("a fox", cols=prompts(["a fox", "an owl"]), **grid_kwargs)
    view = grid.view
    outbox = Outbox(view)
    a, b = (c["slots"][0]["result_id"] for c in view.cells)
    view._handle_custom_msg({"type": "difference", "a": a, "b": b}, [])
    view._handle_custom_msg({"type": "difference", "a": a, "b": a}, [])
    (different, _), (same, _) = [m for m in outbox.of("difference")]
    assert different["a"] == a and different["b"] == b and different["size"] == [768, 768]
    assert different["mean"] > 0.02 and same["mean"] == 0
    heat = Image.open(io.BytesIO(outbox.of("difference")[0][1][0]))
    assert heat.size == (768, 768)


@pytest.mark.parametrize("kind, suffix", [("png", ".png"), ("html", ".html"), ("json", ".json"), ("csv", ".csv")])
def test_exports_are_written_to_the_run_directory_and_sent_for_download(grid_kwargs, kind, suffix):
    grid = blocked_grid(grid_kwargs)
    view = grid.view
    outbox = Outbox(view)
    view._handle_custom_msg({"type": "export", "kind": kind}, [])
    ((content, (data,)),) = outbox.of("download")
    path = grid.store.root / "exports" / f"grid-{grid.id}{suffix}"
    assert content["name"] == path.name and content["path"] == str(path) and path.read_bytes() == data
    assert view.notice["kind"] == "info" and path.name in view.notice["message"]
    if kind == "json":
        assert len(json.loads(data)["records"]) == 12


def test_the_api_key_is_never_in_the_widget_state(grid_kwargs, anyfast_simulator):
    grid = blocked_grid(grid_kwargs)
    view = grid.view
    view._handle_custom_msg({"type": "export", "kind": "json"}, [])
    assert anyfast_simulator.api_key not in state_json(view)


def test_a_grid_displays_as_its_widget_in_a_kernel(grid_kwargs, monkeypatch):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, run=False, **grid_kwargs)
    assert grid._repr_mimebundle_() == {"text/plain": repr(grid)}  # a terminal gets the repr, no widget
    monkeypatch.setattr(_progress, "get_ipython", lambda: KERNEL_SHELL)
    bundle = grid._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == grid.view.model_id
    assert data["text/plain"] == repr(grid) and repr(grid).startswith("<Grid ")
    assert grid.view is grid.view  # every display is a view of one widget


def test_the_page_switcher_stays_within_the_pages(grid_kwargs):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, pages=prompts(["a fox", "an owl"]), run=False, **grid_kwargs)
    view = grid.view
    assert view.shape == [2, 1, 2] and view.axes["pages"]["labels"] == ["a fox", "an owl"]
    view.page = 5
    assert view.page == 1


async def test_in_a_kernel_images_are_made_off_the_event_loop(grid_kwargs, monkeypatch):
    monkeypatch.setattr(_progress, "get_ipython", lambda: KERNEL_SHELL)
    grid = compare("a fox", repeats=2, **grid_kwargs)
    view = grid.view
    outbox = Outbox(view)
    await grid
    ids = [s["result_id"] for s in view.cells[0]["slots"]]
    view._handle_custom_msg({"type": "thumbs", "ids": ids, "edge": 128}, [])
    assert outbox.messages == []  # not made on the kernel's thread
    for _ in range(200):
        if outbox.of("thumbs") and view.cells[0]["spread"] is not None:
            break
        await asyncio.sleep(0.02)
    assert [i["id"] for i in outbox.of("thumbs")[0][0]["items"]] == ids
    assert view.cells[0]["spread"] is not None


async def test_messages_from_a_kernel_subshell_are_handled_on_the_grids_loop(anyfast_simulator, run_dir):
    # ipykernel 7 may deliver widget messages on a subshell's thread, which runs an event loop of its own.
    anyfast_simulator.fail_next(500, count=2)
    async with AsyncClient(
        anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, retry=FAST_RETRY
    ) as client:
        grid = compare("a fox", cols={"quality": ["low", "high"]}, client=client, concurrency=1, progress=False)
        view = grid.view
        await grid

        async def deliver():
            view._handle_custom_msg({"type": "retry", "index": 0}, [])

        await asyncio.to_thread(asyncio.run, deliver())
        await asyncio.sleep(0)
        assert grid._task.get_loop() is asyncio.get_running_loop()  # where the grid's client lives
        await grid
        await asyncio.sleep(0)
        assert [c["status"] for c in view.cells] == ["done", "done"] and view.notice == {}


def test_an_edit_grid_measures_change_inside_and_outside_each_mask(grid_kwargs, anyfast_simulator):
    anyfast_simulator.configure(leak=0.4)
    top = np.zeros((1024, 1024), bool)
    top[:300] = True
    left = np.zeros((1024, 1024), bool)
    left[:, :300] = True
    grid = compare(
        "make it night", sources=[gradient(1024, 1024)], cols=masks([top, left], labels=["top", "left"]), **grid_kwargs
    )
    view = grid.view
    assert view.endpoint == "edits" and [m["column"] for m in view.measures] == ["top", "left"]
    assert all(m["change_inside"] > 0.5 and 0 < m["change_outside"] < m["change_inside"] for m in view.measures)
    assert all(m["latency_s"] > 0 and m["attempts"] == 1 for m in view.measures)


def test_exports_leave_no_decoded_pictures_behind(grid_kwargs):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=2, **grid_kwargs)
    grid.view.export("png")
    assert all(r._image is None and r._data is None for c in grid.cells for r in c.results)
