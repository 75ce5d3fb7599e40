"""Repairing a run directory: rebuild what the remains allow, quarantine the rest, delete nothing that was paid for.

A sidecar is rebuilt from its image (size and format) and the index row (prompt,
parameters, hashes, ...), keeping whatever is left of the old one; an index row is
rebuilt from a whole sidecar and image. What cannot be rebuilt (a damaged image, an
image whose prompt nothing remembers) is moved to ``quarantine/``, and the rows of
results whose image is gone are taken out of the index, noted in the quarantine log.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core import whole_image_size
from ._checks import IMAGE_SUFFIXES, PNG_SIGNATURE, Problem, parse_sidecar, row_path, valid_fields
from ._files import atomic_write
from ._index import COLUMNS, Index, insert_row
from ._quarantine import note, quarantine

logger = logging.getLogger("anyfast_widget")
_ID_IN_NAME = re.compile(r"^(\d{8}T\d{6})-[0-9a-f]{8}(?=-)")
_FROM_ROW = ("id", "created_at", "endpoint", "prompt", "request_hash", "revised_prompt", "request_id")
_DEFAULTS: dict[str, Any] = {"params": {}, "revised_prompt": None, "request_id": None, "request_hash": "", "timings": {},
                             "attempts": 1, "sources": [], "mask": None, "extras": {}, "annotations": {}}  # fmt: skip


@dataclass(frozen=True)
class Repair:
    """What :meth:`RunStore.repair` did about one problem: the ``problem`` at ``path``, what was ``done``, and where
    anything went (``moved_to``, inside ``quarantine/``)."""

    path: Path
    problem: str
    done: str
    moved_to: Path | None = None

    def __str__(self) -> str:
        moved = f" (now at {self.moved_to})" if self.moved_to is not None else ""
        return f"{self.path}: {self.problem} Done: {self.done}{moved}"


def _row(index: Index, rowid: int | None) -> dict[str, Any] | None:
    if rowid is None:
        return None
    found = index.run(lambda db: db.execute(f"SELECT {', '.join(COLUMNS)} FROM results WHERE rowid = ?", (rowid,)).fetchone())
    return dict(zip(COLUMNS, found)) if found is not None else None


def _delete_row(index: Index, rowid: int | None) -> None:
    if rowid is not None:
        index.run(lambda db: db.execute("DELETE FROM results WHERE rowid = ?", (rowid,)), "repair the index of")


def _image_beside(sidecar: Path) -> Path | None:
    return next((p for p in (sidecar.with_suffix(s) for s in IMAGE_SUFFIXES) if p.exists()), None)


def _remains(sidecar: Path) -> dict[str, Any]:
    """What can still be read from a damaged sidecar: its fields of the right type (nothing if it is not JSON)."""
    try:
        meta, _ = parse_sidecar(sidecar.read_bytes())
    except OSError:
        return {}
    return valid_fields(meta) if meta is not None else {}


def rebuilt_metadata(image: Path, row: dict[str, Any] | None, remains: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """A whole sidecar for ``image`` from the image itself, its index row and what ``remains`` of the old sidecar;
    or None and why it cannot be."""
    data = image.read_bytes()
    size = whole_image_size(data)
    if size is None:
        return None, "the image is damaged too"
    meta = {**_DEFAULTS, **remains}
    sources = ["the image"] + (["what remained of the sidecar"] if remains else [])
    if row is not None:
        sources.append("the index row")
        meta.update({name: row[name] for name in _FROM_ROW if isinstance(row[name], (str, type(None)))})
        try:
            params = json.loads(row["params"])
            if isinstance(params, dict):
                meta["params"] = params
        except (TypeError, ValueError):
            pass
    named = _ID_IN_NAME.match(image.name)
    if named and not image.name.startswith(f"{meta.get('id')}-"):  # a file name starts with its result's id
        meta["id"] = named.group(0)  # (which holds the second it was made)
    if "created_at" not in meta and named:
        made = datetime.strptime(named.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
        meta["created_at"] = made.isoformat(timespec="milliseconds")
    lost = [name for name in ("id", "prompt", "endpoint", "created_at") if not isinstance(meta.get(name), str)]
    if lost:
        return None, f"nothing that remains says its {', '.join(lost)}"
    known = set(remains) | ({*_FROM_ROW, "params"} if row is not None else set())
    lost = sorted(set(_DEFAULTS) - known)  # set to their defaults: nothing remembers them
    meta.update(format="png" if data.startswith(PNG_SIGNATURE) else "jpeg", width=size[0], height=size[1], file=image.name)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    meta["annotations"] = {**meta["annotations"], "repaired": {"at": stamp, "from": sources, "lost": lost}}
    _, fault = parse_sidecar(json.dumps(meta).encode())
    if fault is not None:
        return None, fault
    return meta, " and ".join(sources)


def _rebuild_sidecar(root: Path, index: Index, problem: Problem) -> Repair:
    sidecar = problem.path
    image = _image_beside(sidecar)
    row = _row(index, problem.rowid)
    if image is None:
        return _quarantine_result(root, index, problem, sidecar, row)
    meta, source = rebuilt_metadata(image, row, _remains(sidecar))
    if meta is None:  # the prompt is lost (or the image is damaged as well): keep it all, aside
        return _quarantine_result(root, index, problem, image, row, because=source)
    moved = quarantine(root, sidecar, "a damaged sidecar, rebuilt", row=row) if sidecar.exists() else None
    atomic_write(sidecar, json.dumps(meta, indent=2, ensure_ascii=False).encode())

    def reindex(db: sqlite3.Connection) -> None:
        if problem.rowid is not None:
            db.execute("DELETE FROM results WHERE rowid = ?", (problem.rowid,))
        insert_row(db, root, meta, image)

    index.run(reindex, "repair the index of")
    kept = "; the damaged one is kept in quarantine/" if moved is not None else ""
    return Repair(sidecar, problem.what, f"rebuilt the sidecar from {source}, and its index row{kept}.", moved)


def _quarantine_result(
    root: Path, index: Index, problem: Problem, image: Path, row: dict[str, Any] | None, because: str = ""
) -> Repair:
    """Move a result's remaining files to quarantine/ and take its row out of the index."""
    why = problem.what + (f" It cannot be rebuilt: {because}." if because else "")
    moved = None
    for path in (image, image.with_suffix(".json")) if image.suffix in IMAGE_SUFFIXES else (image,):
        if path.exists():
            target = quarantine(root, path, why, row=row)
            moved = moved or target
    if moved is None and row is not None:
        note(root, why + " Its index row was removed.", row=row)
    _delete_row(index, problem.rowid)
    done = "moved what is left of it to quarantine/" if moved is not None else "nothing was left on disk"
    if problem.rowid is not None:
        done += " and took its row out of the index"
    return Repair(problem.path, problem.what, done + (f" (it cannot be rebuilt: {because})" if because else "") + ".", moved)


