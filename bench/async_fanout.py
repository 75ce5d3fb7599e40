"""16 generations at once through AsyncClient, each with 1 s of simulated latency."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time

from anyfast_widget import AsyncClient

from ._simulator import API_KEY, simulator_process

CALLS = 16
LATENCY_S = 1.0
LIMIT_S = 1.3


ROUNDS = 5


async def _fan_out(url: str, run_dir: str, round_: int) -> float:
    # A new client each round: its connection pool starts cold, as in a fresh notebook.
    async with AsyncClient(api_key=API_KEY, base_url=url, run_dir=run_dir) as client:
        await client.generate("warm-up", quality="low")  # one call first, as any session makes
        start = time.perf_counter()
        results = await asyncio.gather(*(client.generate(f"round {round_} variant {i}", quality="low") for i in range(CALLS)))
        elapsed = time.perf_counter() - start
    assert len({r.path for r in results}) == CALLS
    return elapsed


def run() -> list[dict[str, object]]:
    with simulator_process("--latency", str(LATENCY_S)) as url, tempfile.TemporaryDirectory() as run_dir:
        times = [asyncio.run(_fan_out(url, run_dir, r)) for r in range(ROUNDS)]
    elapsed = statistics.median(times)
    return [
        {
            "benchmark": f"{CALLS} generations via AsyncClient, {LATENCY_S:.0f} s latency each "
            f"(wall time, median of {ROUNDS} rounds; worst {max(times):.2f} s)",
            "ours": f"{elapsed:.2f} s",
            "peer / limit": f"limit {LIMIT_S:.1f} s (ideal {LATENCY_S:.1f} s)",
            "ratio": elapsed / LIMIT_S,
            "goal": "<= 1.00",
            "pass": elapsed <= LIMIT_S,
        }
    ]
