"""Quarantine: where the run store puts damaged files instead of deleting them, with a log of what and why.

``<run dir>/quarantine/`` mirrors the run directory (``quarantine/images/<day>/...``);
``quarantine/log.jsonl`` has one line per file moved there: when, from where, to
where, why, and the index row it had, if any. A paid-for image is never deleted.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

QUARANTINE = "quarantine"
LOG_NAME = "log.jsonl"


def quarantine(root: Path, path: Path, why: str, *, name: str | None = None, row: dict[str, Any] | None = None) -> Path:
    """Move ``path`` (inside ``root``) into the quarantine folder, under ``name`` or its own relative path; returns where."""
    folder = root / QUARANTINE
    target = folder / name if name is not None else folder / path.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    stem, n = target, 0
    while target.exists():  # never over an earlier one
        n += 1
        target = stem.with_name(f"{stem.name}.{n}")
    os.replace(path, target)  # the same file system: a rename, no copy
    note(root, why, row=row, moved_from=path, moved_to=target)
    return target


def note(
    root: Path, why: str, *, row: dict[str, Any] | None = None, moved_from: Path | None = None, moved_to: Path | None = None
) -> None:
    """Add a line to the quarantine log (for a file moved there, or an index row taken out of the index)."""
    entry: dict[str, Any] = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "why": why}
    if moved_from is not None and moved_to is not None:
        entry.update({"from": str(moved_from.relative_to(root)), "to": str(moved_to.relative_to(root))})
    if row is not None:
        entry["row"] = row
    folder = root / QUARANTINE
    folder.mkdir(exist_ok=True)
    with open(folder / LOG_NAME, "a", encoding="utf-8") as log:  # appends of one line each do not interleave
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")

