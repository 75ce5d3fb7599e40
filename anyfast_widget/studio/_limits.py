"""What the studio takes from the browser: the limits, in one place, and the checks every synced value and message passes first.

A buggy or compromised frontend, or a notebook whose saved widget state was edited,
can send anything. Every value from the browser is checked here where it enters,
before any work is done with it: sizes are compared before anything is converted
(no numpy array is made of a list whose length is not known to be in bounds), so a
refusal costs next to nothing. A check raises :class:`Refused` naming the field and
the rule; the studio then keeps its state as it was and shows one notice. The
limits are far beyond what a person at the widget ever sends (``js/README.md``
lists them).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..browser import Refused, choice, describe, flag, keys, number, result_id, text, whole
from ..core import MAX_SOURCES
from ._settings import DEFAULT_PARAMS, MAX_VARIANTS

_ID_FIX = "send the id of a result the studio shows."

MAX_PROMPT_CHARS = 100_000  # three times the 32,000 characters image APIs take
MAX_PARAM_CHARS = 200  # a parameter's text ("1536x1024", "high", a size typed by hand)
MAX_PARAM_NUMBER = 1_000_000_000  # a number parameter's magnitude (output_compression is 0..100)
MAX_MASK_EDITS = 2_000  # edits in a list given to studio.mask_edits (the history keeps as many undoable)
MAX_STROKE_POINTS = 20_000  # (x, y) points of one stroke: a long 4K stroke, thinned, has a few thousand
MAX_MASK_POINTS = 500_000  # points of all the edits of one list together
MAX_STROKE_LENGTH = 2_000_000.0  # source px along one stroke's path: 500 times across a 4K image
MAX_MASK_LENGTH = 5_000_000.0  # source px along every stroke of one list together
MAX_MASK_SWEEP = 50_000_000.0  # points x radius (px) summed over the strokes of one list: what rasterizing them costs
MAX_COORDINATE = 100_000.0  # |x|, |y| of a point, in source px (a drag may leave the image a little)
MAX_RADIUS = 10_000.0  # brush radius, source px (the brush slider goes to a sixth of the long edge)
MAX_GROW = 64  # |mask_tools.grow|, px: what the grow/shrink field allows (64 px at 4K costs about 0.1 s)
MAX_FEATHER = 256  # mask_tools.feather, px: what the feather field allows
MAX_UPLOAD_FILES = MAX_SOURCES  # files in one add_sources message: as many as a studio can hold
MAX_UPLOAD_BYTES = 100_000_000  # bytes of one uploaded file (the API takes files under 50 MB)
MAX_NAME_CHARS = 255  # an uploaded file's name
MAX_POLYGON_SWEEP = 2_000_000.0  # rows crossed by a polygon's edges summed: what filling it costs (a lasso crosses ~10^4)
MAX_TOLERANCE = 255  # colour select: per-channel difference
MAX_VIEW_EDGE = 4_096  # device px of the sharp view the browser asks for, each edge
MAX_EXTEND = 3_840  # px added on one side by "extend canvas" (the API's longest edge)
MAX_OVERLAP = 256  # px the outpainting mask reaches into the original

BRUSH_MODES = ("paint", "erase")
FETCH_PURPOSES = ("download", "enlarge")
MASK_OPS = ("stroke", "rect", "ellipse", "polygon", "color", "clear", "invert")
TOOLS = ("brush", "rect", "ellipse", "lasso", "polygon", "color")
FILLS = ("transparent", "edge")
# Each message's fields besides "type" (js/README.md); a message with any other field is refused.
MESSAGES: dict[str, frozenset[str]] = {
    "run": frozenset(),
    "cancel": frozenset(),
    "add_sources": frozenset({"names"}),
    "remove_source": frozenset({"index"}),
    "move_source": frozenset({"from", "to"}),
    "use_as_source": frozenset({"id"}),
    "fetch": frozenset({"id", "purpose"}),
    "mask_edit": frozenset({"edit"}),
    "mask_undo": frozenset(),
    "mask_redo": frozenset(),
    "mask_sync": frozenset(),
    "view": frozenset({"box", "width", "height"}),
    "extend": frozenset({"left", "top", "right", "bottom", "aspect", "size", "fill", "overlap"}),
    "gallery_more": frozenset(),
    "go_offline": frozenset(),
}
# The traits the browser writes; the others are Python's, and a browser that writes one is refused.
BROWSER_TRAITS = frozenset({"prompt", "params", "variants", "brush", "mask_tools"})
_BRUSH_KEYS = frozenset({"tool", "radius", "mode", "opacity", "visible", "colour", "outline", "tolerance", "contiguous"})
_TOOLS_KEYS = frozenset({"grow", "feather", "keep_outside"})
_OP_KEYS = {
    "stroke": ("op", "points", "radius", "mode"),
    "rect": ("op", "box", "mode"),
    "ellipse": ("op", "box", "mode"),
    "polygon": ("op", "points", "mode"),
    "color": ("op", "point", "tolerance", "contiguous", "mode"),
    "clear": ("op",),
    "invert": ("op",),
}
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_BAKE = "bake the edits into the mask from Python, `studio.mask = studio.mask` (the mask stays, the list empties)."


def check_prompt(value: object) -> str:
    return text(value, "prompt", MAX_PROMPT_CHARS)


def check_params(value: object) -> dict[str, Any]:
    """Known keys, each a plain value; whether a value is one the API takes is the rules' to say (violations)."""
    params = keys(value, "params", DEFAULT_PARAMS)
    for name, item in params.items():
        field = f"params.{name}"
        if item is None:
            continue
        if isinstance(item, str):
            text(item, field, MAX_PARAM_CHARS)
        elif name == "size" and isinstance(item, (list, tuple)) and len(item) == 2:  # (w, h), as Python may give it
            for i, edge in enumerate(item):
                number(edge, f"{field}[{i}]", -MAX_PARAM_NUMBER, MAX_PARAM_NUMBER)
        elif isinstance(item, numbers.Real) and not isinstance(item, bool):
            number(item, field, -MAX_PARAM_NUMBER, MAX_PARAM_NUMBER)
        else:
            raise Refused(field, "type", f"is text, a number or null, not {describe(item)}.", "send a value its control offers.")
    return params


