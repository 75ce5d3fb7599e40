"""A grid capped by a budget, 16 requests in flight at 1 s latency: it sends exactly what fits, and the cap costs no time.

Row one: a 64-cell grid whose budget fits 48 requests sends 48 and spends no more
than the budget, though 16 requests are reserved at once. Row two: its wall time
against a 48-cell grid without a budget (the same requests sent): the bookkeeping
(a reservation before each request, a settlement after) must not show.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time

from anyfast_widget import RunStore, compare, prompts

from ._simulator import API_KEY, simulator_process

LATENCY_S = 1.0
ROUNDS = 3
CELLS, FIT = 64, 48
PRICE = 0.01
OVERHEAD_LIMIT = 1.10  # wall time with a budget / without, for the same requests sent


async def _grid(url: str, run_dir: str, cells: int, budget: float | None) -> tuple[float, object]:
    start = time.perf_counter()
    grid = compare(
        rows=prompts([f"a fox, study no. {i}" for i in range(cells)]),
        quality="low",
        size="1024x640",  # the smallest size the API takes: the stand-in paints quickly
        prices={"low": PRICE},
        budget=budget,
        concurrency=16,
        confirm=True,
        api_key=API_KEY,
        base_url=url,
        run_dir=run_dir,
        progress=False,
    )
    await grid
    return time.perf_counter() - start, grid


def run() -> list[dict[str, object]]:
    capped, free, sent, spent, stored = [], [], [], [], []
    with simulator_process("--latency", str(LATENCY_S)) as url:
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as run_dir:
                elapsed, grid = asyncio.run(_grid(url, run_dir, CELLS, FIT * PRICE))
                capped.append(elapsed)
                sent.append(sum(1 for _, slot in grid.slots() if slot.status == "done"))  # type: ignore[attr-defined]
                spent.append(grid.budget.spent)  # type: ignore[attr-defined]
                stored.append(len(RunStore(run_dir).find()))  # what was really answered and saved
            with tempfile.TemporaryDirectory() as run_dir:
                elapsed, _ = asyncio.run(_grid(url, run_dir, FIT, None))
                free.append(elapsed)
    budget = FIT * PRICE
    ratio = statistics.median(capped) / statistics.median(free)
    exact = all(n == FIT for n in sent) and all(n == FIT for n in stored)
    return [
        {
            "benchmark": f"{CELLS}-cell grid with a budget that fits {FIT} requests, 16 in flight, {LATENCY_S:.0f} s latency "
            f"(requests sent and spend, every one of {ROUNDS} runs)",
            "ours": f"{min(sent)}-{max(sent)} sent, {max(spent):.2f} spent",
            "peer / limit": f"exactly {FIT}, at most {budget:.2f}",
            "ratio": round(max(spent), 9) / budget,  # (a float sum of 48 prices is 0.48 give or take 1e-16)
            "goal": "<= 1.00",
            "pass": exact and max(spent) <= budget + 1e-9,
        },
        {
            "benchmark": f"wall time of that grid against {FIT} cells without a budget (median of {ROUNDS}: "
            f"{statistics.median(capped):.2f} s vs {statistics.median(free):.2f} s)",
            "ours": f"{ratio:.2f}x",
            "peer / limit": f"limit {OVERHEAD_LIMIT:.2f}x",
            "ratio": ratio / OVERHEAD_LIMIT,
            "goal": "<= 1.00",
            "pass": ratio <= OVERHEAD_LIMIT,
        },
    ]
