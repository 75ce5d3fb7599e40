"""Brush strokes become exactly the pixels whose centres lie within the brush radius of the stroke."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from anyfast_widget import Mask
from anyfast_widget.core._strokes import Stroke, rasterize

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
# Centres exactly `radius` from an upright edge (r * L / L is not always r in floats).
@example([Stroke(np.array([(0.0, 0.0), (0.0, 21.891018535040978)]), 1.5)])
@example([Stroke(np.array([(0.0, 4.0), (16.0, -8.0)]), 0.5)])  # a 3-4-5 slope: ties on the side lines
@example([Stroke(np.array([(47.0, 0.0), (50.0, 15.0)]), 2.0)])
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


# -- ops, as the frontend sends them ----------------------------------------------

from anyfast_widget.core._mask_edits import apply_op, apply_ops, parse_op  # noqa: E402


def stroke_op(stroke: Stroke) -> dict:
    return {"op": "stroke", **stroke.to_json()}


def reference(ops, width=WIDTH, height=HEIGHT, base=None):
    """apply_ops by the definition: brute force per stroke, clear and invert by hand."""
    region = np.zeros((height, width), bool) if base is None else base.copy()
    for op in ops:
        if op["op"] == "clear":
            region[:] = False
        elif op["op"] == "invert":
            region = ~region
        else:
            region = brute_force([Stroke.from_json(op)], width, height, base=region)
    return region


ops_lists = st.lists(
    st.one_of(
        strokes.map(lambda s: stroke_op(s[0])),
        strokes.map(lambda s: stroke_op(s[0])),
        st.just({"op": "clear"}),
        st.just({"op": "invert"}),
    ),
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(ops_lists, st.booleans())
def test_ops_one_at_a_time_equal_all_at_once_and_the_definition(ops, with_base):
    base = np.zeros((HEIGHT, WIDTH), bool)
    if with_base:
        base[5:20, 3:30] = True
    whole = apply_ops(ops, (WIDTH, HEIGHT), base=Mask(base) if with_base else None).region
    region = base.copy()
    for op in ops:
        apply_op(region, op)
    assert np.array_equal(region, whole)
    assert np.array_equal(whole, reference(ops, base=base))


def test_clear_empties_everything_including_the_base_and_invert_swaps():
    base = np.zeros((HEIGHT, WIDTH), bool)
    base[:, :10] = True
    paint = stroke_op(Stroke(np.array([[20.0, 18.0], [40.0, 18.0]]), 4.0))
    assert not apply_ops([{"op": "clear"}], (WIDTH, HEIGHT), base=Mask(base)).region.any()
    after = apply_ops([paint, {"op": "clear"}, paint], (WIDTH, HEIGHT), base=Mask(base)).region
    assert np.array_equal(after, brute_force([Stroke.from_json(paint)]))
    inverted = apply_ops([{"op": "invert"}], (WIDTH, HEIGHT), base=Mask(base)).region
    assert np.array_equal(inverted, ~base)
    twice = apply_ops([paint, {"op": "invert"}, {"op": "invert"}], (WIDTH, HEIGHT), base=Mask(base)).region
    assert np.array_equal(twice, apply_ops([paint], (WIDTH, HEIGHT), base=Mask(base)).region)
    # Erasing after an invert removes from the swapped region.
    erase = {**paint, "mode": "erase"}
    region = apply_ops([{"op": "invert"}, erase], (WIDTH, HEIGHT)).region
    assert np.array_equal(region, ~brute_force([Stroke.from_json(paint)]))


def test_apply_op_paints_in_place_and_leaves_the_rest_alone():
    region = np.zeros((HEIGHT, WIDTH), bool)
    region[0, 0] = region[-1, -1] = True
    op = {"op": "stroke", "points": [20, 18, 30, 20], "radius": 3, "mode": "paint"}
    expected = brute_force([Stroke.from_json(op)], base=region)
    apply_op(region, op)
    assert np.array_equal(region, expected) and region[0, 0] and region[-1, -1]


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ("stroke", "JSON object"),
        ({"points": [1, 2], "radius": 2}, "'op'"),
        ({"op": "paint"}, "'op'"),
        ({"op": "stroke", "radius": 2}, "'points'"),
        ({"op": "stroke", "points": [1, 2]}, "'radius'"),
        ({"op": "stroke", "points": [], "radius": 2}, "non-empty"),
        ({"op": "stroke", "points": [1, 2, 3], "radius": 2}, "even"),
        ({"op": "stroke", "points": "1,2", "radius": 2}, "flat list"),
        ({"op": "stroke", "points": [1, "2"], "radius": 2}, "numbers"),
        ({"op": "stroke", "points": [1, True], "radius": 2}, "numbers"),
        ({"op": "stroke", "points": [1, float("nan")], "radius": 2}, "finite"),
        ({"op": "stroke", "points": [1, 2], "radius": "2"}, "radius"),
        ({"op": "stroke", "points": [1, 2], "radius": 0}, "radius"),
        ({"op": "stroke", "points": [1, 2], "radius": float("inf")}, "radius"),
        ({"op": "stroke", "points": [1, 2], "radius": 2, "mode": "smudge"}, "mode"),
    ],
)
def test_malformed_ops_say_what_is_wrong(op, message):
    with pytest.raises(ValueError, match=message):
        parse_op(op)
    with pytest.raises(ValueError, match=message):
        apply_ops([{"op": "clear"}, op], (WIDTH, HEIGHT))
    region = np.zeros((HEIGHT, WIDTH), bool)
    with pytest.raises(ValueError, match=message):
        apply_op(region, op)
    assert not region.any()


def test_apply_op_wants_a_writeable_bool_region():
    with pytest.raises(ValueError, match="writeable"):
        apply_op(Mask.empty((WIDTH, HEIGHT)).region, {"op": "clear"})
    with pytest.raises(ValueError, match="bool"):
        apply_op(np.zeros((HEIGHT, WIDTH), np.uint8), {"op": "clear"})


def _walks(rng, count, width, height, step, radii):
    result = []
    for _ in range(count):
        start = rng.uniform((0, 0), (width, height))
        points = start + np.cumsum(rng.normal(0, step, (rng.integers(1, 60), 2)), axis=0)
        result.append(Stroke(points, float(rng.uniform(*radii)), "erase" if rng.random() < 0.3 else "paint"))
    return result


@pytest.mark.parametrize("seed", range(4))
def test_long_strokes_on_a_larger_image_match_the_definition(seed):
    """Many overlapping capsules over many row bands: the pruning of hidden ones at work."""
    rng = np.random.default_rng(seed)
    width, height = 160, 120
    strokes_ = _walks(rng, 6, width, height, step=6.0, radii=(1.0, 25.0))
    assert np.array_equal(rasterize(strokes_, (width, height)).region, brute_force(strokes_, width, height))


def test_huge_and_far_away_strokes():
    width, height = 40, 30
    strokes_ = [
        Stroke(np.array([[-1e6, -1e6], [1e6, 1e6 + 3]]), 2.5),
        Stroke(np.array([[1e9, 5.0]]), 1e9 - 20.2),
        Stroke(np.array([[10.0, 1e7], [11.0, -1e7]]), 1.5, "erase"),
        Stroke(np.array([[5.0, 5.0], [30.0, 5.0 + 1e-12]]), 4.5),  # nearly level: ill-conditioned sides
    ]
    assert np.array_equal(rasterize(strokes_, (width, height)).region, brute_force(strokes_, width, height))
