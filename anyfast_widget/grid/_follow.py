"""open_grid(): a grid from a spec or the run store, nothing sent, following a headless run of it while one goes on.

``open_grid(run_dir, "fox.toml")`` or ``open_grid(run_dir, grid_id)`` (the spec a
headless run saved as ``grids/<id>.toml``) makes the grid with ``run=False``: every
result already in the run store is in it, nothing is sent. While a headless run of
that grid goes on (its heartbeat file is fresh: see ``_heartbeat``), a
:class:`Follower` polls the run store every :data:`POLL_S` seconds with one indexed
query (the results saved since the last poll, by time), gives each new result of
one of the grid's requests to a slot still waiting for it, and tells the grid's
listeners (its live view) of each. It stops once the run has ended and everything
it saved is attached. In a notebook the polling is a task on the kernel's event
loop (the query in a worker thread); elsewhere a daemon thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from ..client import Secret
from ..core import ModerationBlockedError, ValidationError, Violation
from ..store import ImageResult, RunStore
from ._background import running_loop
from ._compare import compare
from ._grid import Grid
from ._heartbeat import heartbeat_path, live_run
from ._model import Cell, Slot, SlotState
from ._spec import load_spec
from ._state import GridState

POLL_S = 0.5
# A result's time is taken just before its files are written and its index row committed, so a row can be committed
# after a newer one. A poll asks for what is newer than the newest result seen; every SWEEP_EVERY-th poll, and the
# last, look SLACK_S further back, so that a row committed late (a slow disk) is still found. Rows seen are skipped by id.
SLACK_S = 5.0
SWEEP_EVERY = 10


def open_grid(
    run_dir: str | os.PathLike[str] | RunStore,
    grid_id_or_spec: str | os.PathLike[str],
    *,
    api_key: str | Secret | None = None,
    base_url: str | None = None,
    offline: bool = False,
    follow: bool = True,
    progress: bool | None = None,
) -> Grid:
    """The grid of a spec file, or of a grid id a headless run saved in ``run_dir``; nothing is sent.

    Results already in the run store fill it; :meth:`Grid.run` sends the rest. While a
    headless run of the grid goes on (``python -m anyfast_widget run``, in another process
    or on another machine sharing the run directory), the grid follows it (``follow=False``
    does not): its view fills in as the run's results are saved. Looking needs no key; the
    key and base URL, resolved as ``compare()`` does, are needed only to send. Raises
    ValidationError naming ``grid_id_or_spec`` when there is no such spec or grid, and
    the spec's own problems by key and line.
    """
    root = run_dir.root if isinstance(run_dir, RunStore) else Path(run_dir).expanduser().resolve()
    given = Path(grid_id_or_spec).expanduser()
    spec = given if given.suffix == ".toml" or given.is_file() else root / "grids" / f"{grid_id_or_spec}.toml"
    if not spec.is_file():
        raise ValidationError(
            [
                Violation(
                    "grid_id_or_spec",
                    "missing",
                    f"no spec file at {spec}" + ("." if spec == given else f": {root} holds no grid {str(grid_id_or_spec)!r}."),
                    "pass a spec file's path, or the id of a grid a headless run saved in this run directory.",
                )
            ]
        )
    arguments = load_spec(spec).arguments
    grid = compare(
        **arguments, run_dir=run_dir, api_key=api_key, base_url=base_url, offline=offline, run=False, progress=progress
    )
    if follow and live_run(heartbeat_path(grid.store.root, grid.id)) is not None:
        Follower(grid).start()
    return grid


class Follower:
    """Follows a headless run of ``grid`` in the run store: new results into its waiting slots, its listeners told."""

    def __init__(self, grid: Grid, *, interval: float = POLL_S) -> None:
        self.grid = grid
        self.interval = interval
        self.heartbeat = heartbeat_path(grid.store.root, grid.id)
        self.state = grid.store.root / "grids" / f"{grid.id}.json"
        self.hashes = [cell.prepared.request_hash for cell in grid.cells]  # (computed on each ask: once here)
        attached = [result for cell in grid.cells for result in cell.results]
        self.seen = {result.id for result in attached}
        beat = live_run(self.heartbeat)
        # The newest result seen, on the writer's clock (as results' times are): the run's start, or what opening found.
        self.newest = max([(beat["started"] if beat else time.time()) - SLACK_S, *map(_time_of, attached)])
        self.polls = 0
        self.active = False
        self._stopping = threading.Event()
        self._task: asyncio.Task[None] | None = None  # kept: the loop holds only a weak reference to its tasks

    def start(self) -> Follower:
        """Start following: a task on the running event loop (a notebook), else a daemon thread."""
        self.active = True
        self.grid._follower = self
        loop = running_loop()
        if loop is not None:
            self._task = loop.create_task(self._follow_on_loop())
        else:
            threading.Thread(target=self._follow_in_thread, name=f"anyfast-follow-{self.grid.id}", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop following (results the run saves later are attached when the grid is opened again)."""
        self._stopping.set()

    async def _follow_on_loop(self) -> None:
        try:
            while not self._stopping.is_set():
                alive, found, blocked = await asyncio.to_thread(self._look)
                if not self._attach(found, blocked) or not alive:
                    break
                await asyncio.sleep(self.interval)
        finally:
            self.active = False

    def _follow_in_thread(self) -> None:
        try:
            while not self._stopping.is_set():
                alive, found, blocked = self._look()
                if not self._attach(found, blocked) or not alive:
                    break
                self._stopping.wait(self.interval)
        finally:
            self.active = False

    def _look(self) -> tuple[bool, list[ImageResult], dict[str, str]]:
        """Whether the run goes on, the results saved since the last look, and the requests moderation refused.

        The heartbeat is read first: a run that ends after it was read is seen to end at the next look,
        which then finds everything the run saved (its last save comes before its heartbeat goes)."""
        alive = live_run(self.heartbeat) is not None
        self.polls += 1
        sweep = not alive or self.polls % SWEEP_EVERY == 0
        since = datetime.fromtimestamp(self.newest - (SLACK_S if sweep else 0.0), timezone.utc)
        found = [r for r in self.grid.store.find(since=since, newest_first=False) if r.id not in self.seen]
        return alive, found, GridState(self.state).blocked

    def _attach(self, found: list[ImageResult], blocked: dict[str, str]) -> bool:
        """Give new results to the slots waiting for them and tell the listeners; False once no slot waits."""
        if not found and not blocked:  # the usual poll: nothing new, so no map of every waiting slot
            return any(_waits(slot) for _, slot in self.grid.slots())
        waiting: dict[str, list[tuple[Cell, Slot]]] = {}
        for cell, key in zip(self.grid.cells, self.hashes):
            for slot in cell.slots:
                if _waits(slot):
                    waiting.setdefault(key, []).append((cell, slot))
        for result in found:
            self.seen.add(result.id)
            self.newest = max(self.newest, _time_of(result))
            slots = waiting.get(result.request_hash)
            if not slots:
                continue  # another grid's result, or a repeat this grid has already
            cell, slot = slots.pop(0)
            result.release()  # on disk; the view reads it when it shows it
            slot.result, slot.status, slot.error, slot.finished = result, SlotState.DONE, None, time.time()
            self.grid._changed(cell, slot)
        for key, reason in blocked.items():
            for cell, slot in waiting.get(key, []):
                if slot.status != SlotState.BLOCKED:
                    slot.status, slot.error = SlotState.BLOCKED, ModerationBlockedError(reason, code="moderation_blocked")
                    self.grid._changed(cell, slot)
        return any(waiting.values())


def _waits(slot: Slot) -> bool:
    """Whether ``slot`` waits for the run's result (one this process sends itself, running, does not)."""
    return slot.result is None and slot.status != SlotState.RUNNING


def _time_of(result: ImageResult) -> float:
    """When ``result`` was saved, in epoch seconds (0 for a time that cannot be read)."""
    try:
        return datetime.fromisoformat(result.created_at).timestamp()
    except (TypeError, ValueError):
        return 0.0