def check_variants(value: object, *, browser: bool) -> int:
    """A whole number; from the browser (whose field keeps to them) within 1..MAX_VARIANTS, from Python judged as a rule."""
    return whole(value, "variants", 1 if browser else -MAX_PARAM_NUMBER, MAX_VARIANTS if browser else MAX_PARAM_NUMBER)


def check_brush(value: object) -> dict[str, Any]:
    brush = keys(value, "brush", _BRUSH_KEYS)
    if "radius" in brush:
        number(brush["radius"], "brush.radius", 0, MAX_RADIUS, low_open=True)
    if "mode" in brush:
        choice(brush["mode"], "brush.mode", BRUSH_MODES)
    if "opacity" in brush:
        number(brush["opacity"], "brush.opacity", 0, 1)
    if "visible" in brush:
        flag(brush["visible"], "brush.visible")
    if "tool" in brush:
        choice(brush["tool"], "brush.tool", TOOLS)
    if "colour" in brush and not (isinstance(brush["colour"], str) and _COLOUR.fullmatch(brush["colour"])):
        raise Refused("brush.colour", "format", f"is a colour #rrggbb, not {describe(brush['colour'])}.", "send e.g. '#ff00ff'.")
    if "outline" in brush:
        flag(brush["outline"], "brush.outline")
    if "tolerance" in brush:
        number(brush["tolerance"], "brush.tolerance", 0, MAX_TOLERANCE)
    if "contiguous" in brush:
        flag(brush["contiguous"], "brush.contiguous")
    return brush


def check_mask_tools(value: object) -> dict[str, Any]:
    """grow within +-MAX_GROW and feather within 0..MAX_FEATHER, checked before any mask is grown or blurred."""
    tools = keys(value, "mask_tools", _TOOLS_KEYS)
    if "grow" in tools:
        whole(tools["grow"], "mask_tools.grow", -MAX_GROW, MAX_GROW)
    if "feather" in tools:
        number(tools["feather"], "mask_tools.feather", 0, MAX_FEATHER)
    if "keep_outside" in tools:
        flag(tools["keep_outside"], "mask_tools.keep_outside")
    return tools


