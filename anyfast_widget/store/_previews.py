"""Previews kept in the run directory: display-sized copies of results, made once, so that a long history opens fast.

Layout inside the run directory::

    previews/<edge>/<result id>.jpg   a result's preview, its long edge at most <edge> (JPEG; PNG if it has alpha)
    previews/.<name>.tmp              one being written: renamed into place whole (stale ones are swept on opening)

A preview is a cache, never the truth: it is made from the result's image the first
time it is asked for and read back after that. One that is missing, cut short or
unreadable is made again; one that cannot be written (a read-only run directory, a
full disk) is simply not kept. Nothing here is an error to the user, and previews are
no part of what :meth:`RunStore.problems` checks or :meth:`RunStore.repair` mends:
they live outside ``images/``, and deleting the folder loses nothing.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from ..core import decode_image, encode_preview, whole_image_size
from ._files import create_tmp, fill_and_rename
from ._result import ImageResult

logger = logging.getLogger("anyfast_widget")
PREVIEWS = "previews"
_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png"}
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")  # a result id that is a plain file name


class PreviewCache:
    """The kept previews of the results in the run directory ``root`` (see the module docstring); safe from any thread."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _paths(self, result_id: str, edge: int) -> list[Path]:
        """Where the preview of ``result_id`` at ``edge`` may be, JPEG first; none for an id that is no plain file name."""
        if not _SAFE_ID.match(result_id):
            return []
        folder = self.root / PREVIEWS / str(int(edge))
        return [folder / f"{result_id}{suffix}" for suffix in _SUFFIXES.values()]

    def cached(self, result: ImageResult, edge: int) -> tuple[bytes, str] | None:
        """The kept preview of ``result`` at ``edge`` and its MIME type, if one is there whole; else None."""
        for path, mime in zip(self._paths(result.id, edge), _SUFFIXES):
            try:
                data = path.read_bytes()
            except OSError:  # not there (or unreadable): it is made again
                continue
            size = whole_image_size(data)
            if size is not None and max(size) <= edge and (mime == "image/png") == data.startswith(b"\x89PNG"):
                return data, mime
        return None

    def get(self, result: ImageResult, edge: int) -> tuple[bytes, str] | None:
        """``result``'s preview at ``edge`` (long edge at most ``edge``) and its MIME type: the kept one if it is whole,
        else made from the result's image now and kept. None if the image itself cannot be read."""
        found = self.cached(result, edge)
        return found if found is not None else self.make(result, edge)

    def make(self, result: ImageResult, edge: int) -> tuple[bytes, str] | None:
        """Make ``result``'s preview at ``edge`` from its image and keep it; None if the image cannot be read.

        A picture already in memory (a result just saved) is used as it is; otherwise the file is
        decoded without being kept on the result, so a long history does not hold every picture.
        """
        try:
            picture = result.image if result.loaded else decode_image(result.path.read_bytes())
            data, mime, _ = encode_preview(picture, edge)
        except Exception as error:  # noqa: BLE001 - any unreadable image only means no preview (find() reports damage)
            logger.warning("No preview of result %s could be made from %s: %s", result.id, result.path, error)
            return None
        self._keep(result.id, edge, mime, data)
        return data, mime

    def _keep(self, result_id: str, edge: int, mime: str, data: bytes) -> None:
        """Write a preview whole or not at all; a run directory that refuses it (read-only, full) only loses the cache."""
        paths = dict(zip(_SUFFIXES, self._paths(result_id, edge)))
        if mime not in paths or not (self.root / "images").is_dir():  # (no results here: make no folders)
            return
        path = paths[mime]
        try:
            # The temporary file lies in previews/ itself, so that opening the store sweeps one folder of a few names.
            fd, tmp = create_tmp(self.root / PREVIEWS, f".{path.name}.{secrets.token_hex(4)}.tmp")
            fill_and_rename(fd, tmp, data, path)
        except OSError as error:
            logger.debug("A preview was not kept at %s: %s", path, error)
