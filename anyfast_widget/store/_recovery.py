"""Finding whole results on disk that the index lacks: after a process killed mid-save, and when the index is rebuilt.

Opening a store tidies up after processes that died mid-save (a killed kernel), in the
two newest day folders: a result whose sidecar and image are both in place but that
has no index row (its process died just before the commit) is indexed, since it is
whole and was paid for. Temporary files (there and in inputs/, grids/ and previews/), and
sidecars whose image never came, are removed once older than any save still under
way could be: younger ones may be another process's. A day folder that holds exactly two
files for each row of its day is left at that, unread (see ``_two_files_per_row``).
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
    """Tidy up after processes that died mid-save, in the two newest day folders (see the module docstring).

    Folders are listed by name only, and only temporary names and lone sidecars are looked at more closely:
    this runs on every opening, and a day folder may hold a hundred thousand results.
    """
    deadline = time.time() - STALE_RESERVATION_S
    try:
        days = sorted(e.path for e in os.scandir(root / "images") if e.is_dir())[-2:]
    except OSError:
        days = []
    for folder in (*days, str(root / "inputs"), str(root / "grids"), str(root / "previews")):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if folder in days and _two_files_per_row(index, Path(folder), len(names)):
            continue  # nothing was left mid-save here
        for name in names:
            if name.startswith(".") and name.endswith(".tmp"):
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    if os.stat(path).st_mtime < deadline:
                        os.unlink(path)
        if folder in days:
            _recover(root, index, Path(folder), names, deadline)


def _made_that_day(day: Path) -> tuple[str, str]:
    """The created_at range of the results filed in ``day``: every created_at of that day starts "<day>T"."""
    return f"{day.name}T", f"{day.name}U"


def _two_files_per_row(index: Index, day: Path, files: int) -> bool:
    """Whether ``day`` holds exactly an image and a sidecar for each result indexed from that day.

    A save cut short leaves a temporary file, a sidecar alone or a whole result without its row, and each of
    those breaks the count; so a count that holds needs no look at each file (a day of 100,000 results would
    cost most of a second). A row whose image was deleted by hand breaks it too: then every file is looked at.
    Two faults that cancel out (an image deleted by hand beside a lone sidecar) are left to problems() and repair().
    """
    sql = "SELECT COUNT(*) FROM results WHERE created_at >= ? AND created_at < ?"
    rows = index.run(lambda db: db.execute(sql, _made_that_day(day)).fetchone()[0], "count the results of")
    return files == 2 * rows


def _recover(root: Path, index: Index, day: Path, names: list[str], deadline: float) -> None:
    """Index the whole results in ``day`` that have no row; remove its stale sidecars without an image."""
    images = {name[:-4]: name for name in names if name.endswith(IMAGE_SUFFIXES) and not name.startswith(".")}
    sidecars = {name[: -len(".json")] for name in names if name.endswith(".json") and not name.startswith(".")}
    orphans = []
    for stem in sidecars - images.keys():  # its process died between the sidecar and the image
        with contextlib.suppress(OSError):
            if os.stat(day / (stem + ".json")).st_mtime < deadline:
                orphans.append(stem)
    if not images and not orphans:
        return
    prefix = str(day.relative_to(root)) + os.sep  # as insert_row writes the file column

    def work(db: sqlite3.Connection) -> None:
        rows = db.execute("SELECT file FROM results WHERE created_at >= ? AND created_at < ?", _made_that_day(day))
        indexed = {row[0] for row in rows}
        for stem in orphans:  # unless it was indexed: then its image went later, and problems() reports it
            if not any(prefix + stem + suffix in indexed for suffix in IMAGE_SUFFIXES):
                unlink_quietly(day / (stem + ".json"))
        unindexed = {prefix + image for image in images.values()} - indexed  # (as sets: a day may hold 100,000)
        for file in sorted(unindexed):
            image = file[len(prefix) :]
            stem = image[:-4]
            if stem not in sidecars:
                continue
            with contextlib.suppress(OSError):  # its process died just before the commit
                meta, fault = parse_sidecar((day / (stem + ".json")).read_bytes())
                if fault is None and meta is not None and meta["file"] == image:
                    insert_row(db, root, meta, day / image)

    index.run(work, "index the results found in")
