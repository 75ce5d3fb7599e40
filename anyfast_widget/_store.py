"""The run store: every result on disk, with its metadata, before anyone sees it.

Layout of a run directory::

    index.sqlite                          one row per result (survives restarts, many writers)
    images/2026-11-23/<id>-<slug>.png     the image, exactly the bytes the API sent
    images/2026-11-23/<id>-<slug>.json    its sidecar: prompt, parameters, timings, hashes, ...
    inputs/<sha256>.png                   one copy of each source image and mask ever sent

Files are written to a temporary name and renamed into place, so a crash leaves
either the whole file or none. The sidecar goes first, then the image (an image in
place always has its metadata), and the index row comes last. Opening a store
tidies up after a process killed mid-save (see :meth:`RunStore._sweep_leftovers`);
:meth:`RunStore.reindex` rebuilds the whole index from the sidecars.

Creating a file is the slow part of saving (far slower than writing a megabyte
into it on some file systems), so the clients reserve a result's two temporary
files while its request is still under way (:meth:`RunStore._reserve`, done by a
helper thread while the caller waits on the network); saving then only fills and
renames them. Nothing about the guarantee changes: when a save returns, the image
and its sidecar are in place, whole, and the index row is committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._images import EncodedImage
from ._request import PreparedRequest
from ._result import ImageResult

_SCHEMA = """
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
_SLUG_MAX = 40


def slugify(text: str) -> str:
    """A short, safe file-name fragment from free text (never a path, never empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:_SLUG_MAX].strip("-")
    return slug or "image"


_O_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
# How long a save waits for its reserved files before making its own (they are normally
# ready long before the answer arrives; this only bounds a stuck helper thread).
_RESERVE_WAIT_S = 5.0
# Reserved and temporary files older than this belong to a process that died mid-request (a killed
# kernel): no request lives this long (the longest timeout is 10 minutes), so they are removed on opening.
_STALE_RESERVATION_S = 3600.0
_RESERVED_PREFIX = ".reserved-"


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until every byte is written (one call for any regular file in practice)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _create_tmp(folder: Path, name: str) -> tuple[int, Path]:
    """A new, empty, exclusively created temporary file (its folder made if missing)."""
    path = folder / name
    try:
        return os.open(path, _O_NEW, 0o666), path
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(path, _O_NEW, 0o666), path


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fill_and_rename(fd: int, tmp: Path, data: bytes, path: Path) -> None:
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
        _unlink_quietly(tmp)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or the whole new one, never half."""
    fd, tmp = _create_tmp(path.parent, f".{path.name}.{secrets.token_hex(4)}.tmp")
    _fill_and_rename(fd, tmp, data, path)


class _Slot:
    """Two empty temporary files, for a result's image and its sidecar, made before the result exists."""

    __slots__ = ("image", "sidecar")

    def __init__(self, folder: Path) -> None:
        token = secrets.token_hex(6)
        self.image = _create_tmp(folder, f"{_RESERVED_PREFIX}{token}.image.tmp")
        try:
            self.sidecar = _create_tmp(folder, f"{_RESERVED_PREFIX}{token}.json.tmp")
        except BaseException:
            os.close(self.image[0])
            _unlink_quietly(self.image[1])
            raise

    def fill(self, path: Path, data: bytes, sidecar_path: Path, sidecar: bytes) -> None:
        """Sidecar first, then image, each renamed into place whole; on failure neither is left, nor anything temporary."""
        try:
            _fill_and_rename(*self.sidecar, sidecar, sidecar_path)
        except BaseException:
            self._discard_image()
            raise
        try:
            _fill_and_rename(*self.image, data, path)
        except BaseException:
            _unlink_quietly(sidecar_path)
            raise

    def _discard_image(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.image[0])
        _unlink_quietly(self.image[1])

    def discard(self) -> None:
        self._discard_image()
        with contextlib.suppress(OSError):
            os.close(self.sidecar[0])
        _unlink_quietly(self.sidecar[1])


