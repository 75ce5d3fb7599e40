"""Selections cover exactly the pixels whose centres lie inside the shape, edges included; colour select the matching pixels."""

from __future__ import annotations

import time
from collections import deque
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from anyfast_widget.core import Mask, apply_op, apply_ops, edit_box

WIDTH, HEIGHT = 24, 18


def covered(op, width=WIDTH, height=HEIGHT, image=None):
    return apply_ops([op], (width, height), image=image).region


# -- the definitions, in exact arithmetic, pixel by pixel ---------------------------------


def centres(width, height):
    return [(Fraction(2 * i + 1, 2), Fraction(2 * j + 1, 2), i, j) for j in range(height) for i in range(width)]


def rect_reference(box, width=WIDTH, height=HEIGHT):
    x0, y0, x1, y1 = (Fraction(str(v)) for v in box)  # the decimals the browser sends
    out = np.zeros((height, width), bool)
    for x, y, i, j in centres(width, height):
        out[j, i] = min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1)
    return out


def ellipse_reference(box, width=WIDTH, height=HEIGHT):
    x0, y0, x1, y1 = (Fraction(str(v)) for v in box)  # the decimals the browser sends
    cx, cy, a, b = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
    out = np.zeros((height, width), bool)
    for x, y, i, j in centres(width, height):
        if a and b:
            out[j, i] = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1
        else:  # a flat box: the segment (or point) it collapses to
            out[j, i] = abs(x - cx) <= a and abs(y - cy) <= b and (a > 0 or x == cx) and (b > 0 or y == cy)
    return out


def on_segment(x, y, a, b):
    (ax, ay), (bx, by) = a, b
    cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
    return cross == 0 and min(ax, bx) <= x <= max(ax, bx) and min(ay, by) <= y <= max(ay, by)


def polygon_reference(flat, width=WIDTH, height=HEIGHT):
    """Even-odd ray casting (PNPOLY) for the inside, plus the outline itself."""
    points = [(Fraction(str(flat[k])), Fraction(str(flat[k + 1]))) for k in range(0, len(flat), 2)]
    edges = list(zip(points, points[1:] + points[:1], strict=True))
    out = np.zeros((height, width), bool)
    for x, y, i, j in centres(width, height):
        if any(on_segment(x, y, a, b) for a, b in edges):
            out[j, i] = True
            continue
        inside = False
        for (ax, ay), (bx, by) in edges:
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                inside = not inside
        out[j, i] = inside
    return out


def color_reference(pixels, point, tolerance, contiguous):
    rgba = pixels if pixels.shape[2] == 4 else np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])
    column, row = int(np.floor(point[0])), int(np.floor(point[1]))
    near = (np.abs(rgba.astype(int) - rgba[row, column].astype(int)) <= tolerance).all(axis=2)
    if not contiguous:
        return near
    seen = np.zeros_like(near)
    seen[row, column] = True
    todo = deque([(row, column)])
    while todo:
        r, c = todo.popleft()
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < near.shape[0] and 0 <= cc < near.shape[1] and near[rr, cc] and not seen[rr, cc]:
                seen[rr, cc] = True
                todo.append((rr, cc))
    return seen


def reference(op, region, pixels=None):
    if op["op"] == "clear":
        return np.zeros_like(region)
    if op["op"] == "invert":
        return ~region
    if op["op"] == "color":
        shape = color_reference(pixels, op["point"], op["tolerance"], op["contiguous"])
    else:
        shape = {"rect": rect_reference, "ellipse": ellipse_reference}.get(op["op"], None)
        shape = shape(op["box"]) if shape else polygon_reference(op["points"])
    return region | shape if op.get("mode", "paint") == "paint" else region & ~shape


# -- what a user checks -----------------------------------------------------------------


def test_a_rect_covers_the_pixels_whose_centres_lie_in_the_box_edges_included():
    region = covered({"op": "rect", "box": [2, 3, 5.5, 6.5]})
    assert region.sum() == 16  # columns 2..5 (centre 5.5 on the edge) x rows 3..6 (centre 6.5 on the edge)
    assert region[3:7, 2:6].all() and region[6, 5]
    assert np.array_equal(covered({"op": "rect", "box": [5.5, 6.5, 2, 3]}), region)  # corners in any order
    assert covered({"op": "rect", "box": [10.3, 2.7, 20.3, 12.7]}).sum() == 10 * 10


