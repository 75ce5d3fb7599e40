"""Display-sized copies of images for the browser: it gets what it shows, not 4K originals."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

THUMB_EDGE = 256  # source thumbnails
CANVAS_EDGE = 2048  # the primary image under the brush (sharp on a 2x screen at 1024 CSS px)
GALLERY_EDGE = 768  # results in the gallery


def fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its long edge is at most ``edge``."""
    width, height = size
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_preview(image: Image.Image, edge: int) -> tuple[bytes, str, tuple[int, int]]:
    """``image`` shrunk to ``edge`` and encoded: JPEG for opaque pictures (small), PNG when it has alpha.

    Returns the bytes, their MIME type and the preview's size.
    """
    size = fit(image.size, edge)
    preview = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    if preview.mode in ("RGBA", "LA", "PA") or (preview.mode == "P" and "transparency" in preview.info):
        preview.convert("RGBA").save(buffer, "PNG", compress_level=1)
        return buffer.getvalue(), "image/png", size
    preview.convert("RGB").save(buffer, "JPEG", quality=88)
    return buffer.getvalue(), "image/jpeg", size


def region_at(region: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A boolean region resampled to ``size`` (w, h): a preview pixel is in it when most of its area is."""
    if region.shape[::-1] == tuple(size):
        return region
    small = Image.fromarray(region.astype(np.uint8) * 255, "L").resize(size, Image.Resampling.BOX)
    return np.asarray(small) >= 128


def region_png(region: np.ndarray) -> bytes:
    """A PNG whose alpha is 255 where ``region`` is True and 0 elsewhere (white where opaque)."""
    rgba = np.zeros((*region.shape, 4), np.uint8)
    rgba[region] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def cutout_png(image: Image.Image, editable: np.ndarray) -> bytes:
    """``image`` (already at the region's size) with alpha 0 where ``editable``: a mask as the API sees it."""
    rgba = np.array(image.convert("RGBA"))
    rgba[..., 3] = np.where(editable, 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
