"""An edit against its original: how much changed inside and outside the mask, and
putting the original back outside the mask.

The real model treats the mask as guidance, not a stencil, so pixels outside it
can change. :func:`keep_outside` pastes the original back there with a feathered
seam; :func:`mask_change` measures the change on each side, for one result or a
whole research grid. Both take the mask in every form ``mask=`` takes (through
:meth:`Mask.coerce`), at the original's size, and change none of their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ._errors import ValidationError
from ._images import ImageInput, load_image
from ._mask import Mask, MaskInput
from ._rules import Violation, format_size


def _aligned(original: ImageInput, edited: ImageInput, mask: MaskInput) -> tuple[np.ndarray, np.ndarray, Mask]:
    """Both images as float RGB arrays at the edited image's size, and the mask at that size too.

    The mask belongs to the original (as the API has it: the same size as the first
    source); one at the edited image's size is taken too. Any other size is refused.
    """
    region = Mask.coerce(mask)
    before = load_image(original, "original").convert("RGB")
    after = load_image(edited, "edited").convert("RGB")
    if region.size not in (before.size, after.size):
        sizes = f"the original is {format_size(*before.size)}"
        if after.size != before.size:
            sizes += f" and the edited image {format_size(*after.size)}"
        raise ValidationError(
            [
                Violation(
                    "mask",
                    "same_size",
                    f"the mask is {format_size(*region.size)} but {sizes}.",
                    f"pass the mask the edit was sent with, or make it {format_size(*before.size)} (Mask.resize() does this).",
                )
            ]
        )
    if before.size != after.size:  # the API may answer at another size than the source's
        before = before.resize(after.size, Image.Resampling.LANCZOS)
    if region.size != after.size:
        region = region.resize(after.size)
    return np.asarray(before, dtype=np.float32), np.asarray(after, dtype=np.float32), region


def keep_outside(original: ImageInput, edited: ImageInput, mask: MaskInput, feather: float = 4.0) -> Image.Image:
    """``edited`` inside the mask and ``original`` outside it, blended over about ``feather`` pixels at the seam.

    ``mask`` is anything ``mask=`` takes (a Mask, an HxW bool array, an RGBA array or
    image with alpha 0 = edit, a PNG's path or bytes) at the original's size; another
    size is a ValidationError naming both.

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


def mask_change(original: ImageInput, edited: ImageInput, mask: MaskInput, threshold: float = 8 / 255) -> MaskChange:
    """Compare ``edited`` with ``original`` on each side of ``mask`` (a side with no pixels counts as 0).

    ``mask`` is anything ``mask=`` takes, at the original's size, as for :func:`keep_outside`.
    """
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


# Colour stops of the difference heatmap, from no change (near black) to the most change
# (pale yellow): dark to light, so it reads in greyscale and for colour-blind eyes too.
_HEAT_STOPS = np.array(
    [(0.0, 0, 0, 4), (0.25, 87, 16, 110), (0.5, 188, 55, 84), (0.75, 249, 142, 9), (1.0, 252, 255, 164)], np.float32
)


def difference(a: ImageInput, b: ImageInput, *, edge: int | None = None) -> tuple[Image.Image, float]:
    """How two images differ, pixel by pixel: a heatmap and the mean absolute difference (0-1).

    ``b`` is resized to ``a``'s size when they differ (the API may answer two requests
    at different sizes); with ``edge``, both are first fitted so that the long edge is
    at most ``edge`` pixels (a display-sized heatmap costs little). Each pixel's
    difference is the largest over R, G and B (0-1); the heatmap shows it from black
    (equal) through purple and orange to pale yellow (black against white), on an
    absolute scale, so two heatmaps can be compared. Raises ValidationError for an
    input that is not a readable image.
    """
    first = load_image(a, "a").convert("RGB")
    second = load_image(b, "b").convert("RGB")
    if edge is not None and max(first.size) > edge:
        scale = edge / max(first.size)
        first = first.resize((max(1, round(first.width * scale)), max(1, round(first.height * scale))), Image.Resampling.BOX)
    if second.size != first.size:
        second = second.resize(first.size, Image.Resampling.BOX)
    gap = np.abs(np.asarray(first, np.float32) - np.asarray(second, np.float32)) / 255.0
    mean = float(gap.mean())
    per_pixel = gap.max(axis=-1)
    channels = [np.interp(per_pixel, _HEAT_STOPS[:, 0], _HEAT_STOPS[:, i]) for i in (1, 2, 3)]
    heat = np.rint(np.stack(channels, axis=-1)).astype(np.uint8)
    return Image.fromarray(heat, "RGB"), mean
