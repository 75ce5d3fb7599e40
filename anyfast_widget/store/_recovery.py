"""Finding whole results on disk that the index lacks: after a process killed mid-save, and when the index is rebuilt.

Opening a store tidies up after processes that died mid-save (a killed kernel), in the
two newest day folders: a result whose sidecar and image are both in place but that
has no index row (its process died just before the commit) is indexed, since it is
whole and was paid for. Temporary files (there and in inputs/ and grids/), and
sidecars whose image never came, are removed once older than any save still under
way could be: younger ones may be another process's.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from ._checks import IMAGE_SUFFIXES, parse_sidecar
from ._files import STALE_RESERVATION_S, unlink_quietly
from ._index import Index, insert_row


def _is_image_name(name: str) -> bool:
    return name.endswith(IMAGE_SUFFIXES) and Path(name).name == name and not name.startswith(".")


def index_files(root: Path, db: sqlite3.Connection) -> int:
    """Index every result whose sidecar is whole and whose image is in place; returns how many."""
    count = 0
    for sidecar in sorted((root / "images").glob("*/*.json")):
        if sidecar.name.startswith("."):
            continue
        try:
            meta, fault = parse_sidecar(sidecar.read_bytes())
        except OSError:
            continue
        if fault is not None or meta is None or not _is_image_name(meta["file"]):
            continue  # RunStore.problems() reports it
        image = sidecar.with_name(meta["file"])
        if image.is_file():
            insert_row(db, root, meta, image)
            count += 1
    return count


def sweep_leftovers(root: Path, index: Index) -> None:
    """Tidy up after processes that died mid-save, in the two newest day folders (see the module docstring)."""
    deadline = time.time() - STALE_RESERVATION_S
    try:
        days = sorted(e.path for e in os.scandir(root / "images") if e.is_dir())[-2:]
    except OSError:
        days = []
    for folder in (*days, root / "inputs", root / "grids"):
        try:
            entries = {e.name: e for e in os.scandir(folder)}
        except OSError:
            continue
        for name, entry in entries.items():
            with contextlib.suppress(OSError):
                if name.startswith(".") and name.endswith(".tmp") and entry.stat().st_mtime < deadline:
                    os.unlink(entry.path)
        if folder in days:
            _recover(root, index, Path(folder), entries, deadline)


def _recover(root: Path, index: Index, day: Path, entries: dict[str, os.DirEntry[str]], deadline: float) -> None:
    """Index the whole results in ``day`` that have no row; remove its stale sidecars without an image."""
    images = {name[:-4]: name for name in entries if name.endswith(IMAGE_SUFFIXES) and not name.startswith(".")}
    sidecars = {name[: -len(".json")] for name in entries if name.endswith(".json") and not name.startswith(".")}
    orphans = []
    for stem in sidecars - images.keys():  # its process died between the sidecar and the image
        with contextlib.suppress(OSError):
            if entries[stem + ".json"].stat().st_mtime < deadline:
                orphans.append(stem)
    if not images and not orphans:
        return
    prefix = str(day.relative_to(root)) + os.sep  # as insert_row writes the file column

    def work(db: sqlite3.Connection) -> None:
        # Results are filed under the day they were made: every created_at of that day starts "<day>T".
        made_that_day = (f"{day.name}T", f"{day.name}U")
        rows = db.execute("SELECT file FROM results WHERE created_at >= ? AND created_at < ?", made_that_day)
        indexed = {row[0] for row in rows}
        for stem in orphans:  # unless it was indexed: then its image went later, and problems() reports it
            if not any(prefix + stem + suffix in indexed for suffix in IMAGE_SUFFIXES):
                unlink_quietly(Path(entries[stem + ".json"].path))
        for stem, image in images.items():
            if prefix + image in indexed or stem not in sidecars:
                continue
            with contextlib.suppress(OSError):  # its process died just before the commit
                meta, fault = parse_sidecar(Path(entries[stem + ".json"].path).read_bytes())
                if fault is None and meta is not None and meta["file"] == image:
                    insert_row(db, root, meta, day / image)

    index.run(work, "index the results found in")
