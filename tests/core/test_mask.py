"""Mask: one type for every mask convention, sent the way the API wants it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from anyfast_widget import Mask, ValidationError


def test_region_to_rgba_follows_the_api_convention():
    region = np.zeros((4, 6), dtype=bool)
    region[1:3, 2:5] = True
    mask = Mask.from_region(region)
    assert mask.size == (6, 4)
    assert mask.rgba.shape == (4, 6, 4) and mask.rgba.dtype == np.uint8
    assert (mask.rgba[..., 3][region] == 0).all() and (mask.rgba[..., 3][~region] == 255).all()
    assert mask.coverage == pytest.approx(6 / 24)


def test_to_png_is_an_rgba_png_that_reads_back_the_same():
    region = np.random.default_rng(1).random((30, 40)) > 0.5
    image = Image.open(io.BytesIO(Mask(region).to_png()))
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (40, 30))
    assert Mask.from_png(Mask(region).to_png()) == Mask(region)


@given(arrays(bool, st.tuples(st.integers(1, 20), st.integers(1, 20))))
def test_invert_and_round_trips(region):
    mask = Mask(region)
    assert (mask.invert().region == ~region).all()
    assert mask.invert().invert() == mask
    assert Mask.from_rgba(mask.rgba) == mask
    assert Mask.coerce(mask.to_image()) == mask


def test_explicit_constructors_for_other_conventions():
    gray = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    assert Mask.from_white_is_edit(gray).region.tolist() == [[False, True], [True, False]]
    assert Mask.from_black_is_edit(gray).region.tolist() == [[True, False], [False, True]]
    painted = np.zeros((2, 2, 4), dtype=np.uint8)
    painted[0, 0, 3] = 255
    assert Mask.from_alpha_is_edit(painted).region.tolist() == [[True, False], [False, False]]
    assert Mask.from_rgba(painted).region.tolist() == [[False, True], [True, True]]


def test_grayscale_is_never_guessed():
    gray = Image.new("L", (8, 8), 255)
    with pytest.raises(ValidationError, match="from_white_is_edit"):
        Mask.coerce(gray)
    with pytest.raises(ValidationError, match="from_white_is_edit"):
        Mask.coerce(np.zeros((8, 8), dtype=np.uint8))


def test_resize_stays_two_level_and_region_is_read_only():
    mask = Mask(np.eye(8, dtype=bool)).resize((16, 16))
    assert mask.size == (16, 16) and mask.region.dtype == bool
    with pytest.raises(ValueError):
        mask.region[0, 0] = False


def test_repr_says_size_and_coverage():
    assert repr(Mask(np.ones((10, 20), dtype=bool))) == "Mask(20x10, 100.0% editable)"