def _image_gone(root: Path, index: Index, problem: Problem) -> Repair:
    return _quarantine_result(root, index, problem, problem.path, _row(index, problem.rowid))


def _image_damaged(root: Path, index: Index, problem: Problem) -> Repair:
    return _quarantine_result(root, index, problem, problem.path, _row(index, problem.rowid))


def _bad_row(root: Path, index: Index, problem: Problem) -> Repair:
    row = _row(index, problem.rowid)
    _delete_row(index, problem.rowid)
    note(root, problem.what + " The row was removed from the index.", row=row)
    return Repair(problem.path, problem.what, "took the row out of the index (noted in quarantine/log.jsonl).")


def _index_from_sidecar(root: Path, index: Index, problem: Problem) -> Repair:
    if problem.path.suffix in IMAGE_SUFFIXES:  # a result the index lacks
        image = problem.path
    else:  # a row that disagrees with its sidecar
        row = _row(index, problem.rowid)
        image = row_path(root, row["file"]) if row is not None else None
    if image is None:
        return Repair(problem.path, problem.what, "nothing: its row is gone meanwhile.")
    meta, fault = parse_sidecar(image.with_suffix(".json").read_bytes())
    if meta is None or fault is not None:
        return Repair(problem.path, problem.what, f"nothing: its sidecar changed meanwhile ({fault}).")
    index.run(lambda db: insert_row(db, root, meta, image), "repair the index of")
    return Repair(problem.path, problem.what, "(re)wrote its index row from the sidecar.")


def _orphan(root: Path, index: Index, problem: Problem) -> Repair:
    moved = quarantine(root, problem.path, problem.what)
    return Repair(problem.path, problem.what, "moved it to quarantine/.", moved)


_HANDLERS = {
    "sidecar_missing": _rebuild_sidecar,
    "sidecar_damaged": _rebuild_sidecar,
    "image_missing": _image_gone,
    "image_damaged": _image_damaged,
    "row_damaged": _bad_row,
    "row_stale": _index_from_sidecar,
    "not_indexed": _index_from_sidecar,
    "orphan_sidecar": _orphan,
}


def repair(root: Path, index: Index, problems: list[Problem]) -> list[Repair]:
    """Deal with each of ``problems`` (see the module docstring); unreadable files are left as they are."""
    done = []
    for problem in problems:
        handler = _HANDLERS.get(problem.kind)
        if handler is None:
            continue
        try:
            done.append(handler(root, index, problem))
        except OSError as error:  # say, a file that went away meanwhile: the next problems() shows what is left
            logger.warning("Could not repair %s: %s", problem.path, error)
            continue
        logger.info("Repaired: %s", done[-1])
    return done
