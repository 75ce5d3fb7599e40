"""The run store: every result on disk, with its metadata, before anyone sees it.

Layout of a run directory::

    index.sqlite                          one row per result (survives restarts, many writers)
    images/2026-11-23/<id>-<slug>.png     the image, exactly the bytes the API sent
    images/2026-11-23/<id>-<slug>.json    its sidecar: prompt, parameters, timings, hashes, ...
    inputs/<sha256>.png                   one copy of each source image and mask ever sent
    previews/<edge>/<id>.jpg              display-sized copies, a cache the gallery reads (see ``_previews``)

The run directory is made when the first result is saved, not when the store is
opened: opening one that does not exist shows an empty history and makes nothing.

Files are written to a temporary name and renamed into place, so a crash leaves
either the whole file or none. The sidecar goes first, then the image (an image in
place always has its metadata), and the index row comes last. Opening a store
tidies up after a process killed mid-save (see ``_recovery``);
:meth:`RunStore.reindex` rebuilds the whole index from the sidecars.

Creating a file is the slow part of saving (far slower than writing a megabyte
into it on some file systems), so the clients reserve a result's two temporary
files while its request is still under way (:meth:`RunStore.reserve`, done by a
helper thread while the caller waits on the network); saving then only fills and
renames them. Nothing about the guarantee changes: when a save returns, the image
and its sidecar are in place, whole, and the index row is committed.

A damaged or missing file costs only its own result: :meth:`RunStore.find` and the
rest leave it out (with a warning), :meth:`RunStore.problems` lists it, and
:meth:`RunStore.repair` rebuilds what can be rebuilt and moves the rest to
``quarantine/`` (see ``_checks`` and ``_repair``). A damaged index is rebuilt from
the files; a read-only run directory opens for browsing (see ``_index``). Every
failure of the disk or the index is a :class:`StorageError` naming the path, the
cause and the fix; a result that could not be saved is in it, bytes and all.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core import EncodedImage, ImageInput, MaskInput, PreparedRequest, StorageError, mask_change
from ._checks import Damaged, Problem, load_result, scan
from ._failures import is_read_only, read_only_error, storage_error, why_read_only
from ._files import (
    STALE_RESERVATION_S,
    Reservation,
    ReservedFiles,
    atomic_write,
    unlink_quietly,
)
from ._index import COLUMNS, Index, find_query, insert_row
from ._recovery import index_files, sweep_leftovers
from ._repair import Repair, repair
from ._result import ImageResult

logger = logging.getLogger("anyfast_widget")
_SLUG_MAX = 40


def slugify(text: str) -> str:
    """A short, safe file-name fragment from free text (never a path, never empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:_SLUG_MAX].strip("-")
    return slug or "image"


def _nearest_existing(path: Path) -> Path:
    """``path`` itself if it exists, else its nearest ancestor that does (where making it would begin)."""
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


