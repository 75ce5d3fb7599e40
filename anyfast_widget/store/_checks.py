"""Checking results one by one: whether an index row, its image and its sidecar are whole, and what to do if not.

A result that fails a check costs only itself: the store leaves it out of what it
returns (with a warning, once), and ``RunStore.problems()`` lists it as a
:class:`Problem` saying where, what is wrong and what to do, usually
``RunStore.repair()``. The image check is cheap (the first and last bytes: a
truncated file lacks its end marker); ``deep`` reads the whole file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import whole_image_size
from ._index import COLUMNS, INDEX_NAME
from ._result import ImageResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk, which ends every whole PNG
_TAIL = 64
IMAGE_SUFFIXES = (".png", ".jpg")
_pread = getattr(os, "pread", None)  # (not on Windows)
_NONE = type(None)
# Every field of a sidecar and the types JSON may give it (exactly: a bool is no int); REQUIRED must be there.
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "created_at": (str,), "endpoint": (str,), "prompt": (str,), "format": (str,), "width": (int,),
    "height": (int,), "file": (str,), "params": (dict,), "revised_prompt": (str, _NONE), "request_id": (str, _NONE),
    "request_hash": (str,), "timings": (dict,), "attempts": (int,), "sources": (list,), "mask": (dict, _NONE),
    "extras": (dict,), "annotations": (dict,),
}  # fmt: skip
REQUIRED = ("id", "created_at", "endpoint", "prompt", "format", "width", "height", "file")

FIX_SIDECAR = "store.repair() rebuilds the sidecar from the image and the index row."
FIX_IMAGE_MISSING = (
    "It cannot be brought back (restore it from a backup, if there is one); "
    "store.repair() takes its row out of the index and moves what is left to quarantine/."
)
FIX_IMAGE_DAMAGED = (
    "store.repair() moves the image and its sidecar to quarantine/ (nothing is deleted); "
    "restore it from a backup, if there is one."
)
FIX_UNREADABLE = "Check the file's owner and permissions (ls -l); store.repair() leaves it alone."
FIX_ROW = "store.repair() takes the row out of the index (its files, if whole, are indexed again from their sidecar)."
FIX_STALE_ROW = "store.repair() (or store.reindex()) rewrites the row from the sidecar."
FIX_NOT_INDEXED = "store.repair() (or store.reindex()) adds it to the index."
FIX_ORPHAN = "store.repair() moves it to quarantine/."
FIX_NO_METADATA = (
    "store.repair() rebuilds the sidecar from the image if what remains of it names the prompt and endpoint; "
    "otherwise it moves the image to quarantine/."
)


@dataclass(frozen=True)
class Problem:
    """One result the run store cannot load whole: ``path`` (the file at fault), ``what`` is wrong, and the ``fix``.

    ``kind`` names the case for programs: ``"image_missing"``, ``"image_damaged"``,
    ``"sidecar_missing"``, ``"sidecar_damaged"``, ``"unreadable"``, ``"row_damaged"``,
    ``"row_stale"``, ``"not_indexed"`` or ``"orphan_sidecar"``; ``result_id`` is the
    result's id where it is known.
    """

    path: Path
    what: str
    fix: str
    kind: str
    result_id: str | None = None
    rowid: int | None = field(default=None, repr=False, compare=False)  # the index row at fault, if any

    def __str__(self) -> str:
        return f"{self.path}: {self.what} Fix: {self.fix}"


class Damaged(Exception):
    """A result that cannot be loaded whole; ``problem`` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _why(error: OSError) -> str:
    return error.strerror or str(error)


def valid_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``meta`` that have the type a sidecar's field must have (and any others it holds)."""
    return {name: value for name, value in meta.items() if type(value) in FIELD_TYPES.get(name, (type(value),))}


def _wrong_types(meta: dict[str, Any]) -> list[str]:
    return [name for name, kinds in FIELD_TYPES.items() if name in meta and type(meta[name]) not in kinds]


