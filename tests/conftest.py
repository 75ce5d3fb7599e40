"""Shared test helpers: small images in every format a user might bring."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

# The machine is shared and noisy: a property is about what comes out, not how fast (speed goals are in bench/).
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")


# A grid spec of 12 requests (4 cells x 3 repeats, two at a time): headless runs and open_grid tests stop and follow it.
TWELVE_REQUESTS_SPEC = """\
prompt = "a fox in the snow"
repeats = 3
concurrency = 2

[cols]
field = "quality"
values = ["low", "medium", "high", "low"]
"""


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gradient(width: int = 64, height: int = 48) -> Image.Image:
    """An RGB image whose every pixel differs from its neighbours, so orientation is visible."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "runs"


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread while its
    browser lives, which would look like a notebook's loop to every asyncio test after it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