class RunStore:
    """A run directory: save results into it, and find and load them back.

    Opening a directory that already holds results (after a kernel restart, or
    from another process) sees all of them; one that cannot be written (a read-only
    mount) opens for reading, and saving into it raises :class:`StorageError`. A
    directory that does not exist is not made until a result is saved (or a request
    is about to be): until then, or until another process makes it, its history is empty.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self._annotate_lock = threading.Lock()
        self._opening_lock = threading.Lock()
        self._folders: set[Path] = set()  # day folders known to exist: one mkdir per folder, not per result
        self._helper: ThreadPoolExecutor | None = None
        self._helper_pid = 0
        self._helper_lock = threading.Lock()
        self._warned: set[Path] = set()  # problems already logged
        place = _nearest_existing(self.root)
        if place == self.root or not place.is_dir():  # (a file in the way is named at once)
            self._index = self._open_on_disk()
        else:  # nothing is made until the first result is saved; until then the history is empty
            writable = os.access(place, os.W_OK | os.X_OK)
            why = None if writable else f"it does not exist, and cannot be made in {place}: {why_read_only(place)}"
            self._index = Index(self.root, lambda db: 0, read_only=why, on_disk=False)

    def _open_on_disk(self, result: ImageResult | None = None, data: bytes | None = None) -> Index:
        """Make the run directory's folders (if need be), open its index, and tidy up after processes killed mid-save."""
        index = Index(self.root, lambda db: index_files(self.root, db), read_only=self._make_folders(result, data))
        if index.read_only is None:
            try:
                sweep_leftovers(self.root, index)
            except StorageError as error:  # (a full disk, say): the history can still be read
                logger.warning("Could not tidy up %s on opening: %s", self.root, error)
        return index

    def _current(self, *, make: bool = False, result: ImageResult | None = None, data: bytes | None = None) -> Index:
        """The index: the one on disk as soon as the run directory exists (another process may make it), or, with
        ``make`` (a save), once this one has made it; until then, the empty one in memory."""
        index = self._index
        if index.on_disk or not ((make and index.read_only is None) or os.path.lexists(self.root)):
            return index
        with self._opening_lock:
            if not self._index.on_disk:
                self._index = self._open_on_disk(result, data)
                index.close()
        return self._index

    def _make_folders(self, result: ImageResult | None = None, data: bytes | None = None) -> str | None:
        """Make the run directory and its folders; None, or why it can only be read.

        ``result`` (and its bytes) is the result whose saving makes the directory: a failure keeps it in the error."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise storage_error(error, self.root, "open (or make) the run directory", result=result, data=data) from error
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise StorageError(
                f"Could not open the run directory {self.root}: this process may not read it.",
                path=self.root,
                reason="unreadable",
                hint=f"Check the owner and permissions of {self.root} (ls -ld), or pass another run_dir=.",
            )
        if not os.access(self.root, os.W_OK):
            return why_read_only(self.root)
        try:
            (self.root / "inputs").mkdir(exist_ok=True)
            (self.root / "images").mkdir(exist_ok=True)
        except OSError as error:
            if is_read_only(error):
                return f"its folders cannot be made ({error.strerror})"
            raise storage_error(error, self.root, "set up the run directory", result=result, data=data) from error
        return None

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r}{', read-only' if self.read_only else ''})"

    @property
    def read_only(self) -> bool:
        """Whether this run directory is open for reading only (a read-only mount, say); saving then raises StorageError."""
        return self._current().read_only is not None

    def _check_writable(self, doing: str, result: ImageResult | None = None, data: bytes | None = None) -> None:
        """StorageError unless results can be saved here; the run directory is made now if it does not exist yet."""
        index = self._current(make=True, result=result, data=data)
        if index.read_only is not None:
            raise read_only_error(self.root, index.read_only, doing, result=result, data=data)

    def close(self) -> None:
        """Close the index; the files stay where they are."""
        with self._helper_lock:
            helper, self._helper = self._helper, None
        if helper is not None:
            helper.shutdown(wait=True)
        self._index.close()

    # -- writing ---------------------------------------------------------------

    @staticmethod
    def _input_record(item: EncodedImage) -> dict[str, Any]:
        ext = "jpg" if item.format == "jpeg" else "png"
        record: dict[str, Any] = {
            "sha256": item.sha256,
            "file": f"inputs/{item.sha256}.{ext}",
            "format": item.format,
            "width": item.width,
            "height": item.height,
        }
        if item.converted_from:
            record["converted_from"] = item.converted_from
        return record

    def _copy_input(self, item: EncodedImage) -> None:
        path = self.root / self._input_record(item)["file"]
        if not path.exists():
            atomic_write(path, item.data)

    def _day_folder(self, now: datetime) -> Path:
        return self.root / "images" / f"{now:%Y-%m-%d}"

    def reserve(self) -> Reservation:
        """Start making the temporary files of a result that is on its way (see the module docstring).

        Returns at once; the files are made by a helper thread. Pass the reservation to
        :meth:`save`, or :meth:`Reservation.release` it if no result comes. In a read-only
        run directory this raises :class:`StorageError`, so that no request is paid for in vain.
        """
        self._check_writable("save new results into")
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
        cost: float | None = None,
        cost_source: str | None = None,
    ) -> ImageResult:
        """Put one result on disk (image, sidecar, inputs, index row) and return it.

        ``fmt`` is the format ``data`` is in when the API sent another than was asked
        (``annotations["format_mismatch"]`` records it). ``reservation`` (the clients')
        holds the result's files, made while its request was in flight. If the disk
        refuses (full, read-only, ...), :class:`StorageError` is raised with the result,
        bytes and all, in ``error.result``, and no partial file is left behind.
        ``cost`` is what the request cost, and ``cost_source`` where that figure comes from (see ImageResult).
        """
        fmt = fmt or prepared.output_format
        annotations: dict[str, Any] = {}
        if fmt != prepared.output_format:
            annotations["format_mismatch"] = {"asked": prepared.output_format, "received": fmt}
        result_id, path, now = self._new_location(prepared.prompt, fmt)
        inputs = list(prepared.sources)
        mask = None
        if prepared.mask_file is not None and prepared.mask is not None:
            inputs.append(prepared.mask_file)
            mask = {**self._input_record(prepared.mask_file), "coverage": round(prepared.mask.coverage, 6)}
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
            sources=[self._input_record(s) for s in prepared.sources],
            mask=mask,
            attempts=attempts,
            cost=cost,
            cost_source=cost_source,
            annotations=annotations,
            _data=data,
        )
        self._put(result, data, inputs, reservation)
        return result

    def _put(self, result: ImageResult, data: bytes, inputs: list[EncodedImage], reservation: Reservation | None) -> None:
        """Inputs, then the result's files and row; any failure is a StorageError that holds the result."""
        try:
            self._check_writable("save a result into", result, data)
            folder = result.path.parent
            if folder not in self._folders:  # (a folder removed later is made again by atomic_write)
                folder.mkdir(parents=True, exist_ok=True)
                self._folders.add(folder)
            for item in inputs:
                self._copy_input(item)
            self._write(result, data, reservation.take() if reservation is not None else None)
        except OSError as error:  # the files were cleaned up on the way: nothing half-written is left
            raise storage_error(error, self.root, "save a result into", result=result, data=data) from error

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
        try:
            self._index.run(lambda db: insert_row(db, self.root, meta, result.path), "index a result in")
        except StorageError as error:  # the files are whole, in place: the next opening (or reindex) indexes them
            raise StorageError(
                f"{error.message} The result's image and sidecar are whole at {result.path}, and are indexed when the "
                "run directory is next opened (or by store.reindex()); the result is also in this error's .result.",
                path=error.path,
                reason=error.reason,
                result=result,
                data=data,
                hint=error.hint,
            ) from error

    def _write_sidecar(self, result: ImageResult) -> None:
        self._check_writable("annotate a result in")
        try:
            atomic_write(result.sidecar_path, json.dumps(result.metadata(), indent=2, ensure_ascii=False).encode())
        except OSError as error:
            raise storage_error(error, self.root, "update a result's sidecar in", path=result.sidecar_path) from error

    def _new_location(self, prompt: str, fmt: str) -> tuple[str, Path, datetime]:
        now = datetime.now(timezone.utc)
        result_id = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        ext = "jpg" if fmt == "jpeg" else "png"
        return result_id, self._day_folder(now) / f"{result_id}-{slugify(prompt)}.{ext}", now

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
        self._put(result, data, [], None)
        return result

    def annotate(self, result: ImageResult, **fields: Any) -> ImageResult:
        """Add JSON-ready ``fields`` to ``result.annotations`` and rewrite its sidecar atomically."""
        with self._annotate_lock:
            result.annotations.update(fields)
            self._write_sidecar(result)
        return result

    def record_mask_change(self, result: ImageResult, original: ImageInput, mask: MaskInput) -> dict[str, float]:
        """Measure how much the edit ``result`` changed inside and outside ``mask`` against ``original``, and keep
        it with the result (``annotations["mask_change"]``); the real model may change pixels outside its mask."""
        change = dataclasses.asdict(mask_change(original, result.data, mask))
        self.annotate(result, mask_change=change)
        return change

    def reindex(self) -> int:
        """Rebuild the index from the sidecars on disk; returns how many results it holds."""
        if not self._current().on_disk:  # no run directory yet: nothing to index, and nothing is made
            return 0
        self._check_writable("reindex")
        return self._index.run(lambda db: index_files(self.root, db), "reindex")

    # -- damage --------------------------------------------------------------------

    def problems(self, *, deep: bool = False) -> list[Problem]:
        """What is damaged or missing, result by result: each a :class:`Problem` with its path, what is wrong and the fix.

        Index rows whose image or sidecar is missing, damaged or unreadable, rows that
        disagree with their sidecar, and files the index lacks. Images are checked by
        their first and last bytes (a truncated file lacks its end marker); ``deep``
        reads every image whole. Results with a problem are left out of :meth:`find`.
        """
        sql = f"SELECT rowid, {', '.join(COLUMNS)} FROM results ORDER BY created_at, id"
        rows = self._current().run(lambda db: db.execute(sql).fetchall())
        return scan(self.root, rows, time.time() - STALE_RESERVATION_S, deep=deep)

    def repair(self, *, deep: bool = False) -> list[Repair]:
        """Fix every problem that can be fixed, and return what was done (a :class:`Repair` each).

        A missing or damaged sidecar is rebuilt from the image (size, format) and the
        index row (prompt, parameters, ...), a row from a whole sidecar and image.
        What cannot be rebuilt is moved to ``quarantine/`` inside the run directory
        (logged in ``quarantine/log.jsonl``); no image is ever deleted. Unreadable
        files are left alone: :meth:`problems` still lists them.
        """
        if not self._current().on_disk:  # no run directory yet: nothing to repair, and nothing is made
            return []
        self._check_writable("repair")
        done = repair(self.root, self._index, self.problems(deep=deep))
        self._warned.clear()
        return done

    def _report(self, problem: Problem) -> None:
        if problem.path not in self._warned:
            self._warned.add(problem.path)
            logger.warning("A result in %s was left out: %s", self.root, problem)

    # -- reading -----------------------------------------------------------------

    def _loaded(self, rows: list[tuple[Any, ...]]) -> list[ImageResult]:
        """The results of (rowid, id, file) rows that load whole; the others are reported and left out."""
        found = []
        for rowid, result_id, file in rows:
            try:
                found.append(load_result(self.root, result_id, file, rowid=rowid))
            except Damaged as damaged:
                self._report(damaged.problem)
        return found

    def get(self, result_id: str) -> ImageResult:
        """The result with this id; KeyError if there is none.

        StorageError if its sidecar is missing or damaged, or its image is missing (see
        :meth:`problems`). Asked for by id, a result whose image is there is returned even
        if those bytes are damaged; :meth:`find` and iteration leave such results out.
        """
        sql = "SELECT rowid, id, file FROM results WHERE id = ?"
        row = self._current().run(lambda db: db.execute(sql, (result_id,)).fetchone())
        if row is None:
            raise KeyError(result_id)
        try:
            return load_result(self.root, row[1], row[2], rowid=row[0], content=False)
        except Damaged as damaged:
            self._report(damaged.problem)
            problem = damaged.problem
            reason = {"image_missing": "missing", "sidecar_missing": "missing"}.get(problem.kind, problem.kind)
            reason = reason if reason in ("missing", "unreadable") else "damaged"
            message = f"Result {result_id} cannot be loaded: {problem.what} ({problem.path})"
            raise StorageError(message, path=problem.path, reason=reason, hint=problem.fix) from None

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
        """Past results, filtered: ``prompt`` matches a substring (case-insensitive), the rest exactly.

        A result whose files are damaged or missing is left out, with a warning (see :meth:`problems`).
        """
        sql, values = find_query(prompt, endpoint, request_hash, since, newest_first)
        if limit is None or int(limit) < 0:
            return self._loaded(self._current().run(lambda db: db.execute(sql, values).fetchall()))
        found: list[ImageResult] = []
        offset = 0
        while len(found) < int(limit):  # as many as asked for, damaged ones left out
            page = [*values, int(limit) - len(found), offset]
            rows = self._current().run(lambda db: db.execute(sql + " LIMIT ? OFFSET ?", page).fetchall())
            if not rows:
                break
            offset += len(rows)
            found += self._loaded(rows)
        return found

    def latest(self) -> ImageResult | None:
        """The newest result, or None in an empty store."""
        found = self.find(limit=1)
        return found[0] if found else None

    def __len__(self) -> int:
        """How many results the index holds (those with a problem included: see :meth:`problems`)."""
        return int(self._current().run(lambda db: db.execute("SELECT COUNT(*) FROM results").fetchone()[0]))

    def __iter__(self) -> Iterator[ImageResult]:
        """Every result that loads whole, oldest first."""
        return iter(self.find(newest_first=False))
