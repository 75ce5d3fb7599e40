"""Edits against their originals: change on each side of the mask, and the original kept outside it."""

from __future__ import annotations

import numpy as np
import pytest

from anyfast_widget import Client, Mask
from anyfast_widget.core._composite import keep_outside, mask_change

from ..conftest import gradient


@pytest.fixture
def square():
    region = np.zeros((1024, 1024), dtype=bool)
    region[300:700, 300:700] = True
    return Mask(region)


def edit_with_leak(sim, run_dir, mask, leak):
    sim.leak = leak
    with Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir) as client:
        return client.edit("a lantern", gradient(1024, 1024), mask=mask)


def test_a_faithful_edit_changes_nothing_outside(anyfast_simulator, run_dir, square):
    result = edit_with_leak(anyfast_simulator, run_dir, square, leak=0.0)
    change = mask_change(gradient(1024, 1024), result.image, square)
    assert change.outside == 0 and change.changed_outside == 0
    assert change.inside > 0.05 and change.changed_inside > 0.5
    assert "outside: 0.0% mean change" in str(change)


def test_a_leaky_edit_is_measured_and_repaired(anyfast_simulator, run_dir, square):
    result = edit_with_leak(anyfast_simulator, run_dir, square, leak=0.3)
    original = gradient(1024, 1024)
    leaked = mask_change(original, result.image, square)
    assert leaked.outside > 0.005 and leaked.changed_outside > 0.001

    repaired = keep_outside(original, result.image, square, feather=4)
    after = mask_change(original, repaired, square)
    assert after.inside == pytest.approx(leaked.inside)  # the edit itself is untouched
    band = square.grow(12)  # the seam: 4 px of growth plus the blur's reach
    far = ~band.region
    assert np.array_equal(np.asarray(repaired)[far], np.asarray(original)[far])
    assert after.outside < leaked.outside / 5  # only the thin feathered seam is left


def test_grow_shrink_and_feather():
    region = np.zeros((41, 41), dtype=bool)
    region[20, 20] = True
    disc = Mask(region).grow(5)
    yy, xx = np.mgrid[0:41, 0:41]
    assert np.array_equal(disc.region, (yy - 20) ** 2 + (xx - 20) ** 2 <= 25)
    assert disc.shrink(5) == Mask(region)
    full = Mask(np.ones((8, 8), bool))
    assert full.shrink(3) == full  # the image's border is not an edge
    weight = disc.feathered(4)
    assert weight.dtype == np.float32 and weight[20, 20] > 0.9 and weight[0, 0] < 0.01
    assert 0.2 < weight[20, 25] < 0.8  # soft at the edge


def test_the_difference_of_an_image_with_itself_is_black_and_zero():
    from anyfast_widget.core._composite import difference

    heat, mean = difference(gradient(64, 48), gradient(64, 48))
    assert mean == 0 and heat.size == (64, 48) and heat.mode == "RGB"
    assert np.asarray(heat).max() <= 4  # the colour of "no change"


def test_the_difference_heatmap_is_bright_where_the_images_differ():
    from anyfast_widget.core._composite import difference

    before = np.zeros((100, 200, 3), np.uint8)
    after = before.copy()
    after[20:40, 50:150] = 255  # a white bar: the largest possible change
    heat, mean = difference(before, after)
    pixels = np.asarray(heat, np.int32)
    assert pixels[30, 100].sum() > 600 and pixels[80, 10].sum() < 10
    assert mean == pytest.approx(20 * 100 / (100 * 200))


def test_the_difference_of_two_sizes_and_at_display_size():
    from anyfast_widget.core._composite import difference

    def smooth(width, height):
        y, x = np.mgrid[0:height, 0:width]
        return np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 90)], axis=-1).astype(np.uint8)

    heat, mean = difference(smooth(1536, 1024), smooth(768, 512), edge=300)
    assert heat.size == (300, 200) and mean < 0.01  # the same picture at two sizes barely differs
