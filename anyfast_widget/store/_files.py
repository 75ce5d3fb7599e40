"""Files that are written whole or not at all, and the empty files reserved for a result still on its way.

A file is written under a temporary name and renamed into place, so a reader (or a
process killed halfway) sees the old file or the whole new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from concurrent.futures import Future
from pathlib import Path

_O_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
# How long a save waits for its reserved files before making its own (they are normally
# ready long before the answer arrives; this only bounds a stuck helper thread).
_RESERVE_WAIT_S = 5.0
# Reserved and temporary files older than this belong to a process that died mid-request (a killed
# kernel): no request lives this long (the longest timeout is 10 minutes), so they are removed on opening.
STALE_RESERVATION_S = 3600.0
RESERVED_PREFIX = ".reserved-"


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until every byte is written (one call for any regular file in practice)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def create_tmp(folder: Path, name: str) -> tuple[int, Path]:
    """A new, empty, exclusively created temporary file (its folder made if missing)."""
    path = folder / name
    try:
        return os.open(path, _O_NEW, 0o666), path
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(path, _O_NEW, 0o666), path


def unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def fill_and_rename(fd: int, tmp: Path, data: bytes, path: Path) -> None:
    """Write ``data`` into the open temporary file ``tmp`` and rename it to ``path``; ``fd`` is always closed."""
    try:
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path)
        except FileNotFoundError:  # the target folder was removed meanwhile: make it again, once
            if not os.path.exists(tmp):
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or the whole new one, never half."""
    fd, tmp = create_tmp(path.parent, f".{path.name}.{secrets.token_hex(4)}.tmp")
    fill_and_rename(fd, tmp, data, path)


class ReservedFiles:
    """Two empty temporary files, for a result's image and its sidecar, made before the result exists."""

    __slots__ = ("image", "sidecar")

    def __init__(self, folder: Path) -> None:
        token = secrets.token_hex(6)
        self.image = create_tmp(folder, f"{RESERVED_PREFIX}{token}.image.tmp")
        try:
            self.sidecar = create_tmp(folder, f"{RESERVED_PREFIX}{token}.json.tmp")
        except BaseException:
            os.close(self.image[0])
            unlink_quietly(self.image[1])
            raise

    def fill(self, path: Path, data: bytes, sidecar_path: Path, sidecar: bytes) -> None:
        """Sidecar first, then image, each renamed into place whole; on failure neither is left, nor anything temporary."""
        try:
            fill_and_rename(*self.sidecar, sidecar, sidecar_path)
        except BaseException:
            self._discard_image()
            raise
        try:
            fill_and_rename(*self.image, data, path)
        except BaseException:
            unlink_quietly(sidecar_path)
            raise

    def _discard_image(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.image[0])
        unlink_quietly(self.image[1])

    def discard(self) -> None:
        self._discard_image()
        with contextlib.suppress(OSError):
            os.close(self.sidecar[0])
        unlink_quietly(self.sidecar[1])


def _discard_files(future: Future[ReservedFiles]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().discard()


class Reservation:
    """Temporary files being made for one call's result: :meth:`take` them to save, or :meth:`release` them.

    Both are safe from any thread and in any order; whichever comes first wins, and
    files nobody takes are removed (when they are made, if that is still under way).
    """

    def __init__(self, future: Future[ReservedFiles] | None) -> None:
        self._future = future
        self._lock = threading.Lock()
        self._open = True

    def take(self) -> ReservedFiles | None:
        """The reserved files, or None (already taken or released, or making them failed): then save without."""
        with self._lock:
            if not self._open or self._future is None:
                return None
            self._open = False
        try:
            return self._future.result(timeout=_RESERVE_WAIT_S)
        except Exception:  # noqa: BLE001 - a failed or stuck reservation only means saving the ordinary way
            self._future.add_done_callback(_discard_files)
            return None

    def release(self) -> None:
        """Give the files back unused (the call failed); a no-op after :meth:`take`."""
        with self._lock:
            if not self._open or self._future is None:
                return
            self._open = False
        self._future.add_done_callback(_discard_files)