def _coordinates(values: object, field: str, count: int | None = None) -> np.ndarray:
    """A flat list of numbers (``count`` of them, if given) within +-MAX_COORDINATE, as (x, y) rows; its length checked first."""
    if not isinstance(values, (list, tuple)):
        raise Refused(field, "type", f"is a flat list of numbers, not {describe(values)}.", "send a list.")
    if count is not None and len(values) != count:
        raise Refused(field, "count", f"holds {len(values):,} numbers, not {count}.", f"send {count} numbers.")
    if not set(map(type, values)) <= {int, float}:  # bool is not int here
        bad = next(v for v in values if type(v) not in (int, float))
        raise Refused(field, "type", f"holds numbers only, not {describe(bad)}.", "send numbers.")
    try:
        xy = np.asarray(values, dtype=np.float64).reshape(-1, 2)  # bounded: the caller checked the length
    except OverflowError:
        xy = np.full((1, 2), np.inf)
    if not np.all(np.abs(xy) <= MAX_COORDINATE):  # NaN and inf fail too
        problem = f"holds a coordinate that is not finite or beyond +-{MAX_COORDINATE:,.0f} px."
        raise Refused(field, "range", problem, "send source-pixel coordinates near the image.")
    return xy


def _shape_op(op: dict[str, Any], kind: str, field: str) -> None:
    """A selection's box, point, polygon and colour-select numbers, checked (their counts first)."""
    for key in _OP_KEYS[kind][1:-1]:
        if key not in op:
            raise Refused(field, "required", f"a {kind} edit needs {key!r}.", f"send {', '.join(_OP_KEYS[kind][1:])}.")
    if kind in ("rect", "ellipse"):
        _coordinates(op["box"], f"{field}.box", 4)
    elif kind == "color":
        _coordinates(op["point"], f"{field}.point", 2)
        number(op["tolerance"], f"{field}.tolerance", 0, MAX_TOLERANCE)
        flag(op["contiguous"], f"{field}.contiguous")
    else:
        points = op["points"]
        if not isinstance(points, (list, tuple)) or len(points) % 2 or not 3 <= len(points) // 2 <= MAX_STROKE_POINTS:
            size = f"{len(points) // 2:,} points" if isinstance(points, (list, tuple)) else describe(points)
            problem = f"is {size}; a polygon has 3 to {MAX_STROKE_POINTS:,} (x, y) points."
            raise Refused(f"{field}.points", "max_points", problem, "send x, y pairs of 3 points or more.")
        xy = _coordinates(points, f"{field}.points")
        sweep = float(np.abs(np.diff(xy[:, 1], append=xy[:1, 1])).sum())
        if sweep > MAX_POLYGON_SWEEP:
            problem = f"its edges cross {sweep:,.0f} rows in all, more than {MAX_POLYGON_SWEEP:,.0f}."
            raise Refused(f"{field}.points", "max_sweep", problem, "draw a simpler outline.")
    choice(op.get("mode", "paint"), f"{field}.mode", BRUSH_MODES)


def check_mask_edit(op: object, field: str) -> tuple[int, float, float]:
    """One mask edit in the contract's shape; (points, path length, points x radius) it costs as a stroke."""
    if not isinstance(op, dict):
        raise Refused(field, "type", f"is a JSON object, not {describe(op)}.", "send {\"op\": ...}.")
    kind = choice(op.get("op"), f"{field}.op", MASK_OPS)
    keys(op, field, _OP_KEYS[kind])
    if kind == "stroke":
        return _stroke_size(op, field)
    if kind not in ("clear", "invert"):
        _shape_op(op, kind, field)
    return 0, 0.0, 0.0


