"""An edit against its original: how much changed inside and outside the mask, and
putting the original back outside the mask.

The real model treats the mask as guidance, not a stencil, so pixels outside it
can change. :func:`keep_outside` pastes the original back there with a feathered
seam; :func:`mask_change` measures the change on each side, for one result or a
whole research grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ._images import ImageInput, load_image
from ._mask import Mask


def _aligned(original: ImageInput, edited: ImageInput, mask: Mask) -> tuple[np.ndarray, np.ndarray, Mask]:
    """Both images as float RGB arrays at the edited image's size, and the mask at that size too."""
    after = load_image(edited, "edited").convert("RGB")
    before = load_image(original, "original").convert("RGB")
    if before.size != after.size:  # the API may answer at another size than the source's
        before = before.resize(after.size, Image.Resampling.LANCZOS)
    if mask.size != after.size:
        mask = mask.resize(after.size)
    return np.asarray(before, dtype=np.float32), np.asarray(after, dtype=np.float32), mask


def keep_outside(original: ImageInput, edited: ImageInput, mask: Mask, feather: float = 4.0) -> Image.Image:
    """``edited`` inside the mask and ``original`` outside it, blended over about ``feather`` pixels at the seam.

    The seam is feathered outwards, so every pixel of the mask keeps the edit, and
    pixels more than three times ``feather`` away from the mask are the original's exactly.
    """
    before, after, mask = _aligned(original, edited, mask)
    grown = mask.grow(int(np.ceil(feather))) if feather > 0 else mask
    weight = np.maximum(grown.feathered(feather), mask.region.astype(np.float32))[..., None]
    out = np.rint(after * weight + before * (1.0 - weight))
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


@dataclass(frozen=True)
class MaskChange:
    """How much an edit changed each side of its mask: mean absolute difference (0-1) and the share
    of pixels that changed by more than ``threshold`` (0-1)."""

    inside: float
    outside: float
    changed_inside: float
    changed_outside: float
    threshold: float

    def __str__(self) -> str:
        return (
            f"inside the mask: {self.inside:.1%} mean change, {self.changed_inside:.1%} of pixels changed; "
            f"outside: {self.outside:.1%} mean change, {self.changed_outside:.1%} of pixels changed"
        )


def mask_change(original: ImageInput, edited: ImageInput, mask: Mask, threshold: float = 8 / 255) -> MaskChange:
    """Compare ``edited`` with ``original`` on each side of ``mask`` (a side with no pixels counts as 0)."""
    before, after, mask = _aligned(original, edited, mask)
    difference = np.abs(after - before).max(axis=-1) / 255.0
    inside, outside = difference[mask.region], difference[~mask.region]

    def mean(values: np.ndarray) -> float:
        return float(values.mean()) if values.size else 0.0

    return MaskChange(
        inside=mean(inside),
        outside=mean(outside),
        changed_inside=mean(inside > threshold),
        changed_outside=mean(outside > threshold),
        threshold=threshold,
    )
