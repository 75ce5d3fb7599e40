"""Mask edits as the frontend sends them: brush strokes, selections (rect, ellipse, polygon, colour), ``clear``, ``invert``.

The data comes from a browser, so every op is checked before anything is drawn:
its shape (only the contract's keys; ``mode`` may be left out and is ``"paint"``),
then its sizes, then the types of its values (plain numbers; ``contiguous`` a bool,
which is no number), then their finiteness and ranges, in that order, so that
nothing is converted before it is known to be a flat list of plain numbers. How many
points a widget takes is the widget's to bound (the studio's limits are in
``studio/_limits.py``). Strokes are rasterized by :mod:`._strokes`, the shapes by
:mod:`._selections`, colour select (which reads the source image) by
:mod:`._color_select`; :func:`edit_box` says where an op can change anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import groupby

import numpy as np

from ._color_select import ColorSelect, source_pixels
from ._mask import Mask
from ._rules import quote
from ._selections import Ellipse, Polygon, Rect, write
from ._strokes import Stroke, apply_in_order, start_region

Op = Stroke | Rect | Ellipse | Polygon | ColorSelect | str
"""A parsed op: a shape, or ``"clear"`` / ``"invert"``."""

_REQUIRED = {
    "stroke": ("points", "radius"),
    "rect": ("box",),
    "ellipse": ("box",),
    "polygon": ("points",),
    "color": ("point", "tolerance", "contiguous"),
    "clear": (),
    "invert": (),
}
_OPS = tuple(_REQUIRED)
_KEYS = {kind: ("op", *keys, *(("mode",) if keys else ())) for kind, keys in _REQUIRED.items()}


def parse_op(op: object) -> Op:
    """Check one op from the frontend: a :class:`Stroke`, a selection shape, or ``"clear"`` / ``"invert"``.

    Raises ValueError saying what is wrong (the data comes from a browser).
    """
    if not isinstance(op, dict):
        raise ValueError(f"an op is a JSON object, not {type(op).__name__}")
    kind = op.get("op")
    if not isinstance(kind, str) or kind not in _OPS:
        raise ValueError(f"an op's 'op' is one of {', '.join(map(repr, _OPS))}, not {quote(kind)}")
    extra = [key for key in op if key not in _KEYS[kind]]
    if extra:
        raise ValueError(f"a {kind} op has only the keys {', '.join(map(repr, _KEYS[kind]))}, not {quote(extra[0])}")
    if kind in ("clear", "invert"):
        return kind
    for key in _REQUIRED[kind]:
        if key not in op:
            raise ValueError(f"a {kind} op needs {key!r}")
    mode = op.get("mode", "paint")
    if kind == "stroke":
        coordinates = _numbers(kind, "points", op["points"], "a non-empty flat list [x0, y0, x1, y1, ...] of even length")
        radius = op["radius"]
        if type(radius) not in (int, float) or not 0 < radius < float("inf"):  # NaN fails the comparison
            raise ValueError(f"a stroke's 'radius' is a positive, finite number, not {quote(radius)}")
        _check_mode(kind, mode)
        return Stroke(_finite(kind, "points", coordinates), float(radius), mode)
    if kind in ("rect", "ellipse"):
        box = _numbers(kind, "box", op["box"], "a list [x0, y0, x1, y1] of four numbers", count=4)
        _check_mode(kind, mode)
        corners = tuple(float(v) for v in _finite(kind, "box", box))
        return (Rect if kind == "rect" else Ellipse)(corners, mode)  # type: ignore[arg-type]
    if kind == "polygon":
        points = _numbers(kind, "points", op["points"], "a flat list [x0, y0, x1, y1, ...] of at least 3 points", least=6)
        _check_mode(kind, mode)
        return Polygon(_finite(kind, "points", points), mode)
    point = _numbers(kind, "point", op["point"], "a list [x, y] of two numbers", count=2)
    tolerance, contiguous = op["tolerance"], op["contiguous"]
    if type(tolerance) not in (int, float) or not 0 <= tolerance <= 255:  # NaN fails the comparison
        raise ValueError(f"a color op's 'tolerance' is a number from 0 to 255, not {quote(tolerance)}")
    if type(contiguous) is not bool:
        raise ValueError(f"a color op's 'contiguous' is true or false, not {quote(contiguous)}")
    _check_mode(kind, mode)
    x, y = (float(v) for v in _finite(kind, "point", point))
    return ColorSelect((x, y), float(tolerance), contiguous, mode)


def _numbers(kind: str, key: str, value: object, what: str, *, count: int | None = None, least: int = 2) -> list:
    """``value`` checked to be a flat list of plain numbers (its length first, then its types), unconverted."""
    if not isinstance(value, (list, tuple)) or len(value) % 2 or len(value) < least or (count and len(value) != count):
        raise ValueError(f"a {kind}'s {key!r} is {what}")
    if not set(map(type, value)) <= {int, float}:  # fast for 20,000 numbers; bool is not int here
        bad = next(v for v in value if type(v) not in (int, float))
        raise ValueError(f"a {kind}'s {key!r} holds numbers only, not {quote(bad)}")
    return list(value)


def _finite(kind: str, key: str, numbers: list) -> np.ndarray:
    try:
        coordinates = np.array(numbers, dtype=np.float64)
    except OverflowError:  # an int beyond a float's range
        coordinates = np.full(2, np.inf)
    if not np.all(np.isfinite(coordinates)):
        raise ValueError(f"a {kind}'s {key!r} must be finite")
    return coordinates


def _check_mode(kind: str, mode: object) -> None:
    if not (isinstance(mode, str) and mode in ("paint", "erase")):
        raise ValueError(f"a {kind}'s 'mode' is 'paint' or 'erase', not {quote(mode)}")


def edit_box(op: dict, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box (x0, y0, x1, y1) of an image of ``size`` = (w, h) outside which applying ``op`` changes nothing.

    Clamped to the image, ends exclusive, possibly empty (x0 == x1 or y0 == y1). A
    stroke's is its points' bounding box grown by radius + 1, a rect's, ellipse's or
    polygon's its bounding box grown by 1; colour select, ``clear`` and ``invert``
    may change the whole image. ``op`` is the frontend's dict (checked: ValueError).
    """
    parsed = parse_op(op)
    width, height = size
    if isinstance(parsed, (str, ColorSelect)):
        return 0, 0, width, height
    if isinstance(parsed, Stroke):
        (left, top), (right, bottom) = parsed.points.min(axis=0), parsed.points.max(axis=0)
        reach = parsed.radius + 1
    else:
        left, top, right, bottom = parsed.bounds
        reach = 1
    x0 = min(max(math.floor(left - reach), 0), width)
    y0 = min(max(math.floor(top - reach), 0), height)
    return x0, y0, min(max(math.ceil(right + reach), x0), width), min(max(math.ceil(bottom + reach), y0), height)


