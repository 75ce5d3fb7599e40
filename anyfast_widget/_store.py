"""The run store: every result on disk, with its metadata, before anyone sees it.

Layout of a run directory::

    index.sqlite                          one row per result (survives restarts, many writers)
    images/2026-11-23/<id>-<slug>.png     the image, exactly the bytes the API sent
    images/2026-11-23/<id>-<slug>.json    its sidecar: prompt, parameters, timings, hashes, ...
    inputs/<sha256>.png                   one copy of each source image and mask ever sent

Files are written to a temporary name and renamed into place, so a crash leaves
either the whole file or none. The index row comes last; :meth:`RunStore.reindex`
rebuilds the index from the sidecars should it ever fall behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator
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


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or the whole new one, never half."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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
        with self._connect() as db:
            # WAL lets readers and writers in other processes work at once; NORMAL
            # keeps every commit atomic without an fsync per result.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """The index, for one transaction (committed on success), one thread at a time."""
        with self._db_lock, self._db:
            yield self._db

    def close(self) -> None:
        """Close the index; the files stay where they are."""
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
    ) -> ImageResult:
        """Put one result on disk (image, sidecar, inputs, index row) and return it."""
        now = datetime.now(timezone.utc)
        result_id = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        folder = self.root / "images" / f"{now:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        ext = "jpg" if prepared.output_format == "jpeg" else "png"
        path = folder / f"{result_id}-{slugify(prepared.prompt)}.{ext}"

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
            format=prepared.output_format,
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
            _data=data,
        )
        atomic_write(path, data)
        meta = result.metadata()
        atomic_write(result.sidecar_path, json.dumps(meta, indent=2, ensure_ascii=False).encode())
        with self._connect() as db:
            self._insert(db, meta, path)
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
