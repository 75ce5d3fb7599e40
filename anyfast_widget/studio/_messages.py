"""Messages from the browser: each click, upload and download turned into a call on the studio's Python API.

The messages are listed in ``js/README.md``. Each is checked first (``_limits``):
a message that breaks a rule (an unknown type or field, an index out of range, a
result id that names no result, too many or too large files) is refused whole,
with one notice. A click never leaves a traceback in the kernel: what goes wrong
is shown in the studio's ``notice``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..core import CANVAS_EDGE, ValidationError, encode_preview, error_card
from ._gallery import Gallery
from ._limits import Refused, check_message
from ._runs import Runner

if TYPE_CHECKING:
    from ..store import ImageResult
    from ._studio import ImageStudio


def retrieve_exception(task: asyncio.Task[Any]) -> None:
    """Done-callback of a run started by a click: its error is shown in the studio, so asyncio need not log it."""
    if not task.cancelled():
        task.exception()


class BrowserMessages:
    """The handler of ``studio``'s custom messages (``studio.on_msg``)."""

    def __init__(self, studio: ImageStudio, runner: Runner, gallery: Gallery) -> None:
        self._studio = studio
        self._runner = runner
        self._gallery = gallery

    def __call__(self, _widget: Any, content: Any, buffers: list[Any] | None) -> None:
        studio = self._studio
        try:
            message = check_message(content, buffers or [], sources=len(studio._sources))
            kind = message["type"]
            if kind == "run":
                if not self._runner.busy:
                    studio.run().add_done_callback(retrieve_exception)
            elif kind == "cancel":
                studio.cancel()
            elif kind == "add_sources":
                self._add_uploads(message["names"], message["files"])
            elif kind == "remove_source":
                studio.remove_source(message["index"])
            elif kind == "move_source":
                studio.move_source(message["from"], message["to"])
            elif kind == "use_as_source":
                studio.use_as_source(self._result(message["id"], "use_as_source.id"))
            elif kind == "fetch":
                self._send_file(self._result(message["id"], "fetch.id"), message["purpose"])
            elif kind == "mask_edit":
                self._edit_mask(message["edit"])
            elif kind == "mask_undo":
                studio.undo_mask()
            elif kind == "mask_redo":
                studio.redo_mask()
            elif kind == "mask_sync":
                studio._send_mask(None)
            elif kind == "view":
                self._send_view(message["box"], (message["width"], message["height"]))
            elif kind == "extend":
                studio.extend_canvas(**{k: v for k, v in message.items() if k != "type"})
            elif kind == "gallery_more":
                self._gallery.show_more()
            elif kind == "go_offline":
                studio.go_offline()
        except Refused as refused:
            studio._refuse(refused, "message")
        except Exception as error:  # never a traceback in the kernel for a click
            studio.notice = {"kind": "error", **error_card(error)}

    def _edit_mask(self, edit: dict[str, Any]) -> None:
        """One edit from the editor; one the rasterizer cannot apply (say, a colour pick off the image) is a notice."""
        try:
            self._studio.edit_mask(edit)
        except ValueError as error:
            if isinstance(error, ValidationError):
                raise
            self._studio.notice = {"kind": "error", "title": "A mask edit was not applied", "message": str(error), "hint": ""}

    def _send_view(self, box: list[float], size: tuple[int, int]) -> None:
        """Answer ``view``: that area of the full-resolution primary, at most ``size``, so a zoomed-in canvas is sharp."""
        crop = self._studio._sources.crop(box, size)
        if crop is not None:
            area, data, mime = crop
            self._studio.send({"type": "view", "box": list(area), "mime": mime}, [data])

    def _result(self, result_id: str, field: str) -> ImageResult:
        try:
            return self._gallery.find(result_id)
        except KeyError:
            problem = f"no result {result_id!r} is in this studio's run store."
            raise Refused(field, "unknown_result", problem, "pick a result the gallery shows.") from None

    def _add_uploads(self, names: list[str], files: list[Any]) -> None:
        """Add every file that is usable; one notice lists those that are not."""
        problems = []
        for name, data in zip(names, files):
            try:
                self._studio.add_source(bytes(data), name=name)
            except ValidationError as error:
                problems.append(f"{name}: {error.violations[0].message} {error.violations[0].fix}")
        if problems:
            title = f"{len(problems)} file(s) not added"
            self._studio.notice = {"kind": "error", "title": title, "message": "\n".join(problems), "hint": ""}

    def _send_file(self, result: ImageResult, purpose: str) -> None:
        """Answer ``fetch``: the result's file to download, or a display-sized copy to show enlarged."""
        if purpose == "enlarge":
            data, mime, _ = encode_preview(result.image, CANVAS_EDGE)
        else:
            data, mime = result.data, f"image/{result.format}"
        self._studio.send({"type": "file", "id": result.id, "purpose": purpose, "name": result.path.name, "mime": mime}, [data])