def parse_sidecar(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The sidecar's record and None, or what remains of it (None if nothing) and what is wrong with it."""
    try:
        meta = json.loads(raw)
    except ValueError as error:  # (UnicodeDecodeError too)
        return None, f"it is not valid JSON ({error})" if raw.strip() else "it is empty"
    if not isinstance(meta, dict):
        return None, "it holds no record"
    missing = [name for name in REQUIRED if name not in meta]
    if missing:
        return meta, "it lacks " + ", ".join(missing)
    wrong = _wrong_types(meta)
    if wrong:
        return meta, "these fields have the wrong type: " + ", ".join(wrong)
    if meta["width"] <= 0 or meta["height"] <= 0:
        return meta, "its size is not positive"
    return meta, None


def image_fault(path: Path, *, deep: bool = False) -> str | None:
    """What is wrong with the image file at ``path``, or None if it is whole; OSError if it cannot be read."""
    data = None
    if deep:
        data = path.read_bytes()
        head, tail, size = data[:8], data[-_TAIL:], len(data)
    elif _pread is not None:  # four system calls: this runs for every result find() returns
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            head, tail = _pread(fd, 8, 0), _pread(fd, _TAIL, max(0, size - _TAIL))
        finally:
            os.close(fd)
    else:
        with open(path, "rb", buffering=0) as file:
            size = os.fstat(file.fileno()).st_size
            head = file.read(8)
            file.seek(max(0, size - _TAIL))
            tail = file.read(_TAIL)
    if size == 0:
        return "the file is empty"
    if head.startswith(PNG_SIGNATURE):
        kind, ends = "PNG", tail.endswith(_PNG_END)
    elif head.startswith(JPEG_SIGNATURE):
        trimmed = tail.rstrip(b"\0")
        if not trimmed and data is None:  # a long run of padding: look at the whole file
            return image_fault(path, deep=True)
        kind, ends = "JPEG", trimmed.endswith(b"\xff\xd9")
    else:
        return f"it is not a PNG or JPEG file (it starts {head!r})"
    if not ends:
        return f"the {kind} file is cut short: it lacks its end marker (a write or copy that stopped partway)"
    if data is not None and whole_image_size(data) is None:
        return f"the {kind} file's structure does not parse (damaged inside)"
    return None


def image_problem(
    path: Path, result_id: str | None, rowid: int | None, *, deep: bool = False, content: bool = True
) -> Problem | None:
    """The problem with a result's image, or None; without ``content``, only whether it is there."""
    try:
        if not content:
            os.stat(path)
            return None
        fault = image_fault(path, deep=deep)
    except FileNotFoundError:
        return Problem(path, "The image is missing (deleted or moved?).", FIX_IMAGE_MISSING, "image_missing", result_id, rowid)
    except OSError as error:
        return Problem(path, f"The image cannot be read: {_why(error)}.", FIX_UNREADABLE, "unreadable", result_id, rowid)
    if fault is not None:
        return Problem(path, f"The image is damaged: {fault}.", FIX_IMAGE_DAMAGED, "image_damaged", result_id, rowid)
    return None


def row_path(root: Path, file: Any) -> Path | None:
    """Where a row's ``file`` column points, if it is a result's place (``images/<day>/<name>``), else None."""
    if not isinstance(file, str):
        return None
    parts = file.split(os.sep)  # as insert_row writes it
    if len(parts) != 3 or parts[0] != "images" or parts[1] in ("", ".", "..") or not parts[2].endswith(IMAGE_SUFFIXES):
        return None
    return root / file


def load_result(
    root: Path, result_id: Any, file: Any, *, rowid: int | None = None, deep: bool = False, content: bool = True
) -> ImageResult:
    """The result an index row names, its image and sidecar checked; :class:`Damaged` if it is not whole.

    Without ``content`` the image only has to be there (its bytes are not read).
    """
    path = row_path(root, file)
    if path is None or not isinstance(result_id, str):
        what = f"The index row of result {result_id!r} is damaged: its file is {file!r}."
        raise Damaged(Problem(root / INDEX_NAME, what, FIX_ROW, "row_damaged", None, rowid))
    problem = image_problem(path, result_id, rowid, deep=deep, content=content)
    if problem is not None:
        raise Damaged(problem)
    sidecar = path.with_suffix(".json")
    try:
        raw = sidecar.read_bytes()
    except FileNotFoundError:
        what = "The sidecar (the result's prompt, parameters and timings) is missing."
        raise Damaged(Problem(sidecar, what, FIX_SIDECAR, "sidecar_missing", result_id, rowid)) from None
    except OSError as error:
        what = f"The sidecar cannot be read: {_why(error)}."
        raise Damaged(Problem(sidecar, what, FIX_UNREADABLE, "unreadable", result_id, rowid)) from None
    meta, fault = parse_sidecar(raw)
    if fault is not None or meta is None:
        raise Damaged(Problem(sidecar, f"The sidecar is damaged: {fault}.", FIX_SIDECAR, "sidecar_damaged", result_id, rowid))
    if meta["id"] != result_id or meta["file"] != path.name:
        if meta["file"] == path.name and path.name.startswith(meta["id"] + "-"):  # the files agree: the row is wrong
            what = f"The index row {result_id!r} points to the files of result {meta['id']!r}."
            raise Damaged(Problem(root / INDEX_NAME, what, FIX_ROW, "row_damaged", result_id, rowid))
        what = f"The sidecar describes another result ({meta['id']!r}, file {meta['file']!r})."
        raise Damaged(Problem(sidecar, what, FIX_SIDECAR, "sidecar_damaged", result_id, rowid))
    return ImageResult.from_metadata(meta, path)


def _row_disagrees(values: dict[str, Any], result: ImageResult) -> list[str]:
    meta = result.metadata()
    expected = {
        **{name: meta[name] for name in ("created_at", "endpoint", "prompt", "format", "width", "height")},
        "request_hash": meta["request_hash"] or "",
        "revised_prompt": meta["revised_prompt"],
        "request_id": meta["request_id"],
        "params": json.dumps(meta["params"], sort_keys=True),
    }
    return [name for name, value in expected.items() if values[name] != value]


def scan(root: Path, rows: Iterable[tuple[Any, ...]], stale_before: float, *, deep: bool = False) -> list[Problem]:
    """Every problem: index rows (``rowid`` and :data:`COLUMNS`) that do not load whole, then files the index lacks.

    A sidecar without its image is a problem only once older than ``stale_before`` (a
    younger one may be another process's save under way).
    """
    problems: list[Problem] = []
    indexed: set[str] = set()
    for rowid, *columns in rows:
        values = dict(zip(COLUMNS, columns))
        try:
            result = load_result(root, values["id"], values["file"], rowid=rowid, deep=deep)
        except Damaged as damaged:
            problems.append(damaged.problem)
            if damaged.problem.kind != "row_damaged":
                indexed.add(values["file"])
            continue
        indexed.add(values["file"])
        wrong = _row_disagrees(values, result)
        if wrong:
            what = f"The index row of result {result.id!r} disagrees with its sidecar on {', '.join(wrong)}."
            problems.append(Problem(root / INDEX_NAME, what, FIX_STALE_ROW, "row_stale", result.id, rowid))
    try:
        days = sorted(Path(e.path) for e in os.scandir(root / "images") if e.is_dir())
    except OSError:
        days = []
    for day in days:
        problems += _unindexed(root, day, indexed, stale_before, deep)
    return problems


def _unindexed(root: Path, day: Path, indexed: set[str], stale_before: float, deep: bool) -> list[Problem]:
    """The problems of the files in one day folder that no index row names."""
    try:
        names = [e.name for e in os.scandir(day) if not e.name.startswith(".")]
    except OSError as error:
        return [Problem(day, f"The folder cannot be read: {_why(error)}.", FIX_UNREADABLE, "unreadable")]
    images = {name[:-4]: name for name in names if name.endswith(IMAGE_SUFFIXES)}
    sidecars = {name[:-5] for name in names if name.endswith(".json")}
    relative = day.relative_to(root)
    problems = []
    for stem, name in sorted(images.items()):
        if str(relative / name) in indexed:
            continue
        path = day / name
        problem = image_problem(path, None, None, deep=deep)
        if problem is not None:
            problems.append(problem)
            continue
        sidecar = path.with_suffix(".json")
        if stem not in sidecars:
            what = f"The image {name} has no sidecar and no index row: its prompt and parameters are lost."
            problems.append(Problem(sidecar, what, FIX_NO_METADATA, "sidecar_missing"))
            continue
        try:
            meta, fault = parse_sidecar(sidecar.read_bytes())
        except OSError as error:
            problems.append(Problem(sidecar, f"The sidecar cannot be read: {_why(error)}.", FIX_UNREADABLE, "unreadable"))
            continue
        if fault is None and meta is not None and meta["file"] != name:
            fault = f"it describes another file ({meta['file']!r})"
        if fault is not None or meta is None:
            what = f"The sidecar is damaged: {fault}; its image {name} is not in the index."
            problems.append(Problem(sidecar, what, FIX_NO_METADATA, "sidecar_damaged"))
            continue
        what = "The result is whole but not in the index (its process stopped before indexing it?)."
        problems.append(Problem(path, what, FIX_NOT_INDEXED, "not_indexed", meta["id"]))
    for stem in sorted(sidecars - images.keys()):
        if any(str(relative / (stem + suffix)) in indexed for suffix in IMAGE_SUFFIXES):
            continue  # its row's problem (the image is missing) says it already
        sidecar = day / (stem + ".json")
        try:
            if sidecar.stat().st_mtime >= stale_before:
                continue
        except OSError:
            continue
        what = "A sidecar whose image never arrived (its process stopped partway through saving)."
        problems.append(Problem(sidecar, what, FIX_ORPHAN, "orphan_sidecar"))
    return problems
