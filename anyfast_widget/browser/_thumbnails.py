"""The static copies' thumbnails: small JPEGs of results, made once each and kept by result (a few hundred).

Making one decodes the whole picture (about 20 ms for a 1024 px PNG), so a copy
renewed as a widget fills in, or a widget shown again, must not make them again.
Several are made side by side in threads (decoding lets go of the GIL).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol


class ImageResult(Protocol):
    """What a thumbnail is made of: a stored result (``store.ImageResult``)."""

    id: str
    path: Path

    def thumbnail_jpeg(self, edge: int, quality: int = 75) -> bytes: ...


KEPT = 256  # thumbnails kept (a few kB each), by result and edge
_THREADS = 4
_made: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _key(result: ImageResult, edge: int) -> tuple[str, str, int]:
    return (result.id, str(result.path), edge)


def made(result: ImageResult, edge: int) -> bytes | None:
    """The thumbnail of ``result`` at ``edge`` if it was made already, else None (nothing is decoded)."""
    with _lock:
        return _made.get(_key(result, edge))


def thumbnail(result: ImageResult, edge: int) -> bytes:
    """``result`` as a JPEG of at most ``edge`` pixels on its long side, made once; OSError if it cannot be read."""
    key = _key(result, edge)
    with _lock:
        if key in _made:
            _made.move_to_end(key)
            return _made[key]
    data = result.thumbnail_jpeg(edge)
    with _lock:
        _made[key] = data
        while len(_made) > KEPT:
            _made.popitem(last=False)
    return data


def make_ahead(results: Sequence[ImageResult], edge: int, timeout: float | None = None) -> None:
    """Make the thumbnails of ``results`` not made yet side by side in threads, waiting at most ``timeout`` seconds.

    One that cannot be read is left for :func:`thumbnail` to report.
    """
    global _pool
    missing = [r for r in results if made(r, edge) is None]
    if not missing or (len(missing) < 2 and timeout is None):
        return  # made where it is shown
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="anyfast-static")
        pool = _pool
    wait([pool.submit(thumbnail, r, edge) for r in missing], timeout=timeout)
