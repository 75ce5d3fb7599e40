"""What a failed disk or index operation means: a StorageError naming the path, the cause and the fix.

The operating system and SQLite say "[Errno 28]" or "attempt to write a readonly
database"; a person needs to hear which folder, why, and what to do, and, when a
result was being saved, that its bytes are not lost.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any

from ..core import StorageError

# errno -> (reason, what happened, what to do); {root} is the run directory.
_OS_CAUSES: dict[int, tuple[str, str, str]] = {
    errno.ENOSPC: ("disk_full", "the disk is full", "Free some space on the disk of {root}, or use a run_dir on another disk."),
    errno.EDQUOT: ("disk_full", "the disk quota is used up", "Free some space in your quota, or use a run_dir elsewhere."),
    errno.EROFS: (
        "read_only",
        "the file system is read-only",
        "Its history can still be browsed; for new results, pass a writable run_dir=.",
    ),
    errno.EACCES: ("no_permission", "permission was denied", "Check the owner and permissions of {root} (ls -ld)."),
    errno.EPERM: (
        "no_permission",
        "the operation is not permitted (an immutable file, or a restrictive mount)",
        "Check the attributes and permissions of {root} (lsattr, ls -ld).",
    ),
    errno.ENOENT: ("missing", "it does not exist (removed meanwhile?)", "Check that {root} is still there, and open it again."),
    errno.ENOTDIR: ("not_a_folder", "a file is in the way, not a folder", "Pass a folder as run_dir=, or move that file away."),
    errno.EEXIST: ("not_a_folder", "a file is in the way, not a folder", "Pass a folder as run_dir=, or move that file away."),
    errno.EIO: ("io_error", "the disk reported an input/output error", "The disk may be failing: check it; copy {root} off it."),
}
# SQLite's error names -> the same.
_SQLITE_CAUSES: dict[str, tuple[str, str, str]] = {
    "SQLITE_FULL": _OS_CAUSES[errno.ENOSPC],
    "SQLITE_READONLY": ("read_only", "the index cannot be written here", "For new results, pass a writable run_dir=."),
    "SQLITE_CANTOPEN": ("unreadable", "the index cannot be opened", "Check the permissions of {root} and of index.sqlite in it."),
    "SQLITE_PERM": _OS_CAUSES[errno.EACCES],
    "SQLITE_AUTH": _OS_CAUSES[errno.EACCES],
    "SQLITE_IOERR": _OS_CAUSES[errno.EIO],
    "SQLITE_CORRUPT": ("damaged", "the index is damaged", "Open the run directory again: a damaged index is rebuilt."),
    "SQLITE_NOTADB": ("damaged", "index.sqlite is not a database", "Open the run directory again: a damaged index is rebuilt."),
}
_MESSAGES = (("readonly", "SQLITE_READONLY"), ("disk is full", "SQLITE_FULL"), ("not a database", "SQLITE_NOTADB"),
             ("malformed", "SQLITE_CORRUPT"), ("unable to open", "SQLITE_CANTOPEN"), ("i/o error", "SQLITE_IOERR"))  # fmt: skip
_UNKNOWN = ("failed", "it failed", "Check the run directory {root}: that it exists, can be written, and has free space.")


def sqlite_code(error: sqlite3.Error) -> str:
    """SQLite's name for the error (``SQLITE_READONLY``, ...), extended codes folded into their primary one."""
    name = getattr(error, "sqlite_errorname", None) or ""
    if not name:  # (older SQLite bindings): read it off the message
        text = str(error).lower()
        return next((code for needle, code in _MESSAGES if needle in text), "")
    primary = name.split("_")
    return "_".join(primary[:2])


def is_damaged(error: sqlite3.Error) -> bool:
    """Whether the index itself is broken (garbage, truncated, not a database), as opposed to busy or unwritable."""
    return sqlite_code(error) in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def is_read_only(error: BaseException) -> bool:
    """Whether the error says the place cannot be written (read-only mount, no permission)."""
    if isinstance(error, sqlite3.Error):
        return sqlite_code(error) in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")
    return isinstance(error, OSError) and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM)


def _cause(error: BaseException) -> tuple[str, str, str]:
    if isinstance(error, sqlite3.Error):
        return _SQLITE_CAUSES.get(sqlite_code(error), _UNKNOWN)
    if isinstance(error, OSError) and error.errno is not None:
        return _OS_CAUSES.get(error.errno, _UNKNOWN)
    return _UNKNOWN


def why_read_only(root: Path) -> str:
    """Why ``root`` cannot be written: a read-only file system, or permissions."""
    try:
        if os.statvfs(root).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except (AttributeError, OSError):  # (no statvfs on Windows)
        pass
    return "this process may not write into it"


def storage_error(
    error: BaseException, root: Path, doing: str, *, path: Path | None = None, result: Any = None, data: bytes | None = None
) -> StorageError:
    """The StorageError for ``error``, raised while ``doing`` (say, "save a result into") in the run directory ``root``.

    ``result`` (and its image ``data``) is the result that could not be saved: the error says where its bytes are.
    """
    if isinstance(error, StorageError):  # already says it all
        return error
    reason, what, fix = _cause(error)
    where = path or Path(getattr(error, "filename", None) or root)
    message = f"Could not {doing} {where}: {what} ({error})."
    hint = fix.format(root=root)
    if result is not None:
        held = len(data) if data is not None else 0
        message += f" The image ({held:,} bytes) is not lost: it is still in memory, in this error's .result."
        hint += " error.result.save_to('/another/folder') writes it and its metadata there."
    return StorageError(message, path=where, reason=reason, result=result, data=data, hint=hint)


def read_only_error(
    root: Path, why: str, doing: str = "save a result into", *, result: Any = None, data: bytes | None = None
) -> StorageError:
    """The StorageError for writing into a run directory that was opened read-only (``why`` says what made it so)."""
    message = f"Could not {doing} {root}: the run directory is read-only here ({why}); it was opened for browsing only."
    hint = "Its history can still be read (find, get, problems); for new results, pass a writable run_dir=."
    if result is not None:
        message += " The image is not lost: it is still in memory, in this error's .result."
        hint += " error.result.save_to('/another/folder') writes it and its metadata there."
    return StorageError(message, path=root, reason="read_only", result=result, data=data, hint=hint)
