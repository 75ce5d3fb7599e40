"""The studio's mask API: the mask and its edits, undo and redo, outpainting, and what the browser is told of each change.

A part of :class:`ImageStudio` (a mixin, so that these are the widget's own methods,
documented where they are): every edit the editor's tools make is a call here, and
each change of the mask ends in one ``mask`` message to the browser with just the
box that changed (``_send_mask``), and in the traits ``coverage``, ``mask_checks``
and ``mask_history``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..browser import Refused
from ..core import EncodedImage, Extension, Mask, ValidationError, Violation, format_size
from ._limits import check_mask_edit, check_mask_edits
from ._mask_history import Box
from ._mask_state import MaskState, mask_violations
from ._outpainting import extend_primary
from ._sources import Sources

if TYPE_CHECKING:
    from ..core import MaskInput


class MaskEditing:
    """The mask half of the studio; the widget provides the traits and ``_refresh_settings``, ``send``, ``hold_sync``."""

    _sources: Sources
    _mask: MaskState
    _mask_judged: tuple[bool, bool] | None
    canvas_size: list[int]
    coverage: float
    mask_checks: list[dict[str, Any]]
    mask_history: dict[str, int]
    notice: dict[str, Any]
    run_blocked: str

    def _refresh_settings(self) -> None:
        raise NotImplementedError

    def _show_sources(self, *, keep_mask: bool) -> None:
        raise NotImplementedError

    def extend_canvas(
        self,
        left: int = 0,
        top: int = 0,
        right: int = 0,
        bottom: int = 0,
        *,
        aspect: str | float | None = None,
        size: str | tuple[int, int] | None = None,
        fill: str = "transparent",
        overlap: int = 16,
    ) -> Extension:
        """Outpaint: make the primary larger and the mask exactly the new area, ready for an edit.

        Add pixels to any sides, or ask for an ``aspect`` ("16:9") or a ``size``
        ("2048x1152"); the original stays at its offset, the new area is transparent
        (or its ``fill="edge"`` pixels repeated). The size is snapped to the API's rules,
        and a notice says so when it was. The mask reaches ``overlap`` px into the
        original so the seam blends; "keep outside" pastes the original back exactly.
        Returns the plan (``size``, ``offset``, ``scale``, ``snapped``).
        """
        extension, mask = extend_primary(
            self._sources, left=left, top=top, right=right, bottom=bottom, aspect=aspect, size=size, fill=fill, overlap=overlap
        )
        self._show_sources(keep_mask=False)
        self.mask = mask
        if extension.snapped:
            message = " ".join(extension.snapped)
            hint = f"The canvas is {format_size(*extension.size)}, a size the API takes."
            self.notice = {"kind": "info", "title": "The new canvas size was adjusted", "message": message, "hint": hint}
        return extension

    @property
    def mask(self) -> Mask | None:
        """The mask painted so far (and any mask assigned), at the primary's full size; None without sources.

        ``.region`` is True where the model may edit; ``.rgba`` has alpha 0 there.
        Assign an array, an image or a :class:`Mask` (a segmentation model's output,
        say) to show it on the canvas, where the brush can edit it further.
        """
        return self._mask.mask

    @mask.setter
    def mask(self, value: MaskInput | None) -> None:
        primary = self._sources.primary
        if primary is None:
            message = "there is no source image for the mask to belong to."
            raise ValidationError([Violation("mask", "primary", message, "add a source image first.")])
        if value is None:
            self._reset_mask(None)
        else:
            mask = Mask.coerce(value)
            if wrong_size := [v for v in mask_violations(mask, primary.encoded) if v.rule == "same_size"]:
                raise ValidationError(wrong_size)
            self._reset_mask(mask)
        self._refresh_settings()

    @property
    def mask_to_send(self) -> Mask | None:
        """The mask as it will be sent: the painted one grown or shrunk by ``mask_tools["grow"]``; None when empty."""
        return self._mask.to_send

    def _reset_mask(self, base: Mask | None, *, send: bool = True) -> None:
        """Start the mask again from ``base`` (or from nothing), forgetting the edits made since."""
        primary = self._sources.primary
        self._mask.reset(base, primary.encoded.size if primary is not None else None)
        self._mask_changed(None, send=send)

    @property
    def mask_edits(self) -> list[dict[str, Any]]:
        """The mask edits made since the mask was set (strokes, selections, clears, inverts; ``js/README.md``), oldest first.

        Assign a list to start again from the mask set from Python and apply these
        edits in order, each one undoable.
        """
        return self._mask.edits

    @mask_edits.setter
    def mask_edits(self, edits: list[dict[str, Any]]) -> None:
        try:
            edits = check_mask_edits(edits)
        except Refused as refused:
            raise ValueError(str(refused)) from None
        self._primary_for_mask()
        self._mask.replace_edits(list(edits), self._sources.primary_image)
        self._mask_changed(None)

    @property
    def mask_redo(self) -> list[dict[str, Any]]:
        """The mask edits undone that :meth:`redo_mask` can do again, the most recently undone last."""
        return self._mask.redo_edits

    def edit_mask(self, edit: dict[str, Any]) -> None:
        """Apply one mask edit, as the editor's tools do: ``{"op": "rect", "box": [x0, y0, x1, y1], "mode": "paint"}``.

        The ops (``stroke``, ``rect``, ``ellipse``, ``polygon``, ``color``, ``clear``,
        ``invert``) and their fields are in ``js/README.md``; coordinates are source
        pixels. Each edit is one undo step. ValueError says what is wrong with a bad one.
        """
        try:
            check_mask_edit(edit, "edit")
        except Refused as refused:
            raise ValueError(str(refused)) from None
        self._primary_for_mask()
        box = self._mask.edit(dict(edit), self._sources.primary_image)
        self._mask_changed(box)

    def undo_mask(self) -> bool:
        """Take back the newest mask edit; False when there is none."""
        box = self._mask.undo()
        if box is not None:
            self._mask_changed(box)
        return box is not None

    def redo_mask(self) -> bool:
        """Do the most recently undone mask edit again; False when there is none."""
        box = self._mask.redo()
        if box is not None:
            self._mask_changed(box)
        return box is not None

    def _primary_for_mask(self) -> None:
        if self._sources.primary is None:
            message = "there is no source image for the mask to belong to."
            raise ValidationError([Violation("mask", "primary", message, "add a source image first.")])

    def _mask_changed(self, box: Box | None, *, send: bool = True) -> None:
        """Show what changed in the mask (``box`` of the source; None: all of it); the settings are judged again when it matters.

        Whether the mask breaks a rule depends only on whether it marks nothing or
        everything, so a stroke in between costs no new judgement.
        """
        mask = self._mask
        state = (mask.send_count == 0, mask.region is not None and mask.send_count == mask.region.size)
        with self.hold_sync():
            self.coverage = mask.coverage
            self.mask_history = mask.history.counts if mask.history else {"undo": 0, "redo": 0}
            if box is None or state != self._mask_judged:
                self._mask_judged = state
                self.mask_checks = mask.checks(self._primary_encoded())
                self._refresh_settings()
        if send:
            self._send_mask(box)

    def _send_mask(self, box: Box | None) -> None:
        """Send the browser the mask in ``box`` at display size (all of it for None): one ``mask`` message."""
        patch = self._mask.patch(box, tuple(self.canvas_size))  # type: ignore[arg-type]
        if patch is None:
            return
        buffers = [patch.painted] if patch.send is None else [patch.painted, patch.send]
        content = {"type": "mask", "version": self._mask.version, "box": list(patch.box), "full": patch.full}
        self.send({**content, "size": list(self.canvas_size)}, buffers)

    def _primary_encoded(self) -> EncodedImage | None:
        return self._sources.primary.encoded if self._sources.primary is not None else None