def _stroke_size(op: dict[str, Any], field: str) -> tuple[int, float, float]:
    """(points, path length, points x radius) of a stroke op, checked: its size is known before a number is converted."""
    for key in ("points", "radius"):
        if key not in op:
            raise Refused(field, "required", f"a stroke needs {key!r}.", "send points, radius and mode.")
    points = op["points"]
    if not isinstance(points, (list, tuple)):
        raise Refused(f"{field}.points", "type", f"is a flat list [x0, y0, x1, y1, ...], not {describe(points)}.", "send a list.")
    if not points or len(points) % 2:
        raise Refused(f"{field}.points", "even", f"holds {len(points):,} numbers: a stroke needs x, y pairs.", "send x, y pairs.")
    count = len(points) // 2
    if count > MAX_STROKE_POINTS:
        fix = f"send at most {MAX_STROKE_POINTS:,} points per stroke (split a longer one)."
        raise Refused(f"{field}.points", "max_points", f"holds {count:,} points, more than {MAX_STROKE_POINTS:,}.", fix)
    xy = _coordinates(points, f"{field}.points")  # bounded now: at most 2 * MAX_STROKE_POINTS numbers
    length = float(np.hypot(*np.diff(xy, axis=0).T).sum()) if count > 1 else 0.0
    if length > MAX_STROKE_LENGTH:
        problem = f"its path is {length:,.0f} px long, more than {MAX_STROKE_LENGTH:,.0f}."
        raise Refused(f"{field}.points", "max_length", problem, "split the stroke.")
    if type(op["radius"]) not in (int, float):  # JSON's numbers only, as for the points
        raise Refused(f"{field}.radius", "type", f"is a number, not {describe(op['radius'])}.", "send a number.")
    radius = number(op["radius"], f"{field}.radius", 0, MAX_RADIUS, low_open=True)
    choice(op.get("mode", "paint"), f"{field}.mode", BRUSH_MODES)
    return count, length, count * radius


def check_mask_edits(value: object, name: str = "mask_edits") -> list[dict[str, Any]]:
    """A list of at most MAX_MASK_EDITS edits in the contract's shape, of bounded points and path length in all."""
    if not isinstance(value, (list, tuple)):
        raise Refused(name, "type", f"is a list of edits, not {describe(value)}.", "send a list.")
    if len(value) > MAX_MASK_EDITS:
        fix = _BAKE
        raise Refused(name, "max_edits", f"holds {len(value):,} edits, more than {MAX_MASK_EDITS:,}.", fix)
    points, length, sweep = 0, 0.0, 0.0
    for i, op in enumerate(value):
        more, longer, wider = check_mask_edit(op, f"{name}[{i}]")
        points, length, sweep = points + more, length + longer, sweep + wider
    if points > MAX_MASK_POINTS:
        problem = f"its strokes hold {points:,} points in all, more than {MAX_MASK_POINTS:,}."
        raise Refused(name, "max_points", problem, _BAKE)
    if length > MAX_MASK_LENGTH:
        problem = f"its strokes are {length:,.0f} px long in all, more than {MAX_MASK_LENGTH:,.0f}."
        raise Refused(name, "max_length", problem, _BAKE)
    if sweep > MAX_MASK_SWEEP:
        problem = f"its strokes' points times their radii add up to {sweep:,.0f}, more than {MAX_MASK_SWEEP:,.0f}."
        raise Refused(name, "max_sweep", problem, "paint with a smaller brush; or " + _BAKE)
    return list(value)


def check_trait(name: str, value: object, *, browser: bool) -> Any:
    """The checked value of the browser-written trait ``name`` (Refused if it breaks a rule)."""
    if name == "prompt":
        return check_prompt(value)
    if name == "params":
        return check_params(value)
    if name == "variants":
        return check_variants(value, browser=browser)
    if name == "brush":
        return check_brush(value)
    if name == "mask_tools":
        return check_mask_tools(value)
    raise KeyError(name)


def check_state(state: object, synced: Iterable[str]) -> None:
    """An update of ``synced`` traits from the browser: only those it writes, each within its rules."""
    if not isinstance(state, dict):
        raise Refused("state", "type", f"an update is a JSON object, not {describe(state)}.", "send {trait: value}.")
    synced = frozenset(synced)
    for name, value in state.items():
        if name in BROWSER_TRAITS:
            check_trait(name, value, browser=True)
        elif name in synced:  # the studio's other traits, and the widget machinery's (_esm, layout, ...)
            fix = "leave it to Python: it is shown, not edited."
            raise Refused(name if len(name) <= 40 else describe(name), "read_only", "is written by Python only.", fix)


