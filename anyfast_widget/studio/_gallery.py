"""The studio's gallery: the results it shows, newest first (its run store's history too), as the browser draws them.

A result kept outside its mask is shown as its derived copy; the raw result it came
from (annotated ``shown_as``) stays in the store but not in the gallery.

The history shows at once: its entries come with their metadata, and those whose preview
is not in the run store's preview cache come without one (``preview`` None: the browser
draws a placeholder of the picture's shape). The missing previews are made off the event
loop (``_preview_fill``), kept in the cache for the next opening, and put in the trait in
a few batches. A new result comes with its preview (its picture is in memory), which is kept too.
Every change to the ``gallery`` trait is made under one lock, from whichever thread makes it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol

from ..core import GALLERY_EDGE
from ..store import ImageResult, PreviewCache, RunStore
from ._preview_fill import Preview, PreviewFill

NO_PREVIEW: Preview = (b"", "")  # the picture could not be read: the browser says "no preview"


class GalleryTrait(Protocol):
    """What shows the gallery: the studio's ``gallery`` trait."""

    gallery: list[dict[str, Any]]
    gallery_more: bool


def gallery_entry(result: ImageResult, preview: Preview | None = None) -> dict[str, Any]:
    """``result`` as the browser shows it (an entry of the ``gallery`` trait): ``preview`` is its picture (long edge at
    most GALLERY_EDGE) and MIME type, None while it is being made, NO_PREVIEW if it cannot be."""
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
        "preview": preview[0] if preview is not None else None,
        "preview_mime": preview[1] if preview is not None else None,
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
        self._lock = threading.RLock()  # the trait is changed from the caller's thread, the loop's and the fill's
        self._previews = PreviewCache(store.root)
        self._fill = PreviewFill(lambda r: self._previews.get(r, GALLERY_EDGE) or NO_PREVIEW, self._put_previews)

    def _history(self, count: int) -> tuple[list[ImageResult], bool]:
        """The newest ``count`` results to show (a raw result shown as its derived copy left out), and whether there are more."""
        found = [r for r in self._store.find(limit=2 * count + 2) if "shown_as" not in r.annotations]
        return found[:count], len(found) > count

    def _entries(self, results: list[ImageResult]) -> list[dict[str, Any]]:
        """Entries of ``results`` with the previews the cache holds (a few small files); the others are asked for."""
        cached = [self._previews.cached(r, GALLERY_EDGE) for r in results]
        self._fill.request(r for r, preview in zip(results, cached) if preview is None)
        return [gallery_entry(r, preview) for r, preview in zip(results, cached)]

    def load_history(self, limit: int) -> None:
        """Start with the newest ``limit`` results of the run store (none for 0); previews not cached follow."""
        if limit <= 0:
            return
        found, more = self._history(limit)
        with self._lock:
            self.limit = limit
            self.results = found
            self._shown.gallery = self._entries(found)
            self._shown.gallery_more = more

    def show_more(self) -> None:
        """Show ``page`` more of the older results (their previews follow, as in :meth:`load_history`)."""
        with self._lock:
            self.limit = len(self.results) + self.page
            found, more = self._history(self.limit)
            known = {r.id for r in self.results}
            older = [r for r in found if r.id not in known]
            self.results += older
            self._shown.gallery = [*self._shown.gallery, *self._entries(older)]
            self._shown.gallery_more = more

    def _put_previews(self, made: dict[str, Preview | None]) -> None:
        """Put a batch of previews into the entries still waiting for them (one trait sync for the batch)."""
        with self._lock:
            entries = self._shown.gallery
            changed = [
                _with_preview(e, made[e["id"]] or NO_PREVIEW) if e["preview"] is None and e["id"] in made else e for e in entries
            ]
            if any(a is not b for a, b in zip(changed, entries)):
                self._shown.gallery = changed

    def wait_for_previews(self, timeout: float | None = None) -> bool:
        """Wait until every preview asked for is in the trait; False if ``timeout`` seconds passed first."""
        return self._fill.wait(timeout)

    def close(self) -> None:
        """Stop making previews (the studio was closed): those not made yet stay placeholders."""
        self._fill.stop()

    def find(self, result_id: str) -> ImageResult:
        """The result of this id, shown here or only in the store; KeyError if there is none."""
        with self._lock:
            shown = next((r for r in self.results if r.id == result_id), None)
        return shown or self._store.get(result_id)

    async def add(self, result: ImageResult) -> None:
        """Show a new result first (its preview is made off the event loop, and kept); the oldest shown makes room for it."""
        preview = await asyncio.to_thread(self._previews.make, result, GALLERY_EDGE)
        entry = gallery_entry(result, preview or NO_PREVIEW)
        with self._lock:
            self.results.insert(0, result)
            entries = [entry, *self._shown.gallery]
            if len(entries) > self.limit:
                del self.results[self.limit :]
                entries = entries[: self.limit]
                self._shown.gallery_more = True
            self._shown.gallery = entries


def _with_preview(entry: dict[str, Any], preview: Preview) -> dict[str, Any]:
    """``entry`` with its preview in (a new dict: the trait's old value is not changed under the browser's feet)."""
    return {**entry, "preview": preview[0], "preview_mime": preview[1]}