def _discard_slot(future: Future[_Slot]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().discard()


class _Reservation:
    """Temporary files being made for one call's result: :meth:`take` them to save, or :meth:`release` them.

    Both are safe from any thread and in any order; whichever comes first wins, and
    files nobody takes are removed (when they are made, if that is still under way).
    """

    def __init__(self, future: Future[_Slot] | None) -> None:
        self._future = future
        self._lock = threading.Lock()
        self._open = True

    def take(self) -> _Slot | None:
        """The reserved files, or None (already taken or released, or making them failed): then save without."""
        with self._lock:
            if not self._open or self._future is None:
                return None
            self._open = False
        try:
            return self._future.result(timeout=_RESERVE_WAIT_S)
        except Exception:  # noqa: BLE001 - a failed or stuck reservation only means saving the ordinary way
            self._future.add_done_callback(_discard_slot)
            return None

    def release(self) -> None:
        """Give the files back unused (the call failed); a no-op after :meth:`take`."""
        with self._lock:
            if not self._open or self._future is None:
                return
            self._open = False
        self._future.add_done_callback(_discard_slot)


class RunStore:
    """A run directory: save results into it, and find and load them back.

    Opening a directory that already holds results (after a kernel restart, or
    from another process) sees all of them.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "inputs").mkdir(exist_ok=True)
        (self.root / "images").mkdir(exist_ok=True)
        # One connection, kept open: closing the last one makes SQLite checkpoint and
        # fsync, which would cost more than the whole rest of saving a result.
        self._db = sqlite3.connect(self.root / "index.sqlite", timeout=60.0, check_same_thread=False)
        self._db_lock = threading.Lock()
        self._annotate_lock = threading.Lock()
        self._folders: set[Path] = set()  # day folders known to exist: one mkdir per folder, not per result
        self._helper: ThreadPoolExecutor | None = None
        self._helper_pid = 0
        self._helper_lock = threading.Lock()
        self._set_up_index()
        self._sweep_leftovers()

    def _set_up_index(self) -> None:
        """WAL mode, the schema. Retried while another process sets up the same new index:
        SQLite answers "database is locked" at once, without waiting, to one of two
        connections switching a new database to WAL together."""
        deadline = time.monotonic() + 60.0
        while True:
            try:
                with self._connect() as db:
                    # WAL lets readers and writers in other processes work at once (it is stored in
                    # the file: set once); NORMAL keeps every commit atomic without an fsync per result.
                    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=NORMAL")
                    db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005 + 0.02 * secrets.randbelow(100) / 100)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """The index, for one transaction (committed on success), one thread at a time."""
        with self._db_lock, self._db:
            yield self._db

    def close(self) -> None:
        """Close the index; the files stay where they are."""
        with self._helper_lock:
            helper, self._helper = self._helper, None
        if helper is not None:
            helper.shutdown(wait=True)
        with self._db_lock:
            self._db.close()

    # -- writing ---------------------------------------------------------------

    def _copy_input(self, item: EncodedImage) -> dict[str, Any]:
        ext = "jpg" if item.format == "jpeg" else "png"
        path = self.root / "inputs" / f"{item.sha256}.{ext}"
        if not path.exists():
            atomic_write(path, item.data)
        record: dict[str, Any] = {
            "sha256": item.sha256,
            "file": f"inputs/{path.name}",
            "format": item.format,
            "width": item.width,
            "height": item.height,
        }
        if item.converted_from:
            record["converted_from"] = item.converted_from
        return record

    def _sweep_leftovers(self) -> None:
        """Tidy up after processes that died mid-save (a killed kernel), in the two newest day folders.

        A result whose sidecar and image are both in place but that has no index row (its process
        died just before the commit) is indexed now: it is whole, and it was paid for. Temporary
        files (here and in inputs/ and grids/), and sidecars whose image never came, are removed
        once older than any save still under way could be: younger ones may be another process's.
        """
        deadline = time.time() - _STALE_RESERVATION_S
        try:
            days = sorted(e.path for e in os.scandir(self.root / "images") if e.is_dir())[-2:]
        except OSError:
            days = []
        for folder in (*days, self.root / "inputs", self.root / "grids"):
            try:
                entries = {e.name: e for e in os.scandir(folder)}
            except OSError:
                continue
            for name, entry in entries.items():
                with contextlib.suppress(OSError):
                    if name.startswith(".") and name.endswith(".tmp") and entry.stat().st_mtime < deadline:
                        os.unlink(entry.path)
            if folder in days:
                self._recover(Path(folder), entries, deadline)

    def _recover(self, day: Path, entries: dict[str, os.DirEntry[str]], deadline: float) -> None:
        """Index the whole results in ``day`` that have no row; remove its stale sidecars without an image."""
        images = {name[: -len(".png")]: name for name in entries if name.endswith((".png", ".jpg")) and not name.startswith(".")}
        sidecars = {name[: -len(".json")] for name in entries if name.endswith(".json") and not name.startswith(".")}
        for stem in sidecars - images.keys():  # its process died between the sidecar and the image
            with contextlib.suppress(OSError):
                if entries[stem + ".json"].stat().st_mtime < deadline:
                    os.unlink(entries[stem + ".json"].path)
        if not images:
            return
        prefix = str(day.relative_to(self.root)) + os.sep  # as _insert writes the file column
        with self._connect() as db:
            # Results are filed under the day they were made: every created_at of that day starts "<day>T".
            made_that_day = (f"{day.name}T", f"{day.name}U")
            rows = db.execute("SELECT file FROM results WHERE created_at >= ? AND created_at < ?", made_that_day)
            indexed = {row[0] for row in rows}
            for stem, image in images.items():
                if prefix + image in indexed or stem not in sidecars:
                    continue
                with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # its process died just before the commit
                    meta = json.loads(Path(entries[stem + ".json"].path).read_bytes())
                    if meta["file"] == image:
                        self._insert(db, meta, day / image)

    def _day_folder(self, now: datetime) -> Path:
        return self.root / "images" / f"{now:%Y-%m-%d}"

    def _reserve(self) -> _Reservation:
        """Start making the temporary files of a result that is on its way (see the module docstring).

        Returns at once; the files are made by a helper thread. Pass the reservation to
        :meth:`save`, or :meth:`_Reservation.release` it if no result comes.
        """
        folder = self.root / "images" / time.strftime("%Y-%m-%d", time.gmtime())  # as _day_folder names it
        try:
            return _Reservation(self._helper_executor().submit(_Slot, folder))
        except RuntimeError:  # the store is closing (or the interpreter is): save the ordinary way
            return _Reservation(None)

    def _helper_executor(self) -> ThreadPoolExecutor:
        with self._helper_lock:
            if self._helper is None or self._helper_pid != os.getpid():  # a forked child has no threads
                self._helper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="anyfast-store")
                self._helper_pid = os.getpid()
            return self._helper

    def save(
        self,
        prepared: PreparedRequest,
        data: bytes,
        *,
        size: tuple[int, int],
        revised_prompt: str | None,
        request_id: str | None,
        timings: dict[str, float],
        extras: dict[str, Any],
        attempts: int = 1,
        fmt: str | None = None,
        _reservation: _Reservation | None = None,
    ) -> ImageResult:
        """Put one result on disk (image, sidecar, inputs, index row) and return it.

        ``fmt`` is the format ``data`` is in when the API sent another than was asked
        (``annotations["format_mismatch"]`` records it). ``_reservation`` (the clients')
        holds the result's files, made while its request was in flight.
        """
        fmt = fmt or prepared.output_format
        annotations: dict[str, Any] = {}
        if fmt != prepared.output_format:
            annotations["format_mismatch"] = {"asked": prepared.output_format, "received": fmt}
        result_id, path, now = self._new_location(prepared.prompt, fmt)

        sources = [self._copy_input(s) for s in prepared.sources]
        mask = None
        if prepared.mask_file is not None and prepared.mask is not None:
            mask = {**self._copy_input(prepared.mask_file), "coverage": round(prepared.mask.coverage, 6)}
        result = ImageResult(
            id=result_id,
            path=path,
            endpoint=prepared.endpoint,
            prompt=prepared.prompt,
            params={k: v for k, v in prepared.params.items() if k != "prompt"},
            format=fmt,
            size=size,
            revised_prompt=revised_prompt,
            request_id=request_id,
            request_hash=prepared.request_hash,
            created_at=now.isoformat(timespec="milliseconds"),
            timings=timings,
            extras=extras,
            sources=sources,
            mask=mask,
            attempts=attempts,
            annotations=annotations,
            _data=data,
        )
        self._write(result, data, _reservation.take() if _reservation is not None else None)
        return result

    def _write(self, result: ImageResult, data: bytes, slot: _Slot | None = None) -> None:
        """Sidecar, then image, then index row: an image in place has its sidecar, a row has both files whole."""
        meta = result.metadata()
        sidecar = json.dumps(meta, indent=2, ensure_ascii=False).encode()
        if slot is not None:
            try:
                slot.fill(result.path, data, result.sidecar_path, sidecar)
            except OSError:  # the reserved files were lost (their folder removed meanwhile?)
                slot = None  # fill cleaned up after itself: write the files the ordinary way
        if slot is None:  # in the same order, with the same clean-up, as _Slot.fill
            atomic_write(result.sidecar_path, sidecar)
            try:
                atomic_write(result.path, data)
            except BaseException:
                _unlink_quietly(result.sidecar_path)
                raise
        with self._connect() as db:
            self._insert(db, meta, result.path)

    def _write_sidecar(self, result: ImageResult) -> None:
        atomic_write(result.sidecar_path, json.dumps(result.metadata(), indent=2, ensure_ascii=False).encode())

    def _new_location(self, prompt: str, fmt: str) -> tuple[str, Path, datetime]:
        now = datetime.now(timezone.utc)
        result_id = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        folder = self._day_folder(now)
        if folder not in self._folders:  # (a folder removed later is made again by atomic_write)
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        ext = "jpg" if fmt == "jpeg" else "png"
        return result_id, folder / f"{result_id}-{slugify(prompt)}.{ext}", now

    def save_derived(
        self, parent: ImageResult, data: bytes, *, size: tuple[int, int], derivation: dict[str, Any]
    ) -> ImageResult:
        """Save an image made here from ``parent`` (say, the original pasted back outside the mask).

        It keeps the parent's request and gets ``annotations["derived_from"]`` and
        ``annotations["derivation"]``; its empty ``request_hash`` keeps it out of
        resumed grids, which look for what the API sent.
        """
        result_id, path, now = self._new_location(parent.prompt, parent.format)
        result = dataclasses.replace(
            parent,
            id=result_id,
            path=path,
            size=size,
            request_hash="",
            created_at=now.isoformat(timespec="milliseconds"),
            timings={},
            attempts=0,
            annotations={"derived_from": parent.id, "derivation": derivation},
            _data=data,
            _image=None,
        )
        self._write(result, data)
        return result

    def annotate(self, result: ImageResult, **fields: Any) -> ImageResult:
        """Add JSON-ready ``fields`` to ``result.annotations`` and rewrite its sidecar atomically."""
        with self._annotate_lock:
            result.annotations.update(fields)
            self._write_sidecar(result)
        return result

    def _insert(self, db: sqlite3.Connection, meta: dict[str, Any], path: Path) -> None:
        db.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                meta["id"],
                meta["created_at"],
                meta["endpoint"],
                meta["prompt"],
                meta.get("request_hash", ""),
                str(path.relative_to(self.root)),
                meta["format"],
                meta["width"],
                meta["height"],
                meta.get("revised_prompt"),
                meta.get("request_id"),
                json.dumps(meta.get("params", {}), sort_keys=True),
            ),
        )

    def reindex(self) -> int:
        """Rebuild the index from the sidecars on disk; returns how many results it holds."""
        count = 0
        with self._connect() as db:
            for sidecar in sorted((self.root / "images").glob("*/*.json")):
                try:
                    meta = json.loads(sidecar.read_text())
                except (OSError, ValueError):
                    continue
                image = sidecar.with_name(meta.get("file", ""))
                if image.is_file():
                    self._insert(db, meta, image)
                    count += 1
        return count

    # -- reading -----------------------------------------------------------------

    def _load(self, file: str) -> ImageResult:
        path = self.root / file
        meta = json.loads(path.with_suffix(".json").read_text())
        return ImageResult.from_metadata(meta, path)

    def get(self, result_id: str) -> ImageResult:
        """The result with this id; KeyError if there is none."""
        with self._connect() as db:
            row = db.execute("SELECT file FROM results WHERE id = ?", (result_id,)).fetchone()
        if row is None:
            raise KeyError(result_id)
        return self._load(row[0])

    def find(
        self,
        *,
        prompt: str | None = None,
        endpoint: str | None = None,
        request_hash: str | None = None,
        since: datetime | str | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[ImageResult]:
        """Past results, filtered: ``prompt`` matches a substring (case-insensitive), the rest exactly."""
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
        sql = "SELECT file FROM results"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY created_at {'DESC' if newest_first else 'ASC'}, id {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            sql += " LIMIT ?"
            values.append(int(limit))
        with self._connect() as db:
            files = [row[0] for row in db.execute(sql, values)]
        return [self._load(f) for f in files]

    def latest(self) -> ImageResult | None:
        """The newest result, or None in an empty store."""
        found = self.find(limit=1)
        return found[0] if found else None

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def __iter__(self) -> Iterator[ImageResult]:
        """Every result, oldest first."""
        return iter(self.find(newest_first=False))
