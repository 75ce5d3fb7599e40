"""The studio's mask: a base set from Python plus the browser's mask edits, at the primary's full size, and the mask to send.

The browser sends its edits (strokes, ``clear``, ``invert``) as a list that grows
by one at every pointer-up; :meth:`MaskState.apply` rasterizes just the new one
then, and the whole list only when it changed otherwise (undo, redo). The mask to
send is worked out once per change of the mask, with what the browser shows of it:
the preview with its holes, the coverage, and the mask rules it passes or fails.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PIL import Image

from ..core import (
    EncodedImage,
    Mask,
    UploadInfo,
    Violation,
    apply_op,
    apply_ops,
    check_mask,
    cutout_png,
    region_at,
    region_png,
)

_CHECKS = (  # (rule of the core's check_mask, label when it passes)
    ("format", "Sent as a PNG with an alpha channel"),
    ("same_size", "Same size as the first image"),
    ("same_format", "First image sent as PNG too"),
    ("nothing_to_edit", "Marks something to edit"),
    ("keeps_nothing", "Keeps something (otherwise use no mask)"),
)
_JPEG_AS_PNG = "The API wants the image and its mask in one format: the JPEG goes as PNG."


def mask_violations(mask: Mask, primary: EncodedImage) -> list[Violation]:
    """The mask rules, on what Mask.to_png() will make of it, without encoding 4K PNGs at every stroke."""
    width, height = mask.size
    any_edit, any_keep = bool(mask.region.any()), not bool(mask.region.all())
    alpha_min, alpha_max = 0 if any_edit else 255, 255 if any_keep else 0
    info = UploadInfo("mask", "png", width, height, 0, has_alpha=True, alpha_min=alpha_min, alpha_max=alpha_max)
    first = primary.upload_info("image[0]")
    return [v for v in check_mask(info, dataclasses.replace(first, format="png")) if v.rule != "same_format"]


@dataclasses.dataclass(frozen=True)
class MaskViews:
    """What the browser shows of the mask to send: the traits ``send_preview``, ``coverage`` and ``mask_checks``."""

    send_preview: bytes
    coverage: float
    mask_checks: list[dict[str, Any]]


class MaskState:
    """The mask of the primary source: ``region`` is True where the model may edit; None without sources."""

    def __init__(self) -> None:
        self.base: Mask | None = None
        self.region: np.ndarray | None = None
        self.edits: list[dict[str, Any]] = []  # the browser's edits that ``region`` holds, in order
        self.to_send: Mask | None = None
        self.problems: list[Violation] = []  # the rules ``to_send`` breaks

    @property
    def mask(self) -> Mask | None:
        return Mask(self.region) if self.region is not None else None

    def fits(self, size: tuple[int, int]) -> bool:
        """Whether the region is there and of this (width, height)."""
        return self.region is not None and self.region.shape == (size[1], size[0])

    def reset(self, base: Mask | None, size: tuple[int, int] | None) -> None:
        """Start again from ``base`` (or from nothing) for a primary of ``size``, or without a primary (None)."""
        self.base = base
        if size is not None:
            width, height = size
            self.region = base.region.copy() if base is not None else np.zeros((height, width), bool)
        else:
            self.region = None
        self.edits = []

    def base_png(self, canvas_size: tuple[int, int]) -> bytes:
        """The base as the browser draws it under the edits (the ``base_mask`` trait); empty without one."""
        if self.base is None or self.region is None:
            return b""
        return region_png(region_at(self.base.region, canvas_size))

    def apply(self, edits: list[dict[str, Any]]) -> None:
        """Bring the region to ``edits``; a malformed edit raises ValueError, and the region keeps what it had."""
        assert self.region is not None, "no primary source to edit the mask of"
        height, width = self.region.shape
        if len(edits) == len(self.edits) + 1 and edits[:-1] == self.edits:
            apply_op(self.region, edits[-1])  # one more stroke: only its box is touched
        else:
            self.region = apply_ops(edits, (width, height), self.base).region.copy()
        self.edits = edits

    def settle(self, grow: int, primary: EncodedImage | None) -> None:
        """Work out the mask to send (the region grown or shrunk by ``grow``, None when empty) and the rules it breaks."""
        if self.region is None or not self.region.any():
            self.to_send = None
        else:
            self.to_send = Mask(self.region).grow(grow) if grow else Mask(self.region)
        self.problems = mask_violations(self.to_send, primary) if self.to_send is not None and primary is not None else []

    def views(self, primary: EncodedImage | None, canvas: Image.Image | None) -> MaskViews:
        """The mask to send as the browser shows it, over ``canvas`` (the display-sized primary)."""
        mask = self.to_send
        if mask is None or canvas is None or primary is None:
            checks = [{"label": "No mask", "ok": True, "message": "Nothing painted: the model may change the whole image."}]
            return MaskViews(b"", 0.0, checks if primary is not None else [])
        editable = region_at(mask.region, canvas.size)
        failed = {v.rule: v for v in self.problems}
        checks = []
        for rule, label in _CHECKS:
            if rule == "same_format" and primary.format == "png":
                continue
            if rule == "same_format":
                checks.append({"label": label, "ok": True, "message": _JPEG_AS_PNG})
                continue
            violation = failed.get(rule)
            message = f"{violation.message} {violation.fix}" if violation else ""
            checks.append({"label": label, "ok": violation is None, "message": message})
        return MaskViews(cutout_png(canvas, editable), round(100.0 * mask.coverage, 3), checks)
