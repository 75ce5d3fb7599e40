"""The index of a run directory (index.sqlite): opened read-write or read-only, and rebuilt from the files when damaged.

One connection is kept open: closing the last one makes SQLite checkpoint and fsync,
which would cost more than the whole rest of saving a result. WAL lets readers and
writers in other processes work at once. On a read-only mount the index is opened
read-only (or, when SQLite cannot read it there, rebuilt in memory from the files),
so history can still be browsed. A damaged index (garbage, truncated, not a
database) is moved to ``quarantine/`` and rebuilt from the sidecars, on opening or
whenever SQLite reports the damage; never deleted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ._failures import is_damaged, is_read_only, storage_error
from ._quarantine import quarantine

logger = logging.getLogger("anyfast_widget")
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    prompt TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    file TEXT NOT NULL,
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    revised_prompt TEXT,
    request_id TEXT,
    params TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_hash ON results (request_hash);
CREATE INDEX IF NOT EXISTS results_by_time ON results (created_at);
"""
COLUMNS = ("id", "created_at", "endpoint", "prompt", "request_hash", "file", "format", "width", "height",
           "revised_prompt", "request_id", "params")  # fmt: skip
INDEX_NAME = "index.sqlite"
_LOCK_NAME = "index.sqlite.lock"  # held while a damaged index is replaced, so that one process does it
_SIDE_FILES = ("-wal", "-shm")


def insert_row(db: sqlite3.Connection, root: Path, meta: dict[str, Any], path: Path) -> None:
    """Index one result from its metadata (replacing the row of the same id)."""
    db.execute(
        "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            meta["id"],
            meta["created_at"],
            meta["endpoint"],
            meta["prompt"],
            meta.get("request_hash", ""),
            str(path.relative_to(root)),
            meta["format"],
            meta["width"],
            meta["height"],
            meta.get("revised_prompt"),
            meta.get("request_id"),
            json.dumps(meta.get("params", {}), sort_keys=True),
        ),
    )


