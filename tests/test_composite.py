"""Edits against their originals: change on each side of the mask, and the original kept outside it."""

from __future__ import annotations

import numpy as np
import pytest

from anyfast_widget import Client, Mask
from anyfast_widget._composite import keep_outside, mask_change

from .conftest import gradient


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
