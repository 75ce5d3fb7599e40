"""A grid opened beside a headless run follows it with one indexed query per poll: its cost against one query per cell.

A 1,024-cell grid is opened on a run store that already holds 5,000 results of
other grids; then, round by round, 32 of the grid's results arrive. One poll of its
follower (the heartbeat read, the query for what was saved since the last poll, the
state file, attaching) is timed against the obvious way (``store.find(request_hash=...)``
for every cell still waiting): a poll that finds the new results, and one that finds
nothing (most polls, while requests are out), each the median of several rounds.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from anyfast_widget import RunStore, compare, prepare_generation, prompts
from anyfast_widget.grid._follow import SLACK_S, Follower
from anyfast_widget.grid._heartbeat import Heartbeat, heartbeat_path

CELLS = 1024
OLD_RESULTS = 5000
NEW_RESULTS = 32
ROUNDS = 7
IDLE_GOAL = 0.25  # a poll that finds nothing (most polls): at most a quarter of the per-cell way's time
NEW_GOAL = 1.0  # one that finds results loads them, as the per-cell way does: never slower than it


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _save(store: RunStore, prepared, data: bytes) -> None:
    store.save(prepared, data, size=(16, 16), revised_prompt=None, request_id=None, timings={}, extras={})


def _per_cell_poll(grid, hashes: list[str]) -> float:
    """The obvious way: each cell still waiting asks the store for its request's results (hashes computed once)."""
    start = time.perf_counter()
    for cell, key in zip(grid.cells, hashes):
        if any(slot.result is None for slot in cell.slots):
            grid.store.find(request_hash=key)
    return time.perf_counter() - start


def _poll(follower: Follower) -> tuple[float, int]:
    start = time.perf_counter()
    alive, found, blocked = follower._look()
    follower._attach(found, blocked)
    assert alive
    return time.perf_counter() - start, len(found)


def _rounds(root: Path) -> dict[str, list[float]]:
    data = _png()
    store = RunStore(root)
    for i in range(OLD_RESULTS):
        _save(store, prepare_generation(f"another grid's picture {i}"), data)
    time.sleep(SLACK_S + 0.5)  # the run begins later than that: a poll's look back (SLACK_S) reaches none of them
    grid = compare(
        rows=prompts([f"a fox, take {i}" for i in range(CELLS)]),
        api_key="sk-bench",
        base_url="http://127.0.0.1:9",
        run_dir=store,
        run=False,
        progress=False,
    )
    hashes = [cell.prepared.request_hash for cell in grid.cells]
    times: dict[str, list[float]] = {"idle": [], "idle per cell": [], "new": [], "new per cell": []}
    with Heartbeat(heartbeat_path(store.root, grid.id)):
        follower = Follower(grid)
        for r in range(ROUNDS):
            for cell in grid.cells[r * NEW_RESULTS : (r + 1) * NEW_RESULTS]:
                _save(store, cell.prepared, data)
            times["new per cell"].append(_per_cell_poll(grid, hashes))  # first: the new results are still waited for, and loaded
            elapsed, found = _poll(follower)
            assert found == NEW_RESULTS, found
            times["new"].append(elapsed)
            times["idle per cell"].append(_per_cell_poll(grid, hashes))  # nothing new: the common case while requests are out
            elapsed, found = _poll(follower)
            assert found == 0, found
            times["idle"].append(elapsed)
    return times


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as root:
        times = _rounds(Path(root))
    median = {name: statistics.median(values) for name, values in times.items()}
    rows = []
    for kind, what, goal in (("idle", "nothing new", IDLE_GOAL), ("new", f"{NEW_RESULTS} new results", NEW_GOAL)):
        ours, peer = median[kind], median[f"{kind} per cell"]
        rows.append(
            {
                "benchmark": f"one poll of a {CELLS}-cell grid following a headless run, {what} "
                f"({OLD_RESULTS:,} other results in the run store; median of {ROUNDS})",
                "ours": f"{ours * 1000:.1f} ms",
                "peer / limit": f"one find() per waiting cell: {peer * 1000:.1f} ms",
                "ratio": ours / peer,
                "goal": f"<= {goal:.2f}",
                "pass": ours <= goal * peer,
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
