"""Brush strokes become exactly the pixels whose centres lie within the brush radius of the stroke."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anyfast_widget import Mask
from anyfast_widget._strokes import Stroke, rasterize

WIDTH, HEIGHT = 48, 36


def brute_force(strokes, width=WIDTH, height=HEIGHT, base=None):
    """The definition, pixel by pixel: distance from each pixel centre to each segment."""
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    region = np.zeros((height, width), bool) if base is None else base.copy()
    for stroke in strokes:
        pts = stroke.points
        pairs = list(zip(pts[:-1], pts[1:], strict=True)) or [(pts[0], pts[0])]
        distance = np.full((height, width), np.inf)
        for a, b in pairs:
            ab = b - a
            length2 = ab @ ab
            t = np.clip(((xx - a[0]) * ab[0] + (yy - a[1]) * ab[1]) / length2, 0, 1) if length2 else 0.0
            distance = np.minimum(distance, np.hypot(xx - (a[0] + t * ab[0]), yy - (a[1] + t * ab[1])))
        covered = distance <= stroke.radius
        region = region | covered if stroke.mode == "paint" else region & ~covered
    return region


coordinate = st.one_of(
    st.floats(-8, WIDTH + 8, allow_nan=False),
    st.integers(-8, WIDTH + 8).map(float),  # whole pixels: horizontal and vertical segments, centres on edges
)
strokes = st.lists(
    st.builds(
        Stroke,
        points=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=6).map(np.array),
        radius=st.floats(0.3, 12),
        mode=st.sampled_from(["paint", "paint", "erase"]),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(strokes)
def test_rasterized_strokes_match_the_definition_exactly(strokes):
    assert np.array_equal(rasterize(strokes, (WIDTH, HEIGHT)).region, brute_force(strokes))


def test_strokes_apply_in_order_on_top_of_a_base_mask():
    base = np.zeros((HEIGHT, WIDTH), bool)
    base[:, :10] = True
    paint = Stroke(np.array([[5.0, 18.0], [40.0, 18.0]]), 4.0)
    erase = Stroke(np.array([[20.0, 0.0], [20.0, 36.0]]), 3.0, "erase")
    mask = rasterize([paint, erase], (WIDTH, HEIGHT), base=Mask(base))
    assert np.array_equal(mask.region, brute_force([paint, erase], base=base))
    assert mask.region[18, 30] and not mask.region[18, 20] and mask.region[0, 0]
    assert rasterize([erase, paint], (WIDTH, HEIGHT)).region[18, 20], "painting after erasing paints"


def test_json_from_the_frontend():
    stroke = Stroke.from_json({"points": [1, 2, 3, 4.5], "radius": 2, "mode": "erase"})
    assert stroke.points.tolist() == [[1, 2], [3, 4.5]] and stroke.mode == "erase"
    assert Stroke.from_json(stroke.to_json()).points.tolist() == stroke.points.tolist()
    for bad in ({"points": [], "radius": 2}, {"points": [1, 2], "radius": 0}, {"points": [1, 2], "radius": 2, "mode": "x"}):
        with pytest.raises(ValueError):
            Stroke.from_json(bad)


def test_a_base_mask_of_another_size_is_refused():
    with pytest.raises(ValueError, match="10x10"):
        rasterize([], (WIDTH, HEIGHT), base=Mask(np.zeros((10, 10), bool)))
