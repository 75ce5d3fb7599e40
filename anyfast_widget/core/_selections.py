"""Selection shapes rasterized into a mask at full resolution: rectangles, ellipses and polygons (the lasso).

Each shape covers the source pixels whose **centres** (i + 0.5, j + 0.5) lie inside
it, boundary included: a rect the pixels whose centres lie within its box, an
ellipse those within the ellipse inscribed in its box, a polygon those inside its
closed outline by the even-odd rule or on the outline itself. So a polygon drawn
along a box covers exactly what the rect of that box covers.

A shape only ever looks at the rows and columns of its bounding box (clamped to the
image), and the work is numpy over those: a rect is a slice, an ellipse one closed-
form interval per row (its ends checked against the definition, so rounding cannot
move a boundary pixel), a polygon a scanline pass without sorting: every edge's
crossing of every row centre toggles the pixel at or right of it, and a running
parity along each row (a cumulative sum of bytes, which wraps but keeps its parity)
is the even-odd rule. Centres exactly on the outline (a crossing at a pixel centre, a
vertex on one, a level edge along a row of them) are added on top, which makes the
set closed. Coordinates come rounded to 0.01, which binary floats cannot hold exactly,
so "exactly on" allows for rounding (``_TIE``, ``_TIE_PX``): a centre on an outline in
those decimals is on it. Rows are taken in bands of about a million crossings, so a
hostile zig-zag of 20,000 points across the whole image (21 million crossings, 0.7-1 s)
stays within tens of megabytes of temporaries; a drawn lasso takes ~45 ms at 3840x2160.

The ops are checked in :mod:`._mask_edits`; colour select, which needs the image, is
in :mod:`._color_select`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._strokes import Mode

Placed = tuple[slice, slice, np.ndarray]
"""Where a shape's pixels go: (rows, columns, an HxW bool block over them)."""

_CROSSINGS = 1 << 20  # crossings per working chunk of a polygon's edges
# Ties: coordinates come rounded to 0.01, which doubles cannot hold, so a centre exactly on an outline in those
# decimals can come out a rounding error off it. Within these margins (far below what 0.01 steps can make)
# a centre counts as on the outline: relative for the ellipse's equation, in pixels for a polygon's crossings.
_TIE = 1e-13
_TIE_PX = 1e-9


def centres_within(low: float, high: float, count: int) -> tuple[int, int]:
    """The pixels ``[first, stop)`` of ``0 .. count`` whose centres ``i + 0.5`` lie in ``[low, high]`` (empty: first == stop)."""
    # ceil/floor of (v - 0.5) is exact here: |v| <= 1e5 and both are doubles, so the difference is exact or far from whole.
    first = min(max(math.ceil(low - 0.5), 0), count)
    stop = min(max(math.floor(high - 0.5) + 1, first), count)
    return first, stop


def write(region: np.ndarray, placed: Placed | None, mode: Mode) -> None:
    """Paint (``region |= block``) or erase (``region &= ~block``) a shape's block in place."""
    if placed is None:
        return
    rows, cols, block = placed
    view = region[rows, cols]
    if mode == "paint":
        np.logical_or(view, block, out=view)
    else:
        np.logical_and(view, ~block, out=view)


