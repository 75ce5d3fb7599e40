"""The studio's gallery: the results it shows, newest first (its run store's history too), as the browser draws them.

A result kept outside its mask is shown as its derived copy; the raw result it came
from (annotated ``shown_as``) stays in the store but not in the gallery.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ..core import GALLERY_EDGE, encode_preview
from ..store import ImageResult, RunStore


class GalleryTrait(Protocol):
    """What shows the gallery: the studio's ``gallery`` trait."""

    gallery: list[dict[str, Any]]
    gallery_more: bool


def gallery_entry(result: ImageResult) -> dict[str, Any]:
    """``result`` as the browser shows it (an entry of the ``gallery`` trait), with a preview of at most GALLERY_EDGE."""
    preview, mime, _ = encode_preview(result.image, GALLERY_EDGE)
    change = result.annotations.get("mask_change")
    return {
        "id": result.id,
        "endpoint": result.endpoint,
        "prompt": result.prompt,
        "revised_prompt": result.revised_prompt,
        "size": list(result.size),
        "format": result.format,
        "created_at": result.created_at,
        "elapsed_s": result.timings.get("total_s"),
        "preview": preview,
        "preview_mime": mime,
        "change_outside": round(100 * change["changed_outside"], 2) if change else None,
        "change_inside": round(100 * change["changed_inside"], 2) if change else None,
        "kept_outside": "derivation" in result.annotations,
        "params": result.params,
        "file_name": result.path.name,
    }


class Gallery:
    """The results shown on ``shown``'s ``gallery`` trait, newest first; their files are in ``store``.

    It shows at most ``page`` results at first, and ``page`` more each time the user
    asks (:meth:`show_more`), so the widget keeps a bounded height however long the
    run store's history is; ``gallery_more`` says whether older ones are left.
    """

    def __init__(self, store: RunStore, shown: GalleryTrait, page: int = 24) -> None:
        self._store = store
        self._shown = shown
        self.page = max(1, page)
        self.limit = self.page  # how many the gallery shows now
        self.results: list[ImageResult] = []

    def _history(self, count: int) -> tuple[list[ImageResult], bool]:
        """The newest ``count`` results to show (a raw result shown as its derived copy left out), and whether there are more."""
        found = [r for r in self._store.find(limit=2 * count + 2) if "shown_as" not in r.annotations]
        return found[:count], len(found) > count

    def load_history(self, limit: int) -> None:
        """Start with the newest ``limit`` results of the run store (none for 0)."""
        if limit <= 0:
            return
        self.limit = limit
        self.results, more = self._history(limit)
        self._shown.gallery = [gallery_entry(r) for r in self.results]
        self._shown.gallery_more = more

    def show_more(self) -> None:
        """Show ``page`` more of the older results."""
        self.limit = len(self.results) + self.page
        found, more = self._history(self.limit)
        known = {r.id for r in self.results}
        older = [r for r in found if r.id not in known]
        self.results += older
        self._shown.gallery = [*self._shown.gallery, *(gallery_entry(r) for r in older)]
        self._shown.gallery_more = more

    def find(self, result_id: str) -> ImageResult:
        """The result of this id, shown here or only in the store; KeyError if there is none."""
        return next((r for r in self.results if r.id == result_id), None) or self._store.get(result_id)

    async def add(self, result: ImageResult) -> None:
        """Show a new result first (its preview is made off the event loop); the oldest shown makes room for it."""
        self.results.insert(0, result)
        entry = await asyncio.to_thread(gallery_entry, result)
        entries = [entry, *self._shown.gallery]
        if len(entries) > self.limit:
            del self.results[self.limit :]
            entries = entries[: self.limit]
            self._shown.gallery_more = True
        self._shown.gallery = entries
