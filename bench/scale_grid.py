"""A 1,024-cell grid (32 x 32) at concurrency 128 with 1 s of latency per request, against the stand-in's fast path.

Ideal: 1,024 / 128 = 8 rounds of 1 s, 8 s. Measured from ``compare()`` (which looks every
cell up in an empty run store) to the last cell on disk; with it the client's CPU time
per request (the whole process: event loop, HTTP, base64, saving) and the Python heap a
finished cell keeps (tracemalloc, as in ``grid_run``). The stand-in runs in its own
process with ``--fast``, so what is measured is the client, not the stand-in's painting; a
small grid goes first, untimed (``_warm_up``), so that one-time costs of either process are not.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time

from anyfast_widget import compare, prompts, replace

from ._simulator import API_KEY, simulator_process
from .grid_run import cell_memory_row, memory_per_cell

LATENCY_S = 1.0
SIDE = 32  # rows and columns: 1,024 cells
CONCURRENCY = 128
IDEAL_S = SIDE * SIDE / CONCURRENCY * LATENCY_S
LIMIT_RATIO = 1.15
ROUNDS = 3
CPU_LIMIT_MS = 5.0  # client CPU per request: at 128 requests a second that is most of a core
ROWS = [f"study {i} of a fox, in ink" for i in range(SIDE)]
ANIMALS = [f"fox-{j}" for j in range(SIDE)]


def _grid(url: str, run_dir: str, side: int = SIDE, concurrency: int = CONCURRENCY) -> object:
    return compare(
        rows=prompts(ROWS[:side]),
        cols=replace("fox", ANIMALS[:side]),
        concurrency=concurrency,
        quality="low",
        api_key=API_KEY,
        base_url=url,
        run_dir=run_dir,
        progress=False,
        confirm=True,
    )


async def _timed(url: str, run_dir: str) -> tuple[float, float, int]:
    """Wall time and client CPU time of one whole run, and how many requests it sent."""
    cpu, start = time.process_time(), time.perf_counter()
    grid = _grid(url, run_dir)
    await grid
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert all(slot.status == "done" for _, slot in grid.slots()), grid
    return elapsed, cpu, len(grid.cells)


def _warm_up(url: str) -> None:
    """One small grid first, untimed: the stand-in paints its one picture per size and the client process loads its
    lazily imported modules and its TLS context, one-time costs that are no part of a grid's wall time."""
    with tempfile.TemporaryDirectory() as run_dir:
        grid = _grid(url, run_dir, side=4, concurrency=16)  # (no event loop here: compare() runs it to the end)
        assert all(slot.status == "done" for _, slot in grid.slots()), grid


def run() -> list[dict[str, object]]:
    walls, cpus = [], []
    with simulator_process("--fast", "--latency", str(LATENCY_S)) as url:
        _warm_up(url)
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as run_dir:  # an empty run store: every cell is sent
                elapsed, cpu, requests = asyncio.run(_timed(url, run_dir))
            walls.append(elapsed)
            cpus.append(cpu / requests)
        with tempfile.TemporaryDirectory() as run_dir:
            per_cell = memory_per_cell(lambda: _grid(url, run_dir))
    wall, cpu_ms = statistics.median(walls), 1000 * statistics.median(cpus)
    limit = LIMIT_RATIO * IDEAL_S
    load = f"{SIDE * SIDE}-cell grid, concurrency {CONCURRENCY}, {LATENCY_S:.0f} s latency, stand-in --fast"
    return [
        {
            "benchmark": f"{load}: wall time from compare() to the last cell (median of {ROUNDS}; worst {max(walls):.2f} s)",
            "ours": f"{wall:.2f} s",
            "peer / limit": f"limit {limit:.1f} s ({LIMIT_RATIO:.2f} x ideal {IDEAL_S:.0f} s)",
            "ratio": wall / limit,
            "goal": "<= 1.00",
            "pass": wall <= limit,
        },
        {
            "benchmark": f"{load}: client CPU time per request (process time / requests, median of {ROUNDS})",
            "ours": f"{cpu_ms:.2f} ms",
            "peer / limit": f"limit {CPU_LIMIT_MS:.0f} ms",
            "ratio": cpu_ms / CPU_LIMIT_MS,
            "goal": "<= 1.00",
            "pass": cpu_ms <= CPU_LIMIT_MS,
        },
        cell_memory_row(SIDE * SIDE, per_cell),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