def check_message(content: object, buffers: Sequence[Any], *, sources: int) -> dict[str, Any]:
    """A message from the browser, checked against the studio's ``sources`` count; its checked fields.

    Whether a result id names a result is for the caller to find out (it asks the run store).
    """
    if not isinstance(content, dict):
        raise Refused("message", "type", f"is a JSON object, not {describe(content)}.", "send {\"type\": ...}.")
    kind = choice(content.get("type"), "type", tuple(MESSAGES))
    keys(content, kind, {"type", *MESSAGES[kind]})
    if kind != "add_sources" and buffers:
        raise Refused(kind, "buffers", f"carries {len(buffers)} binary buffer(s) and takes none.", "send files with add_sources.")
    out: dict[str, Any] = {"type": kind}
    if kind == "add_sources":
        out["names"], out["files"] = _uploads(content.get("names"), buffers)
    elif kind == "remove_source":
        out["index"] = _index(content.get("index"), "remove_source.index", sources)
    elif kind == "move_source":
        out["from"] = _index(content.get("from"), "move_source.from", sources)
        out["to"] = _index(content.get("to"), "move_source.to", sources)
    elif kind == "use_as_source":
        out["id"] = result_id(content.get("id"), "use_as_source.id", _ID_FIX)
    elif kind == "fetch":
        out["id"] = result_id(content.get("id"), "fetch.id", _ID_FIX)
        out["purpose"] = choice(content.get("purpose", "download"), "fetch.purpose", FETCH_PURPOSES)
    elif kind == "mask_edit":
        if "edit" not in content:
            raise Refused("mask_edit", "required", "needs 'edit'.", "send {\"type\": \"mask_edit\", \"edit\": {...}}.")
        check_mask_edit(content["edit"], "mask_edit.edit")
        out["edit"] = content["edit"]
    elif kind == "view":
        out["box"] = [float(v) for v in _coordinates(content.get("box"), "view.box", 4).ravel()]
        out["width"] = whole(content.get("width"), "view.width", 1, MAX_VIEW_EDGE)
        out["height"] = whole(content.get("height"), "view.height", 1, MAX_VIEW_EDGE)
    elif kind == "extend":
        out.update(_extend(content))
    return out


def _extend(content: dict[str, Any]) -> dict[str, Any]:
    """The fields of an ``extend`` message, each checked; absent ones (or null) left out."""
    out: dict[str, Any] = {}
    for side in ("left", "top", "right", "bottom"):
        if content.get(side) is not None:
            out[side] = whole(content[side], f"extend.{side}", 0, MAX_EXTEND)
    for name in ("aspect", "size"):
        if content.get(name) not in (None, ""):
            out[name] = text(content[name], f"extend.{name}", 20)
    if content.get("fill") is not None:
        out["fill"] = choice(content["fill"], "extend.fill", FILLS)
    if content.get("overlap") is not None:
        out["overlap"] = whole(content["overlap"], "extend.overlap", 0, MAX_OVERLAP)
    return out


def _index(value: object, field: str, sources: int) -> int:
    if sources == 0:
        raise Refused(field, "range", "there is no source image.", "add a source image first.")
    return whole(value, field, 0, sources - 1)


def _uploads(names: object, buffers: Sequence[Any]) -> tuple[list[str], list[bytes]]:
    """One name per file, 1..MAX_UPLOAD_FILES files of at most MAX_UPLOAD_BYTES each."""
    if not isinstance(names, list):
        raise Refused("add_sources.names", "type", f"is a list of file names, not {describe(names)}.", "send one name per file.")
    if not 1 <= len(buffers) <= MAX_UPLOAD_FILES:
        problem = f"carries {len(buffers):,} files; one message takes 1 to {MAX_UPLOAD_FILES}."
        raise Refused("add_sources", "max_files", problem, f"add at most {MAX_UPLOAD_FILES} files at once.")
    if len(names) != len(buffers):
        problem = f"names {len(names):,} files but carries {len(buffers):,}."
        raise Refused("add_sources.names", "count", problem, "send one name per file.")
    files = []
    for i, (name, data) in enumerate(zip(names, buffers)):
        text(name, f"add_sources.names[{i}]", MAX_NAME_CHARS)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise Refused(f"add_sources[{i}]", "type", f"is a file's bytes, not {describe(data)}.", "send the file as a buffer.")
        size = memoryview(data).nbytes
        if size > MAX_UPLOAD_BYTES:
            problem = f"{describe(name)} is {size / 1e6:,.0f} MB, more than {MAX_UPLOAD_BYTES / 1e6:,.0f} MB."
            raise Refused(f"add_sources[{i}]", "max_bytes", problem, "the API takes files under 50 MB: make it smaller first.")
        files.append(data)
    return list(names), files