def test_a_rect_beyond_the_image_is_clipped_and_one_outside_it_covers_nothing():
    assert covered({"op": "rect", "box": [-100, -100, 1000, 1000]}).all()
    assert not covered({"op": "rect", "box": [30, 0, 40, 10]}).any()
    assert not covered({"op": "rect", "box": [3.6, 3.6, 4.4, 4.4]}).any()  # no centre inside


def test_an_ellipse_covers_the_lattice_points_of_its_disc_boundary_included():
    region = covered({"op": "ellipse", "box": [0.5, 0.5, 10.5, 10.5]})  # a circle of radius 5 about (5.5, 5.5)
    assert region.sum() == 81  # the integer points with x² + y² <= 25
    assert region[9, 8] and region[10, 5] and region[5, 0]  # (3, 4), (0, 5), (-5, 0): on the circle
    assert not region[9, 9]  # (4, 4): outside


def test_an_ellipse_has_the_area_of_pi_a_b():
    region = covered({"op": "ellipse", "box": [0, 0, 400, 200]}, 400, 200)
    assert abs(region.sum() - np.pi * 200 * 100) < 0.005 * np.pi * 200 * 100
    assert region[100, 0] and region[100, 399] and region[0, 200] and region[199, 200]


def test_a_polygon_has_the_area_of_its_outline():
    triangle = covered({"op": "polygon", "points": [0, 0, 300, 0, 0, 200]}, 300, 200)
    assert abs(triangle.sum() - 300 * 200 / 2) <= 300 + 200  # within a pixel along the outline


def test_a_polygon_along_a_box_is_the_rect_of_that_box():
    box = [2.5, 3.5, 15.5, 12.5]  # every edge through a row or column of centres
    x0, y0, x1, y1 = box
    polygon = covered({"op": "polygon", "points": [x0, y0, x1, y0, x1, y1, x0, y1]})
    assert np.array_equal(polygon, covered({"op": "rect", "box": box}))
    assert polygon.sum() == 14 * 10


def test_a_self_crossing_polygon_follows_the_even_odd_rule():
    angles = np.pi / 2 + np.arange(5) * 4 * np.pi / 5  # a pentagram, each point joined to the next but one
    points = np.c_[30 + 28 * np.cos(angles), 30 - 28 * np.sin(angles)].ravel().tolist()
    region = covered({"op": "polygon", "points": points}, 60, 60)
    assert not region[30, 30]  # the pentagon in the middle is crossed twice: outside
    assert region[6, 30]  # a point of the star: inside
    assert np.array_equal(region, polygon_reference(points, 60, 60))


def test_colour_select_takes_one_of_two_same_coloured_areas_when_contiguous():
    pixels = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    pixels[:] = (200, 40, 40)
    pixels[:, 11] = (0, 0, 255)  # a blue line splits the red in two
    pixels[2, 3] = (205, 44, 37)  # within 5 of the red on every channel
    pixels[4, 3] = (206, 40, 40)  # 6 off on red
    op = {"op": "color", "point": [7.9, 2.2], "tolerance": 5, "contiguous": True}  # pixel (7, 2)
    left = covered(op, image=pixels)
    assert left[:, :11].sum() == 11 * HEIGHT - 1 and not left[:, 11:].any() and not left[4, 3]
    both = covered({**op, "contiguous": False}, image=Image.fromarray(pixels))
    assert both.sum() == (WIDTH - 1) * HEIGHT - 1 and not both[:, 11].any()
    assert covered({**op, "tolerance": 5.9}, image=pixels)[:, :11].sum() == 11 * HEIGHT - 1  # 5.9 takes what 5 takes