def _ordered(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


@dataclass(frozen=True)
class Rect:
    """A rectangle select: ``box`` = (x0, y0, x1, y1) in source pixels, corners in any order, bounds inclusive."""

    box: tuple[float, float, float, float]
    mode: Mode = "paint"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the shape itself."""
        return _ordered(self.box)

    def cover(self, width: int, height: int) -> Placed | None:
        """The covered pixels of a ``width`` x ``height`` image, or None when there are none."""
        left, top, right, bottom = self.bounds
        c0, c1 = centres_within(left, right, width)
        r0, r1 = centres_within(top, bottom, height)
        if c0 == c1 or r0 == r1:
            return None
        return slice(r0, r1), slice(c0, c1), np.ones((r1 - r0, c1 - c0), bool)


@dataclass(frozen=True)
class Ellipse:
    """An ellipse select: the ellipse inscribed in ``box`` = (x0, y0, x1, y1), boundary included.

    A box of zero width or height gives the segment it collapses to.
    """

    box: tuple[float, float, float, float]
    mode: Mode = "paint"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return _ordered(self.box)

    def cover(self, width: int, height: int) -> Placed | None:
        left, top, right, bottom = self.bounds
        c0, c1 = centres_within(left, right, width)
        r0, r1 = centres_within(top, bottom, height)
        if c0 == c1 or r0 == r1:
            return None
        cx, cy, a, b = (left + right) / 2, (top + bottom) / 2, (right - left) / 2, (bottom - top) / 2
        dy = np.arange(r0, r1) + 0.5 - cy
        # Closed form per row, then each end moved to where the definition itself says (rounding moves it by
        # at most a pixel); the definition, b²dx² + a²dy² <= a²b², holds for a flat box too within the box.
        with np.errstate(invalid="ignore", divide="ignore"):
            half = a * np.sqrt(np.clip(1 - (dy / b) ** 2, 0, 1)) if b > 0 else np.full(len(dy), a)
        first = np.clip(np.ceil(cx - half - 0.5), c0, c1).astype(np.int64)
        last = np.clip(np.floor(cx + half - 0.5), c0 - 1, c1 - 1).astype(np.int64)
        a2, b2, ab2, dy2 = a * a, b * b, (a * b) ** 2 * (1 + _TIE), dy * dy

        def inside(column: np.ndarray) -> np.ndarray:
            dx = column + 0.5 - cx
            return (column >= c0) & (column < c1) & (b2 * (dx * dx) + a2 * dy2 <= ab2)

        for _ in range(2):
            first = np.where(inside(first - 1), first - 1, np.where(inside(first), first, first + 1))
            last = np.where(inside(last + 1), last + 1, np.where(inside(last), last, last - 1))
        columns = np.arange(c0, c1)
        block = (columns >= first[:, None]) & (columns <= last[:, None])
        return slice(r0, r1), slice(c0, c1), block


@dataclass(frozen=True)
class Polygon:
    """A lasso or polygon select: ``points`` (N x 2, N >= 3) a closed outline, even-odd rule, outline included."""

    points: np.ndarray
    mode: Mode = "paint"

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        if len(points) < 3 or not np.all(np.isfinite(points)):
            raise ValueError("a polygon needs at least 3 points, and finite coordinates")
        object.__setattr__(self, "points", points)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        (left, top), (right, bottom) = self.points.min(axis=0), self.points.max(axis=0)
        return float(left), float(top), float(right), float(bottom)

    def cover(self, width: int, height: int) -> Placed | None:
        left, top, right, bottom = self.bounds
        c0, c1 = centres_within(left, right, width)
        r0, r1 = centres_within(top, bottom, height)
        if c0 == c1 or r0 == r1:
            return None
        bw = c1 - c0
        toggles = np.zeros((r1 - r0, bw + 1), np.uint8)  # a spare column takes the crossings right of the box
        outline = np.zeros((r1 - r0, bw + 1), bool)  # centres on the outline itself (ties: rare, but they count)
        p = self.points
        q = np.roll(p, -1, axis=0)
        # The rows an edge crosses: centre y with min(y) <= y < max(y) (the half-open rule counts a vertex once).
        first = np.clip(np.ceil(np.minimum(p[:, 1], q[:, 1]) - 0.5), r0, r1).astype(np.int64)
        stop = np.clip(np.ceil(np.maximum(p[:, 1], q[:, 1]) - 0.5), r0, r1).astype(np.int64)
        edges = np.flatnonzero((p[:, 1] != q[:, 1]) & (stop > first))
        for ra, rb in _bands(first[edges] - r0, stop[edges] - r0):
            e = edges[(first[edges] < rb + r0) & (stop[edges] > ra + r0)]
            lo, hi = np.maximum(first[e] - r0, ra), np.minimum(stop[e] - r0, rb)
            n = hi - lo
            row = np.arange(int(n.sum()), dtype=np.int64) + np.repeat(lo - (np.cumsum(n) - n), n)  # rows from r0
            ya, xa = np.repeat(p[e, 1], n), np.repeat(p[e, 0], n)
            x = (row + (r0 + 0.5) - ya) * np.repeat(q[e, 0] - p[e, 0], n)
            x /= np.repeat(q[e, 1] - p[e, 1], n)
            x += xa
            x -= 0.5 + c0  # now the column (from c0) whose centre it is, if whole: exact, as in centres_within
            column = np.clip(np.ceil(x), 0, bw)
            flat = row * (bw + 1) + column.astype(np.int64)
            base = ra * (bw + 1)
            odd = np.bincount(flat - base, minlength=(rb - ra) * (bw + 1)).astype(np.uint8) & 1
            toggles.reshape(-1)[base : rb * (bw + 1)] ^= odd
            nearest = np.rint(x)
            on = (np.abs(x - nearest) <= _TIE_PX) & (nearest >= 0) & (nearest < bw)  # a crossing at a pixel centre
            outline.reshape(-1)[row[on] * (bw + 1) + nearest[on].astype(np.int64)] = True
        # Vertices at pixel centres, and level edges along a row of centres.
        vx, vy = p[:, 0] - 0.5, p[:, 1] - 0.5
        at = (vx == np.floor(vx)) & (vy == np.floor(vy)) & (vx >= c0) & (vx < c1) & (vy >= r0) & (vy < r1)
        outline[vy[at].astype(np.int64) - r0, vx[at].astype(np.int64) - c0] = True
        for k in np.flatnonzero((p[:, 1] == q[:, 1]) & (vy == np.floor(vy)) & (vy >= r0) & (vy < r1)):
            a, b = centres_within(min(p[k, 0], q[k, 0]), max(p[k, 0], q[k, 0]), width)
            outline[int(vy[k]) - r0, a - c0 : b - c0] = True
        parity = np.cumsum(toggles[:, :bw], axis=1, dtype=np.uint8)  # wraps at 256, which keeps the parity
        block = (parity & 1).view(bool)
        np.logical_or(block, outline[:, :bw], out=block)
        return slice(r0, r1), slice(c0, c1), block


def _bands(first: np.ndarray, stop: np.ndarray) -> list[tuple[int, int]]:
    """Row bands [a, b) (rows from the box's top) over which the edges cross about ``_CROSSINGS`` times each."""
    rows = int(stop.max()) if len(stop) else 0
    per_row = np.cumsum(np.bincount(first, minlength=rows + 1) - np.bincount(stop, minlength=rows + 1))[:rows]
    ends = np.searchsorted(np.cumsum(per_row), np.arange(_CROSSINGS, int(per_row.sum()), _CROSSINGS), "right")
    bounds = np.unique(np.concatenate([[0], np.minimum(ends + 1, rows), [rows]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
