"""The studio's mask: a base set from Python plus the edits made since, at the primary's full size, and the mask to send.

Every edit (a brush stroke, a selection, a clear or an invert) is applied in place,
touching only the box it can change (the core's ``edit_box``), and recorded as one
step of a :class:`MaskHistory` of patches, so undo and redo cost what one box
costs. The mask to send (the region grown or shrunk by ``grow``) and its pixel count
are kept up to date in the same box, so the coverage and the checks are known at
once; what the browser is sent of a change is that box at display size, one bit per
pixel (:meth:`MaskState.patch`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from PIL import Image

from ..core import EncodedImage, Mask, UploadInfo, Violation, apply_op, check_mask, edit_box
from ._mask_history import Box, MaskHistory, Step

_CHECKS = (  # (rule of the core's check_mask, label when it passes)
    ("format", "Sent as a PNG with an alpha channel"),
    ("same_size", "Same size as the first image"),
    ("same_format", "First image sent as PNG too"),
    ("nothing_to_edit", "Marks something to edit"),
    ("keeps_nothing", "Keeps something (otherwise use no mask)"),
)
_JPEG_AS_PNG = "The API wants the image and its mask in one format: the JPEG goes as PNG."


def mask_violations(mask: Mask, primary: EncodedImage) -> list[Violation]:
    """The mask rules, on what Mask.to_png() will make of it, without encoding a 4K PNG."""
    return _violations(mask.size, int(np.count_nonzero(mask.region)), primary)


def _violations(size: tuple[int, int], count: int, primary: EncodedImage) -> list[Violation]:
    width, height = size
    any_edit, any_keep = count > 0, count < width * height
    alpha_min, alpha_max = 0 if any_edit else 255, 255 if any_keep else 0
    info = UploadInfo("mask", "png", width, height, 0, has_alpha=True, alpha_min=alpha_min, alpha_max=alpha_max)
    first = primary.upload_info("image[0]")
    return [v for v in check_mask(info, dataclasses.replace(first, format="png")) if v.rule != "same_format"]


@dataclasses.dataclass(frozen=True)
class Patch:
    """A box of the canvas (x, y, w, h in canvas pixels) and the two masks over it, one bit per pixel, rows packed."""

    box: tuple[int, int, int, int]
    full: bool
    painted: bytes
    send: bytes | None  # None: the same as ``painted`` (no grow)


def region_in_box(region: np.ndarray, canvas: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """The canvas pixels ``box`` (x, y, w, h) of ``region`` shown at ``canvas`` size: the core's ``region_at``, for a box.

    A canvas pixel is in when at least half of the source pixels under it are (a box
    filter), computed from only the source pixels under the box.
    """
    height, width = region.shape
    cw, ch = canvas
    x, y, w, h = box
    sx, sy = width / cw, height / ch
    if (cw, ch) == (width, height):
        return region[y : y + h, x : x + w]
    left, top = max(0, math.floor(x * sx) - 1), max(0, math.floor(y * sy) - 1)
    right, bottom = min(width, math.ceil((x + w) * sx) + 1), min(height, math.ceil((y + h) * sy) + 1)
    crop = Image.fromarray(region[top:bottom, left:right].astype(np.uint8) * 255, "L")
    within = (x * sx - left, y * sy - top, (x + w) * sx - left, (y + h) * sy - top)
    return np.asarray(crop.resize((w, h), Image.Resampling.BOX, box=within)) >= 128


class MaskState:
    """The mask of the primary source: ``region`` is True where the model may edit; None without sources."""

    def __init__(self) -> None:
        self.base: Mask | None = None  # the mask set from Python, if any
        self.region: np.ndarray | None = None
        self.history: MaskHistory | None = None
        self.grow = 0
        self.send: np.ndarray | None = None  # the region grown by ``grow`` (``region`` itself for 0)
        self.send_count = 0
        self.version = 0  # one more at every change; the browser draws patches in this order

    @property
    def mask(self) -> Mask | None:
        return Mask(self.region) if self.region is not None else None

    @property
    def size(self) -> tuple[int, int] | None:
        return (self.region.shape[1], self.region.shape[0]) if self.region is not None else None

    @property
    def edits(self) -> list[dict[str, Any]]:
        """The edits since the base that can be undone, oldest first."""
        return [s.op for s in self.history.done] if self.history else []

    @property
    def redo_edits(self) -> list[dict[str, Any]]:
        """The edits undone that can be redone, the most recently undone last."""
        return [s.op for s in self.history.undone] if self.history else []

    @property
    def to_send(self) -> Mask | None:
        """The mask as it will be sent: the region after grow/shrink, None when nothing is marked."""
        if self.send is None or self.send_count == 0:
            return None
        return Mask(self.send.copy() if self.send is self.region else self.send)

    @property
    def coverage(self) -> float:
        """Percent of the source the API may edit (after grow/shrink)."""
        return round(100.0 * self.send_count / self.region.size, 3) if self.region is not None and self.region.size else 0.0

    def fits(self, size: tuple[int, int]) -> bool:
        """Whether the region is there and of this (width, height)."""
        return self.size == tuple(size)

    def reset(self, base: Mask | None, size: tuple[int, int] | None) -> None:
        """Start again from ``base`` (or from nothing) for a primary of ``size``, or without a primary (None)."""
        self.base = base
        if size is None:
            self.region = self.history = self.send = None
            self.send_count = 0
        else:
            width, height = size
            self.region = base.region.copy() if base is not None else np.zeros((height, width), bool)
            self.history = MaskHistory(self.region.copy())
            self._settle_send()
        self.version += 1

    def set_grow(self, grow: int) -> None:
        """Grow (or shrink, below 0) the mask to send by ``grow`` px from now on."""
        if grow != self.grow:
            self.grow = grow
            if self.region is not None:
                self._settle_send()
                self.version += 1

    def edit(self, op: dict[str, Any], image: Image.Image | None) -> Box:
        """Apply one edit (ValueError if it is malformed; nothing changes then); the box of the source it changed."""
        assert self.region is not None and self.history is not None, "no primary source to edit the mask of"
        height, width = self.region.shape
        box = edit_box(op, (width, height))
        x0, y0, x1, y1 = box
        before = self.region[y0:y1, x0:x1].copy()
        apply_op(self.region, op, image=image)
        step = Step.record(op, box, before, self.region[y0:y1, x0:x1])
        self.history.push(step)
        self._changed(box, step.gained)
        return box

    def replace_edits(self, ops: list[dict[str, Any]], image: Image.Image | None) -> None:
        """Start again from the base and apply ``ops`` in order, each one undoable; on a bad op nothing changes."""
        assert self.region is not None
        kept = (self.region, self.history, self.send, self.send_count, self.version)
        try:
            self.reset(self.base, self.size)
            for op in ops:
                self.edit(op, image)
        except Exception:
            self.region, self.history, self.send, self.send_count, self.version = kept
            raise

    def undo(self) -> Box | None:
        """Take back the newest edit; the box it changed, or None when there was none."""
        if self.history is None or self.region is None or (step := self.history.undo(self.region)) is None:
            return None
        self._changed(step.box, -step.gained)
        return step.box

    def redo(self) -> Box | None:
        """Do the most recently undone edit again; the box it changed, or None when there was none."""
        if self.history is None or self.region is None or (step := self.history.redo(self.region)) is None:
            return None
        self._changed(step.box, step.gained)
        return step.box

    def _changed(self, box: Box, gained: int) -> None:
        """The region changed in ``box`` by ``gained`` pixels: bring the mask to send and its count up to date there."""
        self.version += 1
        if self.grow == 0:
            self.send, self.send_count = self.region, self.send_count + gained
            return
        assert self.region is not None and self.send is not None
        height, width = self.region.shape
        reach = abs(self.grow)
        x0, y0, x1, y1 = box
        # The send mask changes within ``reach`` of the box, and depends on the region within ``reach`` of that.
        ax0, ay0, ax1, ay1 = max(0, x0 - reach), max(0, y0 - reach), min(width, x1 + reach), min(height, y1 + reach)
        if ax1 <= ax0 or ay1 <= ay0:
            return
        cx0, cy0, cx1, cy1 = max(0, ax0 - reach), max(0, ay0 - reach), min(width, ax1 + reach), min(height, ay1 + reach)
        grown = Mask(self.region[cy0:cy1, cx0:cx1]).grow(self.grow).region
        fresh = grown[ay0 - cy0 : ay1 - cy0, ax0 - cx0 : ax1 - cx0]
        old = self.send[ay0:ay1, ax0:ax1]
        self.send_count += int(np.count_nonzero(fresh)) - int(np.count_nonzero(old))
        old[...] = fresh

    def _settle_send(self) -> None:
        assert self.region is not None
        self.send = self.region if self.grow == 0 else Mask(self.region).grow(self.grow).region.copy()
        self.send_count = int(np.count_nonzero(self.send))

    def patch(self, box: Box | None, canvas: tuple[int, int]) -> Patch | None:
        """What the browser is sent of a change in the source ``box`` (the whole mask for None), at ``canvas`` size."""
        if self.region is None or self.send is None or canvas[0] <= 0 or canvas[1] <= 0:
            return None
        height, width = self.region.shape
        cw, ch = canvas
        if box is None:
            cbox, full = (0, 0, cw, ch), True
        else:
            x0, y0, x1, y1 = box
            reach = abs(self.grow)
            x0, y0, x1, y1 = max(0, x0 - reach), max(0, y0 - reach), min(width, x1 + reach), min(height, y1 + reach)
            if x1 <= x0 or y1 <= y0:
                return None
            left, top = math.floor(x0 * cw / width), math.floor(y0 * ch / height)
            right, bottom = min(cw, math.ceil(x1 * cw / width)), min(ch, math.ceil(y1 * ch / height))
            cbox, full = (left, top, max(1, right - left), max(1, bottom - top)), False
            full = cbox == (0, 0, cw, ch)
        painted = np.packbits(region_in_box(self.region, canvas, cbox), axis=1).tobytes()
        send = None if self.send is self.region else np.packbits(region_in_box(self.send, canvas, cbox), axis=1).tobytes()
        return Patch(cbox, full, painted, send)

    def problems(self, primary: EncodedImage | None) -> list[Violation]:
        """The mask rules the mask to send breaks (none without a mask)."""
        if self.region is None or primary is None or self.send_count == 0:
            return []
        return _violations((self.region.shape[1], self.region.shape[0]), self.send_count, primary)

    def checks(self, primary: EncodedImage | None) -> list[dict[str, Any]]:
        """The ``mask_checks`` trait: each mask rule with whether the mask to send passes it."""
        if primary is None:
            return []
        if self.send_count == 0:
            return [{"label": "No mask", "ok": True, "message": "Nothing painted: the model may change the whole image."}]
        failed = {v.rule: v for v in self.problems(primary)}
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
        return checks
