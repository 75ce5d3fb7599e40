"""Outpainting in the studio: the primary source extended to a larger canvas, with a mask of exactly the new area.

The geometry and the API's size rules are the core's (``plan_extension``,
``extend_image``, ``extension_mask``); this puts the larger image in the primary's
place, says what had to be adjusted to meet the rules, and keeps where the original
lies, so every result made from it records that provenance.
"""

from __future__ import annotations

from typing import Any

from ..core import Extension, Mask, ValidationError, Violation, decode_image, extend_image, extension_mask, plan_extension
from ._sources import Sources

FILLS = ("transparent", "edge")


def extend_primary(
    sources: Sources,
    *,
    left: int,
    top: int,
    right: int,
    bottom: int,
    aspect: str | float | None,
    size: str | tuple[int, int] | None,
    fill: str,
    overlap: int,
) -> tuple[Extension, Mask]:
    """Replace the primary with itself extended as asked; the plan and the mask of the new area (ValidationError if not)."""
    primary = sources.primary
    if primary is None:
        message = "there is no source image to extend."
        raise ValidationError([Violation("image[0]", "primary", message, "add a source image first.")])
    if fill not in FILLS:
        message = f"fill is {fill!r}; it is one of {', '.join(map(repr, FILLS))}."
        raise ValidationError([Violation("fill", "enum", message, "use 'transparent' or 'edge'.")])
    if not isinstance(overlap, int) or isinstance(overlap, bool) or overlap < 0:
        message = f"overlap is {overlap!r}; it is a whole number of pixels, 0 or more."
        raise ValidationError([Violation("overlap", "range", message, "use e.g. overlap=16.")])
    extension = plan_extension(primary.encoded.size, left=left, top=top, right=right, bottom=bottom, aspect=aspect, size=size)
    image = extend_image(decode_image(primary.encoded.data), extension, fill)
    provenance: dict[str, Any] = {**extension.as_dict(), "fill": fill, "overlap": overlap, "from": primary.name}
    stem = primary.name.rsplit(".", 1)[0]
    sources.replace_primary(image, name=f"{stem} extended.png", extended=provenance)
    return extension, extension_mask(extension, overlap)
