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
files while its request is still under way (:meth:`RunStore.reserve`, done by a
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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core import EncodedImage, ImageInput, Mask, PreparedRequest, mask_change
from ._files import (
    STALE_RESERVATION_S,
    Reservation,
    ReservedFiles,
    atomic_write,
    unlink_quietly,
)
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
        deadline = time.time() - STALE_RESERVATION_S
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

    def reserve(self) -> Reservation:
        """Start making the temporary files of a result that is on its way (see the module docstring).

        Returns at once; the files are made by a helper thread. Pass the reservation to
        :meth:`save`, or :meth:`Reservation.release` it if no result comes.
        """
        folder = self.root / "images" / time.strftime("%Y-%m-%d", time.gmtime())  # as _day_folder names it
        try:
            return Reservation(self._helper_executor().submit(ReservedFiles, folder))
        except RuntimeError:  # the store is closing (or the interpreter is): save the ordinary way
            return Reservation(None)

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
        reservation: Reservation | None = None,
    ) -> ImageResult:
        """Put one result on disk (image, sidecar, inputs, index row) and return it.

        ``fmt`` is the format ``data`` is in when the API sent another than was asked
        (``annotations["format_mismatch"]`` records it). ``reservation`` (the clients')
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
        self._write(result, data, reservation.take() if reservation is not None else None)
        return result

    def _write(self, result: ImageResult, data: bytes, files: ReservedFiles | None = None) -> None:
        """Sidecar, then image, then index row: an image in place has its sidecar, a row has both files whole."""
        meta = result.metadata()
        sidecar = json.dumps(meta, indent=2, ensure_ascii=False).encode()
        if files is not None:
            try:
                files.fill(result.path, data, result.sidecar_path, sidecar)
            except OSError:  # the reserved files were lost (their folder removed meanwhile?)
                files = None  # fill cleaned up after itself: write the files the ordinary way
        if files is None:  # in the same order, with the same clean-up, as ReservedFiles.fill
            atomic_write(result.sidecar_path, sidecar)
            try:
                atomic_write(result.path, data)
            except BaseException:
                unlink_quietly(result.sidecar_path)
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

    def record_mask_change(self, result: ImageResult, original: ImageInput, mask: Mask) -> dict[str, float]:
        """Measure how much the edit ``result`` changed inside and outside ``mask`` against ``original``, and keep
        it with the result (``annotations["mask_change"]``); the real model may change pixels outside its mask."""
        change = dataclasses.asdict(mask_change(original, result.data, mask))
        self.annotate(result, mask_change=change)
        return change

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
