"""Brush strokes rasterized into a Mask at full resolution, exactly and fast.

A stroke is a polyline in source-pixel coordinates with a radius and a mode (paint
adds to the editable region, erase removes from it), drawn with round caps and
joins like an HTML canvas path with ``lineCap = lineJoin = "round"``. A pixel is
covered when its centre lies within ``radius`` of the polyline, which is what the
canvas shows once its anti-aliased edge is cut at half coverage.

The frontend's mask edits (strokes, ``clear``, ``invert``) are checked and applied
in :mod:`._mask_edits`; a single stroke applied in place touches only its bounding
box.

How it stays fast and exact
---------------------------
Each segment with its radius is a capsule, a convex shape, so it meets every pixel
row in one interval, whose ends come in closed form from the capsule's two end
discs and its two side lines. A 200-point stroke of radius 40 is ~200 capsules
over ~100 rows each, though, and nearly all of those intervals lie deep inside the
neighbouring capsules. So rows are taken in bands of ``_BAND``: per (capsule, band)
the intervals at the band's first and last rows give, by convexity, an *inner*
interval (covered on every row of the band) and, with the capsule's leftmost and
rightmost points, an *outer* one (everything it could cover there). A capsule whose
outer interval lies inside the union of the band's inner intervals adds nothing
and is dropped; only the rest (the ones on the stroke's edge) are worked out row by
row. The inner unions, which are certain, are kept as they are.

Exactness: interval ends are computed in closed form; the few that fall within
``_MARGIN`` of a pixel centre (ties, such as a centre exactly ``radius`` from a
vertical edge), and the rows of nearly-but-not-quite level segments (whose side
lines are ill-conditioned), are settled by evaluating the definition itself,
distance to the segment's closest point <= radius, pixel by pixel. The pruning
tests keep ``_MARGIN`` clear of every decision, so they never decide a tie.

The intervals of a run of same-mode strokes are then sorted, merged per row and
written as runs of False/True (``np.repeat``) into the strokes' bounding box.
Work is done in chunks of ``_CHUNK`` so that temporaries stay small and in cache.
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



_BAND = 16  # rows per band for the pruning pass
_CHUNK = 8192  # elements per working array: small temporaries stay in cache and off the page-fault path
_MARGIN = 1e-5  # pixels: a computed end this near a pixel centre is settled by the definition itself
_LEVEL = 1e-6  # a segment rising less than this per unit length has ill-conditioned side lines


class _Capsules:
    """Segments (or single points) with their radii, and what the row intervals need of each."""

    def __init__(self, p: np.ndarray, q: np.ndarray, radius: np.ndarray) -> None:
        # As given, for the definition itself (distance to the segment p-q).
        self.px, self.py, self.qx, self.qy, self.r = p[:, 0], p[:, 1], q[:, 0], q[:, 1], radius
        # Ordered bottom-up (a above b in y, i.e. ay <= by) for the closed forms.
        swap = q[:, 1] < p[:, 1]
        a, b = np.where(swap[:, None], q, p), np.where(swap[:, None], p, q)
        self.ax, self.ay, self.bx, self.by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
        self.r2 = radius * radius
        dx, dy = self.bx - self.ax, self.by - self.ay
        length = np.hypot(dx, dy)
        sloped = dy > _LEVEL * length
        # A level segment's side lines are rows of their own, inside the hull of the end
        # discs' chords; a nearly level one's are ill-conditioned (see _spans).
        self.near_level = (dy > 0) & ~sloped
        safe_dy, safe_length = np.where(sloped, dy, 1.0), np.where(sloped, length, 1.0)
        # Side lines: x = ax + k (y - ay) -+ w, the left one for y - ay in [s, dy + s],
        # the right one for y - ay in [-s, dy - s] (empty ranges when not sloped).
        self.k = np.where(sloped, dx / safe_dy, 0.0)
        self.w = np.where(sloped, radius / (safe_dy / safe_length), 0.0)  # exactly r when upright
        s = np.where(sloped, radius * dx / safe_length, 0.0)
        self.left_lo, self.left_hi = np.where(sloped, s, np.inf), np.where(sloped, dy + s, -np.inf)
        self.right_lo, self.right_hi = np.where(sloped, -s, np.inf), np.where(sloped, dy - s, -np.inf)
        # Extremes: rows, and the leftmost and rightmost points with their heights.
        self.top, self.bottom = self.ay - radius, self.by + radius
        a_left = self.ax <= self.bx
        self.xmin, self.xmin_y = np.minimum(self.ax, self.bx) - radius, np.where(a_left, self.ay, self.by)
        self.xmax, self.xmax_y = np.maximum(self.ax, self.bx) + radius, np.where(a_left, self.by, self.ay)

    @classmethod
    def of(cls, strokes: Sequence[Stroke]) -> _Capsules:
        p = np.concatenate([s.points[:-1] if len(s.points) > 1 else s.points for s in strokes])
        q = np.concatenate([s.points[1:] if len(s.points) > 1 else s.points for s in strokes])
        r = np.concatenate([np.full(max(len(s.points) - 1, 1), float(s.radius)) for s in strokes])
        return cls(p, q, r)

    def section(self, c: np.ndarray, yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The interval [left, right] of capsule ``c`` on the line y = ``yc`` (NaN where empty).

        Its ends are among the end discs' chord ends and the side lines' crossings, so
        it is the hull of those that exist (``fmin``/``fmax`` skip the NaN of the rest).
        """
        with np.errstate(invalid="ignore"):
            va = yc - self.ay[c]
            vb = yc - self.by[c]
            r2 = self.r2[c]
            ha = np.sqrt(r2 - va * va)
            hb = np.sqrt(r2 - vb * vb)
            ax, bx = self.ax[c], self.bx[c]
            left = np.fmin(ax - ha, bx - hb)
            right = np.fmax(ax + ha, bx + hb)
            centre = ax + self.k[c] * va
            w = self.w[c]
            on = (va >= self.left_lo[c]) & (va <= self.left_hi[c])
            np.fmin(left, np.where(on, centre - w, np.nan), out=left)
            on = (va >= self.right_lo[c]) & (va <= self.right_hi[c])
            np.fmax(right, np.where(on, centre + w, np.nan), out=right)
        return left, right

    def covers(self, c: np.ndarray, xc: np.ndarray, yc: np.ndarray) -> np.ndarray:
        """The definition, evaluated: the point's distance to the segment's closest point <= radius."""
        a0, a1, b0, b1 = self.px[c], self.py[c], self.qx[c], self.qy[c]
        d0, d1 = b0 - a0, b1 - a1
        length2 = d0 * d0 + d1 * d1
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(length2 > 0, np.clip(((xc - a0) * d0 + (yc - a1) * d1) / length2, 0, 1), 0.0)
        return np.hypot(xc - (a0 + t * d0), yc - (a1 + t * d1)) <= self.r[c]

    def spans(self, c: np.ndarray, row: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """First and last covered pixel of capsule ``c`` on ``row`` (first > last when none), within [0, width)."""
        yc = row + 0.5
        left, right = self.section(c, yc)
        lo, hi = left - 0.5, right - 0.5
        first, last = np.ceil(lo), np.floor(hi)
        with np.errstate(invalid="ignore"):
            unsure = ~((np.abs(lo - np.rint(lo)) >= _MARGIN) & (np.abs(hi - np.rint(hi)) >= _MARGIN))  # NaN too
            if self.near_level.any():
                # A nearly level segment's side lines run within dy of y - ay = +-r.
                va = np.abs(yc - self.ay[c])
                reach = self.by[c] - self.ay[c] + _MARGIN * (1 + va)
                unsure |= self.near_level[c] & (np.abs(va - self.r[c]) <= reach)
        first = np.clip(np.nan_to_num(first, nan=width), 0, width).astype(np.int64)
        last = np.clip(np.nan_to_num(last, nan=-1), -1, width - 1).astype(np.int64)
        some = np.flatnonzero(unsure)
        if len(some):
            first[some], last[some] = self._settle(c[some], yc[some], width)
        return first, last

    def _settle(self, c: np.ndarray, yc: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """First and last pixel by the definition, over each capsule's whole width (rare: ties)."""
        x0 = np.clip(np.floor(self.xmin[c]) - 1, 0, width).astype(np.int64)
        x1 = np.clip(np.ceil(self.xmax[c]) + 1, -1, width - 1).astype(np.int64)
        n = np.maximum(x1 - x0 + 1, 0)
        owner = np.repeat(np.arange(len(c)), n)
        x = np.arange(int(n.sum()), dtype=np.int64) + np.repeat(x0 - (np.cumsum(n) - n), n)
        hit = self.covers(c[owner], x + 0.5, yc[owner])
        first, last = np.full(len(c), width, np.int64), np.full(len(c), -1, np.int64)
        np.minimum.at(first, owner[hit], x[hit])
        np.maximum.at(last, owner[hit], x[hit])
        return first, last


def _expand(counts: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with ``counts[i]`` consecutive values from ``starts[i]``: (item of each, value of each)."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    value = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return owner, value


def _chunks(counts: np.ndarray) -> list[tuple[int, int]]:
    """Split items into consecutive ranges whose counts sum to about ``_CHUNK`` each."""
    ends = np.searchsorted(np.cumsum(counts), np.arange(_CHUNK, int(counts.sum()), _CHUNK), "right")
    bounds = np.unique(np.concatenate([[0], ends, [len(counts)]]))
    return [(int(i), int(j)) for i, j in zip(bounds[:-1], bounds[1:]) if j > i]


def _cover_spans(caps: _Capsules, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, first, last) pixel spans whose union is the union of the capsules (spans may overlap)."""
    empty = np.zeros(0, np.int64)
    top = np.clip(np.ceil(caps.top - 0.5), 0, height).astype(np.int64)
    bottom = np.clip(np.floor(caps.bottom - 0.5), -1, height - 1).astype(np.int64)
    on_image = (top <= bottom) & (caps.xmax > -1) & (caps.xmin < width + 1)
    cap = np.flatnonzero(on_image)
    if not len(cap):
        return empty, empty, empty
    top, bottom = top[cap], bottom[cap]
    band0 = int(top.min()) // _BAND
    bands = int(bottom.max()) // _BAND - band0 + 1
    kw = width + 2  # key stride per band: pixel columns -1 .. width
    first_band, last_band = top // _BAND, bottom // _BAND
    per_cap = last_band - first_band + 1

    # Pass 1: per (capsule, band), the inner and outer intervals.
    pair_cap, pair_band, pair_lo, pair_hi, inner = [], [], [], [], []
    for i, j in _chunks(per_cap):
        owner, band = _expand(per_cap[i:j], first_band[i:j])
        c = cap[i:j][owner]
        t, b = top[i:j][owner], bottom[i:j][owner]
        y1 = np.maximum(band * _BAND, t)
        y2 = np.minimum(band * _BAND + _BAND - 1, b)
        whole = (y1 == band * _BAND) & (y2 == np.minimum(band * _BAND + _BAND - 1, height - 1))
        y1c, y2c = y1 + 0.5, y2 + 0.5
        l1, r1 = caps.section(c, y1c)
        l2, r2 = caps.section(c, y2c)
        with np.errstate(invalid="ignore"):
            # Inner: by convexity, covered on every row from y1 to y2 (NaN: nothing sure).
            fi = np.maximum(np.ceil(np.maximum(l1, l2) + _MARGIN - 0.5), 0)
            li = np.minimum(np.floor(np.minimum(r1, r2) - _MARGIN - 0.5), width - 1)
            ok = whole & (fi <= li) & ~caps.near_level[c]
            # Outer: the interval ends are convex/concave in y, so the extremes over the
            # band are at its ends or at the capsule's leftmost/rightmost point.
            lo = np.fmin(l1, l2)
            hi = np.fmax(r1, r2)
            ymin, ymax = caps.xmin_y[c], caps.xmax_y[c]
            lo = np.where((ymin >= y1c) & (ymin <= y2c), caps.xmin[c], lo)
            hi = np.where((ymax >= y1c) & (ymax <= y2c), caps.xmax[c], hi)
            # (On the image only; NaN, which rounding can leave at a capsule's very top
            # or bottom row, counts as everything.)
            lo = np.nan_to_num(np.clip(np.ceil(lo - _MARGIN - 0.5), 0, width), nan=0)
            hi = np.nan_to_num(np.clip(np.floor(hi + _MARGIN - 0.5), -1, width - 1), nan=width - 1)
        rel = band - band0
        fi, li = fi[ok].astype(np.int64), li[ok].astype(np.int64)
        inner.append((rel[ok] * kw + fi) * kw + li)  # sortable: band, then first
        pair_cap.append(c)
        pair_band.append(rel)
        pair_lo.append(rel * kw + lo.astype(np.int64) + 1)
        pair_hi.append(rel * kw + hi.astype(np.int64) + 1)

    # The union of inner intervals per band: merged, and painted into a lookup of
    # which merged interval holds each (band, column), -1 for none.
    keys = np.sort(np.concatenate(inner))
    band_first = keys // kw
    band_last = (keys // (kw * kw)) * kw + keys % kw
    reach = np.maximum.accumulate(band_last)
    new = np.ones(len(keys), bool)
    new[1:] = band_first[1:] > reach[:-1] + 1
    heads = np.flatnonzero(new)
    u_first = band_first[heads] + 1  # in lookup columns (pixel + 1)
    u_last = reach[np.append(heads[1:] - 1, len(keys) - 1)] + 1 if len(keys) else heads
    edges = np.empty(2 * len(heads) + 2, np.int64)
    edges[0], edges[-1] = 0, bands * kw
    edges[1:-1:2], edges[2:-1:2] = u_first, u_last + 1
    ids = np.full(2 * len(heads) + 1, -1, np.int32)
    ids[1::2] = np.arange(len(heads), dtype=np.int32)
    lookup = np.repeat(ids, np.diff(edges))

    # Pass 2: drop the (capsule, band) pairs inside that union; the rest, row by row.
    rows, firsts, lasts = [], [], []
    keep_cap, keep_band = [], []
    for c, rel, lo, hi in zip(pair_cap, pair_band, pair_lo, pair_hi, strict=True):
        held = lookup[lo]
        keep = (held < 0) | (lookup[hi] != held)
        keep &= hi >= lo  # an empty outer interval holds nothing
        keep |= caps.near_level[c]
        keep_cap.append(c[keep])
        keep_band.append(rel[keep])
    kc, kb = np.concatenate(keep_cap), np.concatenate(keep_band) + band0
    if len(kc):
        t = np.maximum(kb * _BAND, np.clip(np.ceil(caps.top[kc] - 0.5), 0, height).astype(np.int64))
        b = np.minimum(kb * _BAND + _BAND - 1, np.clip(np.floor(caps.bottom[kc] - 0.5), -1, height - 1).astype(np.int64))
        per_pair = np.maximum(b - t + 1, 0)
        for i, j in _chunks(per_pair):
            owner, row = _expand(per_pair[i:j], t[i:j])
            first, last = caps.spans(kc[i:j][owner], row, width)
            rows.append(row)
            firsts.append(first)
            lasts.append(last)
    # The merged inner intervals hold on every row of their band.
    u_band = u_first // kw
    u_top = (u_band + band0) * _BAND
    u_rows = np.minimum(u_top + _BAND, height) - u_top
    owner, row = _expand(u_rows, u_top)
    rows.append(row)
    firsts.append(u_first[owner] - u_band[owner] * kw - 1)
    lasts.append(u_last[owner] - u_band[owner] * kw - 1)
    return np.concatenate(rows), np.concatenate(firsts), np.concatenate(lasts)


def _block(row: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[slice, slice, np.ndarray] | None:
    """The spans' union as a bool block and where it goes: (rows, columns, block)."""
    some = first <= last
    row, first, last = row[some], first[some], last[some]
    if not len(row):
        return None
    r0, r1 = int(row.min()), int(row.max()) + 1
    c0, c1 = int(first.min()), int(last.max()) + 1
    kw = c1 - c0 + 1
    # Sort by (row, first) with last along, in one int64 key; merge overlapping or
    # touching spans per row (a running max of their row-offset ends).
    keys = np.sort(((row - r0) * kw + (first - c0)) * kw + (last - c0))
    start = keys // kw  # row * kw + first
    end = (keys // (kw * kw)) * kw + keys % kw  # row * kw + last
    reach = np.maximum.accumulate(end)
    new = np.ones(len(keys), bool)
    new[1:] = start[1:] > reach[:-1] + 1
    heads = np.flatnonzero(new)
    m_row = start[heads] // kw
    m_first = start[heads] - m_row * kw
    m_last = reach[np.append(heads[1:] - 1, len(keys) - 1)] - m_row * kw
    # Runs of False and True over the block, row-major with width c1 - c0.
    bw = c1 - c0
    edges = np.empty(2 * len(heads) + 2, np.int64)
    edges[0], edges[-1] = 0, (r1 - r0) * bw
    edges[1:-1:2] = m_row * bw + m_first
    edges[2:-1:2] = m_row * bw + m_last + 1
    values = np.zeros(2 * len(heads) + 1, bool)
    values[1::2] = True
    block = np.repeat(values, np.diff(edges)).reshape(r1 - r0, bw)
    return slice(r0, r1), slice(c0, c1), block


def _apply_strokes(region: np.ndarray, strokes: Sequence[Stroke], mode: str) -> None:
    """Paint or erase the union of ``strokes`` into ``region`` in place."""
    height, width = region.shape
    placed = _block(*_cover_spans(_Capsules.of(strokes), width, height))
    if placed is None:
        return
    rows, cols, block = placed
    view = region[rows, cols]
    if mode == "paint":
        np.logical_or(view, block, out=view)
    else:
        np.logical_and(view, ~block, out=view)


def apply_in_order(region: np.ndarray, ops: Sequence[Stroke | str]) -> None:
    """Apply parsed ops in order to ``region`` in place; runs of same-mode strokes commute, so go together."""
    for kind, run in groupby(ops, key=lambda op: op if isinstance(op, str) else op.mode):
        if kind == "clear":
            region[...] = False
        elif kind == "invert":
            if sum(1 for _ in run) % 2:
                np.logical_not(region, out=region)
        else:
            _apply_strokes(region, list(run), kind)  # type: ignore[arg-type]


def start_region(size: tuple[int, int], base: Mask | None) -> np.ndarray:
    width, height = size
    if base is not None and base.size != (width, height):
        raise ValueError(f"the base mask is {base.size[0]}x{base.size[1]}, not {width}x{height}")
    return base.region.copy() if base is not None else np.zeros((height, width), dtype=bool)


def rasterize(strokes: Iterable[Stroke], size: tuple[int, int], base: Mask | None = None) -> Mask:
    """Apply ``strokes`` in order on top of ``base`` (or an empty mask) of ``size`` = (width, height)."""
    region = start_region(size, base)
    apply_in_order(region, list(strokes))
    return Mask(region)