def test_colour_select_compares_alpha_too():
    pixels = np.zeros((4, 4, 4), np.uint8)
    pixels[..., 3] = 255
    pixels[0, :2, 3] = 0  # the same black, transparent
    region = covered({"op": "color", "point": [3, 3], "tolerance": 10, "contiguous": False}, 4, 4, image=pixels)
    assert region.sum() == 14 and not region[0, :2].any()
    la = Image.fromarray(pixels[..., 2:], "LA")  # another mode: read as RGBA
    assert np.array_equal(covered({"op": "color", "point": [3, 3], "tolerance": 10, "contiguous": False}, 4, 4, image=la), region)


def test_colour_select_needs_the_image_at_the_masks_size_and_the_point_on_it():
    op = {"op": "color", "point": [1, 1], "tolerance": 0, "contiguous": True}
    with pytest.raises(ValueError, match="image_required"):
        apply_ops([op], (WIDTH, HEIGHT))
    with pytest.raises(ValueError, match="image_required"):  # even before a clear: one op at a time would refuse it too
        apply_ops([op, {"op": "clear"}], (WIDTH, HEIGHT))
    with pytest.raises(ValueError, match=r"23x18 but the mask is 24x18;.*same_size"):
        apply_ops([op], (WIDTH, HEIGHT), image=np.zeros((HEIGHT, WIDTH - 1, 3), np.uint8))
    with pytest.raises(ValueError, match="same_size"):
        apply_op(np.zeros((HEIGHT, WIDTH), bool), op, image=Image.new("RGB", (WIDTH, HEIGHT + 1)))
    with pytest.raises(ValueError, match="image_type"):
        apply_ops([op], (WIDTH, HEIGHT), image=np.zeros((HEIGHT, WIDTH, 3), np.float32))
    region = np.zeros((HEIGHT, WIDTH), bool)
    for point in ([-0.01, 3], [24, 3], [3, 18.5]):
        with pytest.raises(ValueError, match="point_inside"):
            apply_op(region, {**op, "point": point}, image=np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    assert not region.any()
    assert apply_op(region, {"op": "rect", "box": [0, 0, 3, 3]}) is None and region.sum() == 9  # no image needed


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "rect"}, "needs 'box'"),
        ({"op": "rect", "box": [0, 0, 1, 1], "radius": 3}, "only the keys"),
        ({"op": "rect", "box": [0, 0, 1]}, "four numbers"),
        ({"op": "rect", "box": "0,0,1,1"}, "four numbers"),
        ({"op": "ellipse", "box": [0, 0, 1, True]}, "numbers only"),
        ({"op": "ellipse", "box": [0, 0, 1, float("inf")]}, "finite"),
        ({"op": "ellipse", "box": [0, 0, 1, 10**400]}, "finite"),
        ({"op": "rect", "box": [0, 0, 1, 1], "mode": "add"}, "mode"),
        ({"op": "polygon", "points": [0, 0, 1, 1]}, "at least 3 points"),
        ({"op": "polygon", "points": [0, 0, 1, 1, 2]}, "at least 3 points"),
        ({"op": "polygon", "points": [0, 0, 1, 1, 2, None]}, "numbers only"),
        ({"op": "polygon", "points": [0, 0, 1, 1, 2, float("nan")]}, "finite"),
        ({"op": "color", "point": [1, 1], "tolerance": 3}, "needs 'contiguous'"),
        ({"op": "color", "point": [1, 1], "contiguous": True}, "needs 'tolerance'"),
        ({"op": "color", "point": [1], "tolerance": 3, "contiguous": True}, "two numbers"),
        ({"op": "color", "point": [1, 1], "tolerance": 256, "contiguous": True}, "0 to 255"),
        ({"op": "color", "point": [1, 1], "tolerance": -1, "contiguous": True}, "0 to 255"),
        ({"op": "color", "point": [1, 1], "tolerance": float("nan"), "contiguous": True}, "0 to 255"),
        ({"op": "color", "point": [1, 1], "tolerance": True, "contiguous": True}, "0 to 255"),
        ({"op": "color", "point": [1, 1], "tolerance": 3, "contiguous": 1}, "true or false"),
        ({"op": "color", "point": [1, 1], "tolerance": 3, "contiguous": True, "mode": None}, "mode"),
        ({"op": "clear", "mode": "paint"}, "only the keys"),
    ],
)
def test_malformed_selections_say_what_is_wrong(op, message):
    region = np.zeros((HEIGHT, WIDTH), bool)
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    with pytest.raises(ValueError, match=message):
        apply_ops([{"op": "clear"}, op], (WIDTH, HEIGHT), image=image)
    with pytest.raises(ValueError, match=message):
        apply_op(region, op, image=image)
    with pytest.raises(ValueError, match=message):
        edit_box(op, (WIDTH, HEIGHT))
    assert not region.any()


