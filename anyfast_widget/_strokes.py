"""Brush strokes, as the canvas sends them, rasterized into a Mask at full resolution.

A stroke is a polyline in source-pixel coordinates with a radius and a mode (paint
adds to the editable region, erase removes from it), drawn with round caps and
joins like an HTML canvas path with ``lineCap = lineJoin = "round"``. A pixel is
covered when its centre lies within ``radius`` of the polyline, which is what the
canvas shows once its anti-aliased edge is cut at half coverage.

The work is vectorised: each segment with its radius is a capsule, a convex shape,
so every pixel row meets it in one interval. All (capsule, row) intervals of a
run of same-mode strokes are computed at once and filled through a per-row
difference array, so 50 strokes of 200 points cost milliseconds, not seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Literal

import numpy as np

from ._mask import Mask

Mode = Literal["paint", "erase"]


@dataclass(frozen=True)
class Stroke:
    """One brush stroke: ``points`` (N x 2, x then y, in source pixels), ``radius`` in source pixels, ``mode``."""

    points: np.ndarray
    radius: float
    mode: Mode = "paint"

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        if len(points) == 0 or not np.all(np.isfinite(points)):
            raise ValueError("a stroke needs at least one point, and finite coordinates")
        if not (np.isfinite(self.radius) and self.radius > 0):
            raise ValueError(f"a stroke's radius must be positive, not {self.radius!r}")
        if self.mode not in ("paint", "erase"):
            raise ValueError(f"a stroke's mode is 'paint' or 'erase', not {self.mode!r}")
        object.__setattr__(self, "points", points)

    @classmethod
    def from_json(cls, data: dict) -> Stroke:
        """From the frontend's ``{"points": [x0, y0, x1, y1, ...], "radius": r, "mode": "paint"}``."""
        return cls(np.asarray(data["points"], dtype=np.float64), float(data["radius"]), data.get("mode", "paint"))

    def to_json(self) -> dict:
        return {"points": self.points.ravel().tolist(), "radius": self.radius, "mode": self.mode}


