"""A 4x4 comparison grid with 1 s of simulated latency per request, 16 at a time: wall time, and memory per cell."""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from anyfast_widget import compare, prompts, replace

from ._simulator import API_KEY, simulator_process

LATENCY_S = 1.0
LIMIT_S = 1.3
ROUNDS = 5
CELL_MEMORY_LIMIT = 64 * 1024  # bytes a finished cell may keep in memory (its image stays on disk)
ANIMALS = ["fox", "owl", "hare", "lynx"]
STYLES = ["a watercolour of a fox", "a photo of a fox", "a woodcut of a fox", "a pixel-art fox"]


async def _grid(url: str, run_dir: str) -> tuple[float, int]:
    start = time.perf_counter()
    grid = compare(
        rows=prompts(STYLES),
        cols=replace("fox", ANIMALS),
        concurrency=16,
        quality="low",
        api_key=API_KEY,
        base_url=url,
        run_dir=run_dir,
        progress=False,
    )
    await grid
    elapsed = time.perf_counter() - start
    assert all(cell.status == "done" for cell in grid.cells), grid
    return elapsed, len(grid.cells)


def memory_per_cell(make_grid: Callable[[], Any]) -> float:
    """Python heap a finished cell keeps: what building and running ``make_grid()``'s grid leaves, per cell."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    grid = make_grid()  # (no event loop here: compare() runs it to the end)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert all(cell.status == "done" for cell in grid.cells), grid
    return kept / len(grid.cells)


def cell_memory_row(cells: int, per_cell: float) -> dict[str, object]:
    """The bench row of :func:`memory_per_cell` for a grid of ``cells``."""
    return {
        "benchmark": f"memory a finished grid cell keeps (Python heap after a {cells}-cell grid, per cell)",
        "ours": f"{per_cell / 1024:.1f} KiB",
        "peer / limit": f"limit {CELL_MEMORY_LIMIT // 1024} KiB",
        "ratio": per_cell / CELL_MEMORY_LIMIT,
        "goal": "<= 1.00",
        "pass": per_cell <= CELL_MEMORY_LIMIT,
    }


def run() -> list[dict[str, object]]:
    times = []
    with simulator_process("--latency", str(LATENCY_S)) as url:
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as run_dir:  # an empty run store: every cell is sent
                elapsed, cells = asyncio.run(_grid(url, run_dir))
                times.append(elapsed)
        with tempfile.TemporaryDirectory() as run_dir:
            axes = {"rows": prompts(STYLES), "cols": replace("fox", ANIMALS)}
            per_cell = memory_per_cell(
                lambda: compare(**axes, concurrency=16, api_key=API_KEY, base_url=url, run_dir=run_dir, progress=False)
            )
    wall = statistics.median(times)
    return [
        {
            "benchmark": f"4x4 grid, concurrency 16, {LATENCY_S:.0f} s latency per request "
            f"(wall time from compare() to the last cell, median of {ROUNDS}; worst {max(times):.2f} s)",
            "ours": f"{wall:.2f} s",
            "peer / limit": f"limit {LIMIT_S:.1f} s (ideal {LATENCY_S:.1f} s)",
            "ratio": wall / LIMIT_S,
            "goal": "<= 1.00",
            "pass": wall <= LIMIT_S,
        },
        cell_memory_row(cells, per_cell),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