# -- against the definitions, and one op at a time == all at once --------------------------

quarter = st.integers(-16, 4 * WIDTH + 16).map(lambda v: v / 4)  # ties: centres on edges and vertices
hundredth = st.integers(-400, 100 * WIDTH + 400).map(lambda v: v / 100)  # what the browser sends
coordinate = st.one_of(quarter, hundredth)
box = st.lists(coordinate, min_size=4, max_size=4)
mode = st.sampled_from(["paint", "paint", "erase"])
shape_ops = st.one_of(
    st.builds(lambda b, m: {"op": "rect", "box": b, "mode": m}, box, mode),
    st.builds(lambda b, m: {"op": "ellipse", "box": b, "mode": m}, box, mode),
    st.builds(lambda b: {"op": "ellipse", "box": b}, box),
    st.builds(
        lambda p, m: {"op": "polygon", "points": [v for xy in p for v in xy], "mode": m},
        st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=9),
        mode,
    ),
)
color_ops = st.builds(
    lambda x, y, t, c, m: {"op": "color", "point": [x, y], "tolerance": t, "contiguous": c, "mode": m},
    st.floats(0, WIDTH - 0.01),
    st.floats(0, HEIGHT - 0.01),
    st.one_of(st.integers(0, 40), st.floats(0, 40)),
    st.booleans(),
    mode,
)
stroke_ops = st.builds(
    lambda p, r, m: {"op": "stroke", "points": [v for xy in p for v in xy], "radius": r, "mode": m},
    st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=4),
    st.floats(0.3, 6),
    mode,
)
any_op = st.one_of(shape_ops, color_ops, stroke_ops, st.just({"op": "clear"}), st.just({"op": "invert"}))


def blobs(seed):
    """Three colours in blobs, each with a little noise: colour select has areas to find."""
    rng = np.random.default_rng(seed)
    palette = np.array([[200, 30, 30, 255], [30, 200, 30, 255], [30, 30, 200, 128]], np.uint8)
    blobs = rng.integers(0, 3, (HEIGHT // 3 + 1, WIDTH // 3 + 1)).repeat(3, 0).repeat(3, 1)[:HEIGHT, :WIDTH]
    return (palette[blobs] + rng.integers(0, 12, (HEIGHT, WIDTH, 4))).astype(np.uint8)


@settings(max_examples=100, deadline=None)
@given(shape_ops)
@example({"op": "polygon", "points": [2.5, 2.5, 10.5, 2.5, 10.5, 2.5, 2.5, 9.5]})  # a repeated vertex
@example({"op": "polygon", "points": [1.5, 1.5, 1.5, 1.5, 1.5, 1.5]})  # all in one pixel centre
@example({"op": "ellipse", "box": [3.5, 2, 3.5, 12]})  # flat: a segment through centres
def test_shapes_match_their_definitions_exactly(op):
    assert np.array_equal(covered({**op, "mode": "paint"}), reference({**op, "mode": "paint"}, np.zeros((HEIGHT, WIDTH), bool)))


@settings(max_examples=60, deadline=None)
@given(color_ops, st.integers(0, 2**32 - 1), st.booleans())
def test_colour_select_matches_its_definition(op, seed, opaque):
    pixels = blobs(seed)
    pixels = pixels[..., :3].copy() if opaque else pixels
    expected = reference({**op, "tolerance": int(op["tolerance"]), "mode": "paint"}, np.zeros((HEIGHT, WIDTH), bool), pixels)
    assert np.array_equal(covered({**op, "mode": "paint"}, image=pixels), expected)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(shape_ops, color_ops, st.just({"op": "clear"}), st.just({"op": "invert"})), max_size=6),
       st.integers(0, 2**32 - 1))
