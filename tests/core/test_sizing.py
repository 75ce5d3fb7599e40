"""The size an edit asks for by default: the source's own when the API takes it, else the nearest valid one of its shape."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anyfast_widget.core import edit_size, is_valid_size


@pytest.mark.parametrize("size", [(1536, 1024), (1024, 1024), (3840, 2160), (1024, 3072), (816, 816)])
def test_a_valid_size_is_kept(size):
    assert edit_size(*size) == size


def test_a_photo_off_the_grid_gets_the_valid_size_nearest_in_shape_and_area():
    assert edit_size(3000, 2000) == (3008, 2000)
    assert edit_size(1920, 1080) in ((1920, 1088), (1936, 1088))  # 1080 is no multiple of 16


def test_a_small_source_is_asked_for_at_the_smallest_size_of_its_shape():
    assert edit_size(500, 500) == (816, 816)  # 816² = 665,856: the first square of at least 655,360 px
    width, height = edit_size(640, 480)
    assert width * height >= 655_360 and abs(width / height - 4 / 3) < 0.02


def test_a_large_source_is_asked_for_at_the_largest_size_of_its_shape():
    assert edit_size(10_000, 10_000) == (2880, 2880)  # 2880² = 8,294,400: the pixel limit exactly
    assert edit_size(7680, 4320) == (3840, 2160)


def test_a_shape_beyond_3_to_1_is_clamped_to_3_to_1():
    assert edit_size(4000, 1000) == (3456, 1152)
    assert edit_size(1000, 4000) == (1152, 3456)
    width, height = edit_size(10_000, 10)
    assert width == 3 * height and is_valid_size(width, height)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 12_000), st.integers(1, 12_000))
def test_every_answer_is_valid_and_keeps_the_shape(width, height):
    w, h = edit_size(width, height)
    assert is_valid_size(w, h)
    if is_valid_size(width, height):
        assert (w, h) == (width, height)
    shape = min(max(width / height, 1 / 3), 3)
    assert abs(math.log((w / h) / shape)) < 0.02  # within about a step of 16 of the shape


def test_edit_size_wants_positive_whole_edges():
    for bad in ((0, 100), (100, -1), (10.5, 100), (True, 100)):
        with pytest.raises(ValueError, match="positive whole"):
            edit_size(*bad)


def test_edit_size_is_fast_enough_for_every_settings_refresh():
    edit_size(1234, 567)
    start = time.perf_counter()
    for _ in range(1000):
        edit_size(1234, 567)
    assert time.perf_counter() - start < 0.05  # cached: ~1 µs each
