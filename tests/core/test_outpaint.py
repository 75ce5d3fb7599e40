"""Outpainting: the canvas is snapped to the API's rules, the original lands where the plan says, and the mask is the new area."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from anyfast_widget.core import Extension, ValidationError, extend_image, extension_mask, is_valid_size, plan_extension


def photo(width, height, alpha=False):
    """An image whose every pixel differs from its neighbours, so a misplaced copy cannot pass."""
    rng = np.random.default_rng(width * 7919 + height)
    pixels = rng.integers(0, 256, (height, width, 4 if alpha else 3), dtype=np.uint8)
    if alpha:
        pixels[..., 3] = rng.integers(1, 256, (height, width))
    return Image.fromarray(pixels, "RGBA" if alpha else "RGB")


def original_box(extension: Extension):
    (x, y), (w, h) = extension.offset, extension.placed
    return x, y, x + w, y + h


def test_sides_extend_the_canvas_and_the_original_lies_at_the_offset_pixel_for_pixel():
    image = photo(1024, 768)
    extension = plan_extension(image.size, left=256, bottom=128)
    assert (extension.size, extension.offset, extension.scale, extension.snapped) == ((1280, 896), (256, 0), 1.0, ())
    canvas = extend_image(image, extension)
    assert canvas.mode == "RGBA" and canvas.size == (1280, 896)
    pixels = np.asarray(canvas)
    assert np.array_equal(pixels[0:768, 256:1280, :3], np.asarray(image))
    assert (pixels[0:768, 256:1280, 3] == 255).all()
    assert (pixels[:, :256, 3] == 0).all() and (pixels[768:, :, 3] == 0).all()  # the new area is transparent


def test_edges_are_rounded_up_to_16_on_the_sides_being_extended_and_it_is_said():
    extension = plan_extension((1200, 700), right=0, bottom=3)
    assert extension.size == (1200, 704) and extension.offset == (0, 0)  # the extra pixel goes to the bottom
    assert extension.snapped == ("1200x703 became 1200x704: each edge must be a multiple of 16",)
    split = plan_extension((1000, 1000), top=1)  # 1000 wide: 8 px more, split evenly between left and right
    assert split.size == (1008, 1008) and split.offset == (4, 8)
    assert len(split.snapped) == 1 and "1000x1001 became 1008x1008" in split.snapped[0]


def test_an_aspect_extends_the_short_dimension_centred():
    extension = plan_extension((1024, 1024), aspect="16:9")
    width, height = extension.size
    assert height == 1024 and extension.offset[1] == 0
    assert abs(width / height - 16 / 9) < 16 / height  # within one step of 16
    left = extension.offset[0]
    assert abs(left - (width - 1024 - left)) <= 1  # centred
    tall = plan_extension((1536, 1024), aspect=0.75)
    assert tall.size[0] == 1536 and tall.size[1] == 2048 and tall.offset == (0, 512)
    assert plan_extension((900, 900), aspect="2.35:1").size == (2128, 912)


def test_a_size_is_reached_centred_and_snapped():
    extension = plan_extension((1000, 800), size="1600x1200")
    assert extension.size == (1600, 1200) and extension.offset == (300, 200) and extension.snapped == ()
    odd = plan_extension((1000, 800), size=(1601, 1200))
    assert odd.size == (1616, 1200) and odd.snapped


def test_the_ratio_is_clamped_to_3_to_1_by_extending_the_short_side():
    extension = plan_extension((1200, 600), right=1800)  # 3000x600 is 5:1
    width, height = extension.size
    assert width == 3008 and height == 1008 and width <= 3 * height and is_valid_size(width, height)
    assert extension.offset == (0, 204)  # the top and bottom, neither asked for, share the extra height
    assert "the long edge may be at most 3 times the short edge" in extension.snapped[0]


def test_a_canvas_too_large_is_scaled_down_original_included():
    image = photo(3000, 2000)
    extension = plan_extension(image.size, left=1000)  # 4000x2000: over 3,840 px wide
    assert extension.size == (3840, 1920) and extension.scale == pytest.approx(0.96)
    assert extension.placed == (2880, 1920) and extension.offset == (960, 0)
    assert "no edge may exceed 3840 px" in extension.snapped[-1] and "scaled by 0.96" in extension.snapped[-1]
    canvas = np.asarray(extend_image(image, extension))
    assert (canvas[:, 960:, 3] == 255).all() and (canvas[:, :960, 3] == 0).all()
    expected = np.asarray(image.resize((2880, 1920), Image.Resampling.LANCZOS))
    assert np.array_equal(canvas[:, 960:, :3], expected)
    many = plan_extension((3000, 2600), left=500)  # 3,500 x 2,600 = 9.1 M px: over 8,294,400
    assert many.size[0] * many.size[1] <= 8_294_400 and "total pixels may be at most 8,294,400" in many.snapped[-1]


def test_a_canvas_too_small_is_scaled_up():
    extension = plan_extension((400, 300), right=100)
    width, height = extension.size
    assert width * height >= 655_360 and is_valid_size(width, height) and extension.scale > 1
    assert "total pixels must be at least 655,360" in extension.snapped[-1]
    x0, y0, x1, y1 = original_box(extension)
    assert x0 == 0 and x1 < width and 0 <= y0 and y1 <= height  # the new area stays on the right


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({"left": 10, "aspect": "16:9"}, "aspect", "exclusive"),
        ({"top": 10, "size": "2048x2048"}, "size", "exclusive"),
        ({"aspect": "16:9", "size": "2048x2048"}, "size", "exclusive"),
        ({"left": -1}, "left", "range"),
        ({"bottom": 2.5}, "bottom", "range"),
        ({"right": True}, "right", "range"),
        ({}, "extend", "nothing_to_extend"),
        ({"size": "1024x1024"}, "extend", "nothing_to_extend"),
        ({"aspect": "1:1"}, "extend", "nothing_to_extend"),
        ({"aspect": "4:1"}, "aspect", "max_ratio"),
        ({"aspect": 0.25}, "aspect", "max_ratio"),
        ({"aspect": "wide"}, "aspect", "format"),
        ({"size": "1000x2000"}, "size", "too_small"),
        ({"size": "big"}, "size", "format"),
    ],
)
def test_what_cannot_be_planned_is_a_validation_error_naming_field_and_rule(arguments, field, rule):
    with pytest.raises(ValidationError) as caught:
        plan_extension((1024, 1024), **arguments)
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert caught.value.violations[0].fix


def test_the_mask_is_exactly_the_new_area_and_overlap_grows_it_into_the_original_at_seams_only():
    extension = plan_extension((1024, 768), left=256, bottom=128)
    region = extension_mask(extension).region
    assert region.shape == (896, 1280)
    kept = np.zeros_like(region)
    kept[0:768, 256:1280] = True
    assert np.array_equal(region, ~kept)
    grown = extension_mask(extension, overlap=16).region
    kept_grown = np.zeros_like(region)
    kept_grown[0:768 - 16, 256 + 16 : 1280] = True  # the top and right edges of the canvas are no seam
    assert np.array_equal(grown, ~kept_grown)
    assert extension_mask(extension, overlap=5000).region.all()
    with pytest.raises(ValueError, match="overlap"):
        extension_mask(extension, overlap=-1)


def test_edge_fill_repeats_the_originals_edge_pixels_outwards_opaque():
    image = photo(800, 900, alpha=True)
    extension = plan_extension(image.size, left=96, right=128, top=6)
    canvas = np.asarray(extend_image(image, extension, fill="edge"))
    x0, y0, x1, y1 = original_box(extension)
    original = np.asarray(image)
    assert np.array_equal(canvas[y0:y1, x0:x1], original)  # the original keeps its own alpha
    assert np.array_equal(canvas[y0:y1, 0, :3], original[:, 0, :3])
    assert np.array_equal(canvas[y0:y1, -1, :3], original[:, -1, :3])
    assert np.array_equal(canvas[0, x0:x1, :3], original[0, :, :3])
    assert np.array_equal(canvas[0, 0, :3], original[0, 0, :3])  # a corner takes the corner pixel
    new = extension_mask(extension).region
    assert (canvas[new, 3] == 255).all()


def test_extend_image_refuses_an_image_of_another_size_or_an_unknown_fill():
    extension = plan_extension((100, 100), size="1024x1024")
    with pytest.raises(ValueError, match="planned for 100x100"):
        extend_image(photo(101, 100), extension)
    with pytest.raises(ValueError, match="fill"):
        extend_image(photo(100, 100), extension, fill="mirror")


def test_the_provenance_is_plain_json():
    extension = plan_extension((1024, 768), left=256)
    assert json.loads(json.dumps(extension.as_dict())) == {"original": [1024, 768], "size": [1280, 768], "offset": [256, 0],
                                                            "scale": 1.0}


sides = st.integers(0, 3000)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 5000), sides, sides, sides, sides)
def test_every_plan_is_a_valid_size_with_the_original_inside(width, height, left, top, right, bottom):
    try:
        extension = plan_extension((width, height), left=left, top=top, right=right, bottom=bottom)
    except ValidationError as error:
        assert error.rule == "nothing_to_extend" and left == top == right == bottom == 0
        return
    assert is_valid_size(*extension.size)
    x0, y0, x1, y1 = original_box(extension)
    assert 0 <= x0 and 0 <= y0 and x1 <= extension.size[0] and y1 <= extension.size[1]
    if extension.scale == 1:
        assert extension.offset[0] >= left and extension.offset[1] >= top  # what was asked is all there
        assert extension.size[0] - x1 >= right and extension.size[1] - y1 >= bottom
    assert bool(extension.snapped) == ((width + left + right, height + top + bottom) != extension.size)


@settings(max_examples=60, deadline=None)
@given(st.integers(100, 3000), st.integers(100, 3000), st.sampled_from(["16:9", "9:16", "4:3", "1:1", "21:9", "3:1", "1:3", 1.5]))
def test_every_aspect_plan_is_valid_and_near_the_aspect(width, height, aspect):
    try:
        extension = plan_extension((width, height), aspect=aspect)
    except ValidationError as error:
        assert error.rule == "nothing_to_extend"
        return
    w, h = extension.size
    target = eval(aspect.replace(":", "/")) if isinstance(aspect, str) else aspect  # noqa: S307 - a fixed list
    assert is_valid_size(w, h) and abs(np.log(w / h / target)) < 0.05