def test_ops_one_at_a_time_equal_all_at_once_and_the_definitions(ops, seed):
    pixels = blobs(seed)
    base = np.zeros((HEIGHT, WIDTH), bool)
    base[4:12, 5:20] = True
    whole = apply_ops(ops, (WIDTH, HEIGHT), Mask(base), image=pixels).region
    region, expected = base.copy(), base.copy()
    for op in ops:
        apply_op(region, op, image=pixels)
        expected = reference({**op, "tolerance": int(op["tolerance"])} if op["op"] == "color" else op, expected, pixels)
    assert np.array_equal(region, whole)
    assert np.array_equal(whole, expected)


@settings(max_examples=200, deadline=None)
@given(any_op, st.integers(0, 2**32 - 1))
def test_nothing_outside_edit_box_changes(op, seed):
    rng = np.random.default_rng(seed)
    region = rng.random((HEIGHT, WIDTH)) < 0.5
    before = region.copy()
    x0, y0, x1, y1 = edit_box(op, (WIDTH, HEIGHT))
    assert 0 <= x0 <= x1 <= WIDTH and 0 <= y0 <= y1 <= HEIGHT
    apply_op(region, op, image=blobs(seed))
    region[y0:y1, x0:x1] = before[y0:y1, x0:x1] = False
    assert np.array_equal(region, before)


def test_edit_box_is_the_shapes_bounding_box_grown_and_clamped():
    size = (WIDTH, HEIGHT)
    assert edit_box({"op": "rect", "box": [10.5, 8, 4.2, 3.7]}, size) == (3, 2, 12, 9)
    assert edit_box({"op": "polygon", "points": [1, 1, 30, 2, 5, 40]}, size) == (0, 0, WIDTH, HEIGHT)
    assert edit_box({"op": "stroke", "points": [10, 10], "radius": 2.5}, size) == (6, 6, 14, 14)
    assert edit_box({"op": "ellipse", "box": [40, 40, 50, 50]}, size) == (WIDTH, HEIGHT, WIDTH, HEIGHT)  # empty
    for op in ({"op": "clear"}, {"op": "invert"}, {"op": "color", "point": [1, 1], "tolerance": 0, "contiguous": True}):
        assert edit_box(op, size) == (0, 0, WIDTH, HEIGHT)


# -- at full resolution ---------------------------------------------------------------------------


def test_a_20000_point_lasso_and_colour_select_at_3840x2160_are_quick():
    width, height = 3840, 2160
    angle = np.linspace(0, 2 * np.pi, 20_000, endpoint=False)
    radius = 900 + 150 * np.sin(angle * 40)
    points = np.c_[1920 + 1.9 * radius * np.cos(angle), 1080 + radius * np.sin(angle)].round(2)
    pixels = np.full((height, width, 3), (90, 140, 200), np.uint8)
    pixels[:, 2000] = 0  # a line splits the sky in two
    region = np.zeros((height, width), bool)
    timings = {}
    for name, op in {
        "lasso": {"op": "polygon", "points": points.ravel().tolist()},
        "colour": {"op": "color", "point": [10, 10], "tolerance": 8, "contiguous": True},
    }.items():
        start = time.perf_counter()
        apply_op(region, {**op, "mode": "erase"} if name == "colour" else op, image=pixels)
        timings[name] = time.perf_counter() - start
    assert not region[:, :2000].any() and region[1080, 2000] and not region[1080, 3839]
    lasso = apply_ops([{"op": "polygon", "points": points.ravel().tolist()}], (width, height)).region
    area = 1.9 * np.pi * (900**2 + 150**2 / 2)  # the area inside r(t) = 900 + 150 sin 40t, stretched by 1.9
    assert abs(lasso.sum() - area) < 0.01 * area
    assert max(timings.values()) < 1.0, timings  # ~45 ms and ~130 ms here: generous for a slow machine