def find_query(
    prompt: str | None, endpoint: str | None, request_hash: str | None, since: datetime | str | None, newest_first: bool
) -> tuple[str, list[Any]]:
    """The query for RunStore.find's filters: (rowid, id, file) of the matching rows, in order. ``prompt`` matches a
    substring (case-insensitive), the rest exactly; ``since`` is a moment (naive means UTC) or an ISO timestamp."""
    clauses: list[str] = []
    values: list[Any] = []
    if prompt is not None:
        clauses.append("instr(lower(prompt), lower(?)) > 0")
        values.append(prompt)
    if endpoint is not None:
        clauses.append("endpoint = ?")
        values.append(endpoint)
    if request_hash is not None:
        clauses.append("request_hash = ?")
        values.append(request_hash)
    if since is not None:
        if isinstance(since, datetime):
            since = (since if since.tzinfo else since.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
            since = since.isoformat(timespec="milliseconds")
        clauses.append("created_at >= ?")
        values.append(since)
    sql = "SELECT rowid, id, file FROM results"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    order = "DESC" if newest_first else "ASC"
    return sql + f" ORDER BY created_at {order}, id {order}", values


def _holds_results(root: Path) -> bool:
    try:
        with os.scandir(root / "images") as days:
            return any(days)
    except OSError:
        return False


def _healthy(path: Path) -> bool:
    """Whether the index file at ``path`` is missing (a new one will be made) or passes SQLite's own check."""
    if not path.exists():
        return True
    try:
        db = sqlite3.connect(path, timeout=60.0)
    except sqlite3.Error:
        return False
    try:
        return db.execute("PRAGMA quick_check(1)").fetchone()[0] == "ok"
    except sqlite3.DatabaseError as error:
        return not is_damaged(error)
    finally:
        db.close()


class Index:
    """The run directory's index, kept open; :meth:`run` does one transaction at a time, from any thread.

    ``rebuild`` fills an empty index from the files (the sidecars) and returns how many
    results it found. ``read_only`` is None, or why this index cannot be written here.
    With ``on_disk=False`` (a run directory not made yet) the index is empty, in memory,
    and nothing is made on disk; the run store opens the real one at its first save.
    """

    def __init__(
        self,
        root: Path,
        rebuild: Callable[[sqlite3.Connection], int],
        *,
        read_only: str | None = None,
        on_disk: bool = True,
    ) -> None:
        self.root = root
        self.path = root / INDEX_NAME
        self._rebuild = rebuild
        self._lock = threading.Lock()
        self.read_only: str | None = None
        self.in_memory = False
        self.on_disk = on_disk
        self._created = False  # whether opening made a new, empty table
        if not on_disk:
            self.read_only, self.in_memory = read_only, True
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
            self._db.executescript(SCHEMA)
        else:
            self._db = self._open_read_only(read_only) if read_only else self._open()

    # -- opening -----------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.path.exists() and not os.access(self.path, os.W_OK):  # SQLite would open it read-only, silently
            return self._open_read_only(f"its {INDEX_NAME} may not be written")
        try:
            db = self._connect_writable()
            if self._created and _holds_results(self.root):  # the index was deleted, or emptied
                try:
                    with db:
                        count = self._rebuild(db)
                except BaseException:
                    db.close()
                    raise
                if count:
                    logger.warning("%s had no index; it was rebuilt from the files: %d results.", self.root, count)
            return db
        except sqlite3.DatabaseError as error:
            if is_damaged(error):
                return self._replace_damaged(str(error))
            if is_read_only(error):
                return self._open_read_only(f"its index cannot be written: {error}")
            raise storage_error(error, self.root, "open the index", path=self.path) from error

    def _connect_writable(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False)
        try:
            self._created = self._set_up(db)
            db.execute("SELECT count(*) FROM results").fetchone()  # reads the table's index: a cheap probe of the file
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _set_up(db: sqlite3.Connection) -> bool:
        """WAL mode, the schema; returns whether the table was made just now.

        Retried while another process sets up the same new index: SQLite answers "database
        is locked" at once, without waiting, to one of two connections switching a new
        database to WAL together."""
        deadline = time.monotonic() + 60.0
        while True:
            try:
                with db:
                    # WAL is stored in the file (set once); NORMAL keeps every commit atomic without an fsync per result.
                    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=NORMAL")
                    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'results'").fetchone()
                    db.executescript(SCHEMA)
                return found is None
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005 + 0.02 * secrets.randbelow(100) / 100)

    def _open_read_only(self, why: str) -> sqlite3.Connection:
        """The index read as it is (history browsable, nothing written), or else one in memory, built from the files."""
        self.read_only = why
        uri = self.path.as_uri()
        tries = [f"{uri}?mode=ro"]
        wal = self.path.with_name(INDEX_NAME + "-wal")
        # Immutable skips the WAL and its locks: right only when there is no WAL, so no writer and nothing unmerged.
        if not (wal.exists() and wal.stat().st_size > 0) and not self.path.with_name(INDEX_NAME + "-shm").exists():
            tries.append(f"{uri}?mode=ro&immutable=1")
        if self.path.is_file():
            for target in tries:
                try:
                    db = sqlite3.connect(target, uri=True, timeout=60.0, check_same_thread=False)
                except sqlite3.Error:
                    continue
                try:
                    db.execute("SELECT count(*) FROM results").fetchone()
                    return db
                except sqlite3.Error:
                    db.close()
        return self._in_memory(f"{self.path} cannot be read here" if self.path.exists() else f"there is no {INDEX_NAME}")

    def _in_memory(self, why: str) -> sqlite3.Connection:
        """An index in memory, built from the sidecars: for reading (what is saved must go to an index on disk)."""
        self.read_only = self.read_only or why
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.executescript(SCHEMA)
        with db:
            count = self._rebuild(db)
        self.in_memory = True
        logger.warning("%s; the run directory %s is read from its files instead (%d results found).", why, self.root, count)
        return db

    # -- a damaged index ------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Held by one process at a time (where the platform has flock), so that one of them replaces the index."""
        try:
            import fcntl
        except ImportError:  # Windows: no lock (a damaged index shared by two processes on Windows is the rare case)
            yield
            return
        fd = os.open(self.root / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _replace_damaged(self, why: str) -> sqlite3.Connection:
        """Move the damaged index to quarantine/ (another process may have done so already) and rebuild it from the files."""
        old = getattr(self, "_db", None)  # (None while opening)
        if old is not None:
            with contextlib.suppress(sqlite3.Error):
                old.close()
        if self.read_only:
            return self._in_memory(f"The index {self.path} is damaged ({why})")
        try:
            with self._exclusive():
                moved = None
                if not _healthy(self.path):  # still damaged: nobody replaced it meanwhile
                    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
                    name = f"{INDEX_NAME}.damaged-{stamp}"
                    moved = quarantine(self.root, self.path, f"the index was damaged: {why}", name=name)
                    for suffix in _SIDE_FILES:  # its WAL and shared memory belong to it, not to the new index
                        side = self.path.with_name(INDEX_NAME + suffix)
                        if side.exists():
                            quarantine(self.root, side, "belonged to the damaged index", name=name + suffix)
                db = self._connect_writable()
                if moved is not None:
                    with db:
                        count = self._rebuild(db)
                    logger.warning(
                        "The index %s was damaged (%s); it was moved to %s and rebuilt from the files: %d results.",
                        self.path, why, moved, count,
                    )  # fmt: skip
                return db
        except (OSError, sqlite3.Error) as error:
            if is_read_only(error):
                return self._in_memory(f"The index {self.path} is damaged ({why}) and cannot be replaced here ({error})")
            raise storage_error(error, self.root, "replace the damaged index", path=self.path) from error

    # -- using it -------------------------------------------------------------------------

    def run(self, work: Callable[[sqlite3.Connection], T], doing: str = "read the index of") -> T:
        """``work(db)`` in one transaction (committed if it returns); SQLite's failures become StorageErrors.

        Damage found on the way (a page of garbage, say) replaces the index, and ``work`` runs once more.
        """
        with self._lock:
            for attempt in (0, 1):
                try:
                    with self._db:
                        return work(self._db)
                except (sqlite3.ProgrammingError, sqlite3.IntegrityError, sqlite3.InterfaceError):
                    raise  # a mistake in the code or the data, not the disk's
                except sqlite3.DatabaseError as error:
                    if attempt == 0 and is_damaged(error):
                        self._db = self._replace_damaged(str(error))
                        continue
                    raise storage_error(error, self.root, doing, path=self.path) from error
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._db.close()
