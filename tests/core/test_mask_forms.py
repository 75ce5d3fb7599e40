"""Every function that takes a mask takes every form ``mask=`` takes, through the one conversion (``Mask.coerce``).

The README's forms: a Mask, an HxW bool array (True = edit), an API-style RGBA array or image (alpha 0 = edit), and
a path or the bytes of such a PNG (a binary file object too). Each gives the same answer as the Mask itself; a mask
of the wrong size is a ValidationError naming both sizes, in every form, and the caller's array is left as it was.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import Mask, ValidationError, keep_outside, mask_change, prepare_edit

from ..conftest import gradient

W, H = 64, 48


def region(width: int = W, height: int = H) -> np.ndarray:
    out = np.zeros((height, width), bool)
    out[height // 4 : height // 2, width // 4 : 3 * width // 4] = True
    return out


def in_form(form: str, editable: np.ndarray, tmp_path):
    """``editable`` (True = the model may edit) as ``form``, fresh."""
    rgba = np.zeros((*editable.shape, 4), np.uint8)
    rgba[..., 3] = np.where(editable, 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    png = buffer.getvalue()
    path = tmp_path / f"mask-{editable.shape[1]}x{editable.shape[0]}.png"
    path.write_bytes(png)
    return {
        "Mask": lambda: Mask(editable),
        "bool array": lambda: editable.copy(),
        "read-only bool array": lambda: _read_only(editable),
        "bool view of a bigger array": lambda: np.pad(editable, 3)[3:-3, 3:-3],
        "RGBA array": lambda: rgba.copy(),
        "RGBA image": lambda: Image.fromarray(rgba, "RGBA"),
        "path str": lambda: str(path),
        "pathlib.Path": lambda: path,
        "bytes": lambda: png,
        "bytearray": lambda: bytearray(png),
        "memoryview": lambda: memoryview(png),
        "file object": lambda: io.BytesIO(png),
    }[form]()


def _read_only(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.flags.writeable = False
    return array


FORMS = ["Mask", "bool array", "read-only bool array", "bool view of a bigger array", "RGBA array", "RGBA image",
         "path str", "pathlib.Path", "bytes", "bytearray", "memoryview", "file object"]  # fmt: skip


def edited(width: int = W, height: int = H) -> Image.Image:
    """The original with a bright patch inside the region and a faint change everywhere (a leak)."""
    pixels = np.asarray(gradient(width, height)).astype(int)
    pixels[region(width, height)] = 255
    return Image.fromarray(np.clip(pixels + 3, 0, 255).astype(np.uint8), "RGB")


@pytest.mark.parametrize("form", FORMS)
def test_mask_change_and_keep_outside_take_every_form(form, tmp_path):
    expected_change = mask_change(gradient(W, H), edited(), Mask(region()))
    expected_kept = keep_outside(gradient(W, H), edited(), Mask(region())).tobytes()
    assert mask_change(gradient(W, H), edited(), in_form(form, region(), tmp_path)) == expected_change
    assert keep_outside(gradient(W, H), edited(), in_form(form, region(), tmp_path)).tobytes() == expected_kept
    assert Mask.coerce(in_form(form, region(), tmp_path)) == Mask(region())
    assert expected_change.changed_inside == 1 and expected_change.outside > 0


@pytest.mark.parametrize("form", FORMS)
def test_an_edit_takes_every_form_and_sends_the_same_mask(form, tmp_path):
    source = gradient(1024, 640)
    expected = prepare_edit("x", source, mask=Mask(region(1024, 640)))
    prepared = prepare_edit("x", source, mask=in_form(form, region(1024, 640), tmp_path))
    assert prepared.mask == expected.mask and prepared.mask_file.data == expected.mask_file.data
    assert prepared.request_hash == expected.request_hash


@pytest.mark.parametrize("form", FORMS)
def test_a_mask_of_the_wrong_size_names_both_sizes(form, tmp_path):
    for call in (
        lambda m: mask_change(gradient(W, H), edited(), m),
        lambda m: keep_outside(gradient(W, H), edited(), m),
    ):
        with pytest.raises(ValidationError) as info:
            call(in_form(form, region(32, 24), tmp_path))
        assert (info.value.field, info.value.rule) == ("mask", "same_size")
        assert "32x24" in str(info.value) and f"{W}x{H}" in str(info.value) and "Fix:" in str(info.value)
    with pytest.raises(ValidationError) as info:
        prepare_edit("x", gradient(1024, 640), mask=in_form(form, region(32, 24), tmp_path), size="1024x640")
    assert (info.value.field, info.value.rule) == ("mask", "same_size")
    assert "32x24" in str(info.value) and "1024x640" in str(info.value)


def test_the_edited_image_may_come_back_at_another_size():
    """The API may answer at another size than the source's: the mask goes with the original, or with the result."""
    big = edited(2 * W, 2 * H)
    at_original = mask_change(gradient(W, H), big, region())
    at_result = mask_change(gradient(W, H), big, region(2 * W, 2 * H))
    assert at_original == at_result and at_original.changed_inside == 1
    assert keep_outside(gradient(W, H), big, region()).size == (2 * W, 2 * H)
    with pytest.raises(ValidationError, match=rf"the mask is 10x10 but the original is {W}x{H} and the edited image 128x96"):
        mask_change(gradient(W, H), big, region(10, 10))


def test_the_callers_bool_array_is_neither_reshaped_nor_frozen():
    """It used to be resized in place (ndarray.resize) to the image's (width, height), then fail."""
    given = region()
    for call in (mask_change, keep_outside):
        call(gradient(W, H), edited(), given)
        assert given.shape == (H, W) and given.flags.writeable and np.array_equal(given, region())
    small = region(32, 24)
    with pytest.raises(ValidationError):
        mask_change(gradient(W, H), edited(), small)
    assert small.shape == (24, 32) and np.array_equal(small, region(32, 24))


@pytest.mark.parametrize(
    "value, match",
    [
        (np.zeros((H, W), np.uint8), "not a mask this client can read unambiguously"),
        (Image.new("L", (W, H)), "no alpha channel"),
        ([[True, False]], "is not a mask"),
        (3, "is not a mask"),
    ],
)
def test_what_is_not_a_mask_is_refused_the_same_way_everywhere(value, match):
    for call in (
        lambda: Mask.coerce(value),
        lambda: mask_change(gradient(W, H), edited(), value),
        lambda: keep_outside(gradient(W, H), edited(), value),
        lambda: prepare_edit("x", gradient(1024, 640), mask=value),
    ):
        with pytest.raises(ValidationError, match=match) as info:
            call()
        assert info.value.field == "mask"
