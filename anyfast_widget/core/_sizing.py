"""The output size an edit asks for when the user chose none: the source's own, or the nearest valid one of its shape.

An edit's result is most useful at the source's size, so that is what is asked for
when the API takes it. When it does not (a photo of 3000x2000 is not a multiple of
16; 500x500 is too small), the answer is the valid size whose aspect is nearest
the source's (clamped to the API's 3:1) and whose area is nearest its area (clamped
to the API's pixel range); aspect counts four times as much as area, so a shape is kept
and only its scale gives way. The valid sizes are few (~14,000) and fixed, so they are
scored all at once with numpy and each answer is cached: the studio asks at every
settings refresh.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from ._rules import MAX_PIXELS, MAX_RATIO, MIN_PIXELS, _valid_sizes, is_valid_size

_ASPECT_WEIGHT = 4.0  # how much more an aspect's error counts than an area's (both as |log| of the ratio)


@functools.cache
def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    sizes = np.array(_valid_sizes(), dtype=np.int64)
    w, h = sizes[:, 0], sizes[:, 1]
    return sizes, np.log(w / h), np.log(w * h), w * h


def edit_size(width: int, height: int) -> tuple[int, int]:
    """The size (w, h) an edit of a ``width`` x ``height`` source asks for when none is chosen.

    The source's own size when it is a valid API size; else the valid size nearest
    in aspect (the source's, clamped to 3:1) and then in area (clamped to the pixel
    range). Raises ValueError unless both edges are positive whole numbers.
    """
    for edge in (width, height):
        if not isinstance(edge, numbers.Integral) or isinstance(edge, bool) or edge <= 0:
            raise ValueError(f"edit_size takes two positive whole numbers, not {width!r} x {height!r}")
    return _edit_size(int(width), int(height))


@functools.lru_cache(maxsize=1024)
def _edit_size(width: int, height: int) -> tuple[int, int]:
    if is_valid_size(width, height):
        return width, height
    aspect = min(max(math.log(width / height), -math.log(MAX_RATIO)), math.log(MAX_RATIO))
    area = math.log(min(max(width * height, MIN_PIXELS), MAX_PIXELS))
    sizes, aspects, areas, pixels = _table()
    cost = _ASPECT_WEIGHT * np.abs(aspects - aspect) + np.abs(areas - area)
    # Ties (rare) go to the larger size, then the wider: the same answer every time.
    best = np.lexsort((-sizes[:, 0], -pixels, np.round(cost, 12)))[0]
    return int(sizes[best, 0]), int(sizes[best, 1])
