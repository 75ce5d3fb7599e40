"""A grid's state on disk: the requests moderation refused and the blind ratings, changed under a file lock.

The state of grid ``<id>`` is ``<run dir>/grids/<id>.json``. Every change reads
it, changes it and writes it back (atomically) while holding ``<id>.lock``, so two
kernels rating (or blocking cells of) the same grid lose neither's writes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from ..store import atomic_write


class GridState:
    """The state file of one grid, as last read or written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = self._read()

    @property
    def blocked(self) -> dict[str, str]:
        """Request hash -> why moderation refused it, for the requests never to send again unless retried by hand."""
        return dict(self._data.get("blocked", {}))

    @property
    def ratings(self) -> list[dict[str, Any]]:
        """The blind A/B ratings given to the grid: ``{"a", "b", "winner", "at"}``."""
        return list(self._data.get("ratings", []))

    def remember_blocked(self, request_hash: str, reason: str) -> None:
        """Remember that the safety system refused this request, and why."""

        def change(state: dict[str, Any]) -> None:
            state.setdefault("blocked", {})[request_hash] = reason

        self._update(change)

    def forget_blocked(self, request_hash: str) -> None:
        """Let this request be sent again (a retry asked for by hand)."""
        self._update(lambda state: state.setdefault("blocked", {}).pop(request_hash, None))

    def add_rating(self, rating: dict[str, Any]) -> None:
        self._update(lambda state: state.setdefault("ratings", []).append(rating))

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"blocked": {}, "ratings": []}

    def _update(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply ``change`` to the state on disk and keep the result (what other kernels wrote included)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)  # (the run directory itself is made at the first save)
        with _locked(self.path.with_suffix(".lock")):
            state = self._read()
            change(state)
            atomic_write(self.path, json.dumps(state, indent=2).encode())
        self._data = state


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (advisory; where flock is missing, none)."""
    with open(path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