def apply_ops(ops: Sequence[dict], size: tuple[int, int], base: Mask | None = None, *, image: object = None) -> Mask:
    """The Mask of ``size`` = (width, height) after applying the frontend's ``ops`` in order on ``base``.

    Ops: ``stroke``, ``rect``, ``ellipse``, ``polygon``, ``color`` (each with ``mode``
    ``"paint"`` or ``"erase"``; see ``js/README.md``), ``{"op": "clear"}`` (empties
    everything, the base included) and ``{"op": "invert"}`` (swaps edit and keep).
    ``image`` is the source image colour select reads: a PIL image or an HxWx3/4
    uint8 array of exactly ``size``. A malformed op, or a colour select without a
    fitting image or with its point outside it, raises ValueError before anything is drawn.
    """
    parsed = [parse_op(op) for op in ops]
    pixels = _pixels_for(parsed, size, image)
    region = start_region(size, base)
    cleared = max((i for i, op in enumerate(parsed) if op == "clear"), default=-1)
    if cleared >= 0:  # nothing before the last clear matters
        region[...] = False
    _apply_parsed(region, parsed[cleared + 1 :], pixels)
    return Mask(region)


def apply_op(region: np.ndarray, op: dict, *, image: object = None) -> None:
    """Apply one more op to ``region`` (an HxW bool array) in place: a shape touches only its :func:`edit_box`.

    ``apply_op`` on each op in turn gives the same region as :func:`apply_ops` on all
    of them; ``image`` is as there (needed by colour select only).
    """
    if not (isinstance(region, np.ndarray) and region.ndim == 2 and region.dtype == bool):
        raise ValueError("apply_op works on an HxW bool array in place")
    if not region.flags.writeable:
        raise ValueError("apply_op needs a writeable region (a Mask's region is read-only: copy it)")
    parsed = [parse_op(op)]
    _apply_parsed(region, parsed, _pixels_for(parsed, (region.shape[1], region.shape[0]), image))


def _pixels_for(parsed: Sequence[Op], size: tuple[int, int], image: object) -> np.ndarray | None:
    """The source pixels when an op needs them (checked, with every colour select's point), else None."""
    selects = [op for op in parsed if isinstance(op, ColorSelect)]
    if not selects:
        return None
    pixels = source_pixels(image, size)
    for select in selects:
        select.pixel(size)
    return pixels


def _apply_parsed(region: np.ndarray, ops: Sequence[Op], pixels: np.ndarray | None) -> None:
    """Apply parsed ops in order; runs of strokes, ``clear`` and ``invert`` go to :func:`._strokes.apply_in_order`."""
    height, width = region.shape
    for simple, run in groupby(ops, key=lambda op: isinstance(op, (Stroke, str))):
        if simple:
            apply_in_order(region, list(run))  # type: ignore[arg-type]
            continue
        for shape in run:
            if isinstance(shape, ColorSelect):
                write(region, shape.cover(pixels), shape.mode)  # type: ignore[arg-type]
            else:
                write(region, shape.cover(width, height), shape.mode)  # type: ignore[union-attr]
