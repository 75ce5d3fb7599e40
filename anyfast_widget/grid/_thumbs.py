"""Pictures for the grid's browser view: thumbnails by result id and size (kept in a cache), and the A/B difference heatmap.

Pictures never travel as JSON: these are the bytes of binary messages. Reading a
result's picture decodes it; :class:`Lightly` drops it again afterwards unless it
was in memory already, so a big grid never holds every picture.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from ..core import difference, encode_preview
from ..store import ImageResult

THUMB_EDGES = (128, 256, 512, 768, 1536)  # sizes the browser may ask for (a request is rounded up to one)
AB_EDGE = 768  # the difference heatmap's long edge
THUMBS_PER_MESSAGE = 12  # the first pictures show before a large batch is done
_THUMB_CACHE = 1024  # encoded thumbnails kept in Python (a 256 px JPEG is ~15 kB)

Thumb = tuple[bytes, str, tuple[int, int]]  # encoded bytes, MIME type, size


class Lightly:
    """Read a result's image for a moment: the decoded picture is dropped again afterwards
    unless it was already in memory (a big grid must not hold every picture)."""

    def __init__(self, results: Iterable[ImageResult]) -> None:
        self.results = [r for r in results if not r.loaded]  # nothing held yet

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        for result in self.results:
            result.release()


class Thumbnails:
    """Encoded thumbnails of results, by result id and size; ``find(result_id)`` gives a result or raises KeyError."""

    def __init__(self, find: Callable[[str], ImageResult], limit: int = _THUMB_CACHE) -> None:
        self._find = find
        self._limit = limit
        self._cache: OrderedDict[tuple[str, int], Thumb] = OrderedDict()

    def get(self, result_id: str, edge: int = 256) -> Thumb:
        """The result's picture with long edge ``edge`` (rounded up to one of :data:`THUMB_EDGES`)."""
        edge = next((e for e in THUMB_EDGES if e >= edge), THUMB_EDGES[-1])
        key = (result_id, edge)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = self._find(result_id)
        with Lightly([result]):
            made = encode_preview(result.image, edge)
        self._cache[key] = made
        while len(self._cache) > self._limit:
            self._cache.popitem(last=False)
        return made

    def batch(self, ids: list[str], edge: int) -> tuple[list[dict[str, Any]], list[bytes], list[str]]:
        """One ``thumbs`` answer: an item (id, MIME type, size) and a buffer per picture made, and the ids that could not be."""
        items, buffers, missing = [], [], []
        for result_id in ids:
            try:
                data, mime, size = self.get(result_id, edge)
            except (KeyError, OSError, ValueError):
                missing.append(result_id)
                continue
            items.append({"id": result_id, "mime": mime, "size": list(size)})
            buffers.append(data)
        return items, buffers, missing


def difference_jpeg(first: ImageResult, second: ImageResult) -> tuple[bytes, float, tuple[int, int]]:
    """The difference heatmap of two results at :data:`AB_EDGE` px, as JPEG bytes; its mean difference (0-1); its size."""
    with Lightly([first, second]):
        heat, mean = difference(first.image, second.image, edge=AB_EDGE)
    buffer = io.BytesIO()
    heat.save(buffer, "JPEG", quality=90)  # a heatmap needs no exact pixels; a PNG of noise is 4x larger
    return buffer.getvalue(), mean, heat.size
