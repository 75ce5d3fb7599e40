"""A headless run's heartbeat: a small file in the run store saying "grid <id> is being run, still", read by followers.

While ``python -m anyfast_widget run`` sends a grid, it keeps
``<run dir>/grids/<id>.live`` (JSON: ``pid``, ``started``, ``beat``, epoch seconds),
rewriting ``beat`` every :data:`BEAT_S` seconds and removing the file when the run
ends. A grid opened elsewhere (another process, another machine on a shared volume)
follows the run while the file is there and fresh; a beat older than
:data:`STALE_AFTER_S` is a run that was killed without ending, and is over.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from ..store import atomic_write

BEAT_S = 0.5
STALE_AFTER_S = 5.0  # ten beats missed: the process is gone (killed) or hung


def heartbeat_path(run_dir: Path, grid_id: str) -> Path:
    """Where the heartbeat of a run of grid ``grid_id`` is kept."""
    return run_dir / "grids" / f"{grid_id}.live"


def live_run(path: Path, *, now: float | None = None) -> dict[str, Any] | None:
    """The heartbeat at ``path`` (``pid``, ``started``, ``beat``) if a run is going on there, else None."""
    try:
        beat = json.loads(path.read_text())
        fresh = (time.time() if now is None else now) - float(beat["beat"]) < STALE_AFTER_S
    except (OSError, ValueError, KeyError, TypeError):  # no run, or a file caught mid-replace on a platform without rename
        return None
    return beat if fresh else None


class Heartbeat:
    """``with Heartbeat(path):`` keeps the heartbeat file fresh from a daemon thread while the block runs, then removes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="anyfast-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._write()  # before the first request: a follower opened now sees the run at once
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def _beat(self) -> None:
        while not self._stop.wait(BEAT_S):
            try:
                self._write()
            except OSError:  # a full disk: the run goes on; a follower may take it for over and stop early
                pass

    def _write(self) -> None:
        record = {"pid": os.getpid(), "started": self.started, "beat": time.time()}
        atomic_write(self.path, json.dumps(record).encode())