def _pieces(strokes: Sequence[Stroke]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every vertex (its disc) and every segment (its body) of the strokes, with their radii."""
    vertices = np.concatenate([s.points for s in strokes])
    vertex_radii = np.concatenate([np.full(len(s.points), s.radius) for s in strokes])
    starts = np.concatenate([s.points[:-1] for s in strokes])
    ends = np.concatenate([s.points[1:] for s in strokes])
    segment_radii = np.concatenate([np.full(len(s.points) - 1, s.radius) for s in strokes])
    return vertices, vertex_radii, starts, ends, segment_radii


def _rows(low: np.ndarray, high: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Each shape's pixel rows whose centres lie in [low, high]: (rows per shape, all rows flattened).

    Pairs stay grouped by shape, so per-shape values reach them with ``np.repeat``.
    """
    top = np.maximum(np.ceil(low - 0.5), 0).astype(np.int64)
    bottom = np.minimum(np.floor(high - 0.5), height - 1).astype(np.int64)
    count = np.maximum(bottom - top + 1, 0)
    starts = np.cumsum(count) - count
    rows = np.arange(int(count.sum()), dtype=np.int64) + np.repeat(top - starts, count)
    return count, rows


def _disc_spans(centres: np.ndarray, radii: np.ndarray, height: int) -> tuple[np.ndarray, ...]:
    count, row = _rows(centres[:, 1] - radii, centres[:, 1] + radii, height)
    dy = row + (0.5 - np.repeat(centres[:, 1], count))
    half = np.sqrt(np.maximum(np.repeat(radii * radii, count) - dy * dy, 0.0))
    cx = np.repeat(centres[:, 0], count)
    return row, cx - half, cx + half


def _body_spans(a: np.ndarray, b: np.ndarray, radii: np.ndarray, height: int) -> tuple[np.ndarray, ...]:
    """Row spans of each segment's body: the points within ``radius`` of the segment's line whose
    projection falls on the segment (the rest of a capsule is its two end discs).

    On the row at height ``u`` above the segment's start, the body is bounded by two
    pairs of lines, each bound linear in ``u``: x - ax = u * slope + offset.
    """
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0
    a, d, length, radii = a[keep], d[keep], length[keep], radii[keep]
    dx, dy = d[:, 0], d[:, 1]
    band, sq = radii * length, length * length
    # A segment within a billionth of level (or upright) is taken as exactly so: the
    # difference is below what a double can hold, and the slopes would overflow.
    sloped = np.abs(dy) > 1e-9 * length
    leaning = np.abs(dx) > 1e-9 * length
    dy_safe = np.where(sloped, dy, 1.0)
    dx_safe = np.where(leaning, dx, 1.0)
    # Within the band: |(x - ax) dy - u dx| <= r L.
    band_slope = np.where(sloped, dx / dy_safe, 0.0)
    band_off = np.where(sloped, np.abs(band / dy_safe), np.inf)  # a level segment: every x...
    # On the segment: 0 <= (x - ax) dx + u dy <= L^2.
    proj_slope = np.where(leaning, -dy / dx_safe, 0.0)
    proj_lo = np.where(leaning, np.minimum(0.0, sq / dx_safe), -np.inf)  # an upright one: every x...
    proj_hi = np.where(leaning, np.maximum(0.0, sq / dx_safe), np.inf)
    reach = radii * np.abs(dx) / length  # how far the body's sides reach above and below the segment
    level_y = np.where(sloped, 0.0, dy)  # a level segment's rows: its start's, not a hair apart
    low = np.minimum(a[:, 1], a[:, 1] + dy - level_y) - reach
    high = np.maximum(a[:, 1], a[:, 1] + dy - level_y) + reach
    # ...once the rows are limited to the body's own height, which [low, high] does.
    count, row = _rows(low, high, height)
    u = row + 0.5 - np.repeat(a[:, 1], count)
    centre_band = u * np.repeat(band_slope, count)
    centre_proj = u * np.repeat(proj_slope, count)
    offset = np.repeat(band_off, count)
    ax = np.repeat(a[:, 0], count)
    left = ax + np.maximum(centre_band - offset, centre_proj + np.repeat(proj_lo, count))
    right = ax + np.minimum(centre_band + offset, centre_proj + np.repeat(proj_hi, count))
    return row, left, right


def _cover(strokes: Sequence[Stroke], width: int, height: int) -> np.ndarray:
    """The HxW bool union of the strokes' discs and bodies (that is, of their capsules)."""
    vertices, vertex_radii, starts, ends, segment_radii = _pieces(strokes)
    spans = [_disc_spans(vertices, vertex_radii, height), _body_spans(starts, ends, segment_radii, height)]
    row, left, right = (np.concatenate(parts) for parts in zip(*spans, strict=True))
    covered = np.zeros((height, width), dtype=bool)
    if not len(row):
        return covered
    # Work inside the strokes' bounding box (every capsule lies within its radius of a vertex).
    reach = float(vertex_radii.max()) + 1
    c0 = int(np.clip(np.floor(vertices[:, 0].min() - reach), 0, width))
    c1 = int(np.clip(np.ceil(vertices[:, 0].max() + reach), c0, width))
    r0, r1 = int(row.min()), int(row.max()) + 1
    # Pixel j is covered when its centre j + 0.5 lies in [left, right]. An empty span
    # gets last = first - 1, so its +1 and -1 below cancel: no filtering needed.
    first = np.clip(np.ceil(left - 0.5), c0, c1).astype(np.int64)
    last = np.maximum(np.clip(np.floor(right - 0.5), c0 - 1, c1 - 1).astype(np.int64), first - 1)
    # A difference array over that box (one spare column), then a running sum along each row.
    span = c1 - c0 + 1
    base = (row - r0) * span - c0
    size = (r1 - r0) * span
    diff = np.bincount(base + first, minlength=size) - np.bincount(base + last + 1, minlength=size)
    covered[r0:r1, c0:c1] = (np.cumsum(diff.reshape(r1 - r0, span), axis=1) > 0)[:, :-1]
    return covered


def rasterize(strokes: Iterable[Stroke], size: tuple[int, int], base: Mask | None = None) -> Mask:
    """Apply ``strokes`` in order on top of ``base`` (or an empty mask) of ``size`` = (width, height)."""
    width, height = size
    if base is not None and base.size != (width, height):
        raise ValueError(f"the base mask is {base.size[0]}x{base.size[1]}, not {width}x{height}")
    region = base.region.copy() if base is not None else np.zeros((height, width), dtype=bool)
    # Strokes of one mode in a row commute, so each run is filled in one pass.
    for mode, run in groupby(strokes, key=lambda s: s.mode):
        covered = _cover(list(run), width, height)
        if mode == "paint":
            region |= covered
        else:
            region &= ~covered
    return Mask(region)
