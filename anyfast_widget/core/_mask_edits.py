"""Mask edits as the frontend sends them: ``stroke``, ``clear`` and ``invert`` ops, checked, then applied in order.

The data comes from a browser, so every op is checked before anything is drawn:
its shape (only the contract's keys), then its sizes, then its numbers, in that
order, so that nothing is converted before it is known to be a flat list of plain
numbers. How many points a widget takes is the widget's to bound (the studio's
limits are in ``studio/_limits.py``). The strokes are rasterized exactly by
:mod:`._strokes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._mask import Mask
from ._rules import quote
from ._strokes import Stroke, apply_in_order, start_region

_OPS = ("stroke", "clear", "invert")
_KEYS = {"stroke": ("op", "points", "radius", "mode"), "clear": ("op",), "invert": ("op",)}


def parse_op(op: object) -> Stroke | str:
    """Check one op from the frontend: a :class:`Stroke` for ``stroke``, else ``"clear"`` or ``"invert"``.

    Raises ValueError saying what is wrong (the data comes from a browser).
    """
    if not isinstance(op, dict):
        raise ValueError(f"an op is a JSON object, not {type(op).__name__}")
    kind = op.get("op")
    if kind not in _OPS:
        raise ValueError(f"an op's 'op' is one of {', '.join(map(repr, _OPS))}, not {quote(kind)}")
    extra = [key for key in op if key not in _KEYS[kind]]
    if extra:
        raise ValueError(f"a {kind} op has only the keys {', '.join(map(repr, _KEYS[kind]))}, not {quote(extra[0])}")
    if kind != "stroke":
        return kind
    for key in ("points", "radius"):
        if key not in op:
            raise ValueError(f"a stroke op needs {key!r}")
    points, radius, mode = op["points"], op["radius"], op.get("mode", "paint")
    if not isinstance(points, (list, tuple)) or not points or len(points) % 2:
        raise ValueError("a stroke's 'points' is a non-empty flat list [x0, y0, x1, y1, ...] of even length")
    if not set(map(type, points)) <= {int, float}:  # fast for 400 numbers; bool is not int here
        bad = next(v for v in points if type(v) not in (int, float))
        raise ValueError(f"a stroke's 'points' holds numbers only, not {quote(bad)}")
    if type(radius) not in (int, float) or not 0 < radius < float("inf"):  # NaN fails the comparison
        raise ValueError(f"a stroke's 'radius' is a positive, finite number, not {quote(radius)}")
    if mode not in ("paint", "erase"):
        raise ValueError(f"a stroke's 'mode' is 'paint' or 'erase', not {quote(mode)}")
    try:
        coordinates = np.array(points, dtype=np.float64)
    except OverflowError:  # an int beyond a float's range
        coordinates = np.full(2, np.inf)
    if not np.all(np.isfinite(coordinates)):
        raise ValueError("a stroke's 'points' must be finite")
    return Stroke(coordinates, float(radius), mode)


def apply_ops(ops: Sequence[dict], size: tuple[int, int], base: Mask | None = None) -> Mask:
    """The Mask of ``size`` = (width, height) after applying the frontend's ``ops`` in order on ``base``.

    Ops: ``{"op": "stroke", "points": [x0, y0, ...], "radius": r, "mode": "paint" | "erase"}``,
    ``{"op": "clear"}`` (empties everything, the base included) and ``{"op": "invert"}``
    (swaps edit and keep). A malformed op raises ValueError before anything is drawn.
    """
    parsed = [parse_op(op) for op in ops]
    region = start_region(size, base)
    cleared = max((i for i, op in enumerate(parsed) if op == "clear"), default=-1)
    if cleared >= 0:  # nothing before the last clear matters
        region[...] = False
    apply_in_order(region, parsed[cleared + 1 :])
    return Mask(region)


def apply_op(region: np.ndarray, op: dict) -> None:
    """Apply one more op to ``region`` (an HxW bool array) in place: a stroke touches only its bounding box.

    ``apply_op`` on each op in turn gives the same region as :func:`apply_ops` on all of them.
    """
    if not (isinstance(region, np.ndarray) and region.ndim == 2 and region.dtype == bool):
        raise ValueError("apply_op works on an HxW bool array in place")
    if not region.flags.writeable:
        raise ValueError("apply_op needs a writeable region (a Mask's region is read-only: copy it)")
    apply_in_order(region, [parse_op(op)])
