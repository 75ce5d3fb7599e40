"""Import time of ``from anyfast_widget import Client`` against ``import openai``, each in fresh interpreters.

What a script or server that only calls the API pays before its first request. Each
round starts one new interpreter per side (who goes first alternates) and times the
import statement alone inside it, so interpreter start-up, the same for both, is left
out; the row gives the median of each side and their ratio. A warm-up round first
fills the OS file cache and compiles the bytecode, so neither side pays for that.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

ROUNDS = 15
STATEMENTS = {"ours": "from anyfast_widget import Client", "openai": "import openai"}
_TIMED = "import time\nstart = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)\n"


def import_seconds(statement: str) -> float:
    """How long ``statement`` takes in a new interpreter, timed inside it."""
    done = subprocess.run(
        [sys.executable, "-c", _TIMED.format(statement=statement)], capture_output=True, text=True, check=True, timeout=120
    )
    return float(done.stdout.strip().splitlines()[-1])


def run() -> list[dict[str, object]]:
    for statement in STATEMENTS.values():  # warm up: the file cache and the .pyc files
        import_seconds(statement)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    times: dict[str, list[float]] = {side: [] for side in STATEMENTS}
    for i in range(ROUNDS):
        order = list(STATEMENTS) if i % 2 == 0 else list(reversed(STATEMENTS))
        for side in order:
            times[side].append(import_seconds(STATEMENTS[side]))
    ours, peer = statistics.median(times["ours"]), statistics.median(times["openai"])
    ratio = ours / peer
    return [
        {
            "benchmark": f"import time of `{STATEMENTS['ours']}` against `{STATEMENTS['openai']}` "
            f"(fresh interpreters, median of {ROUNDS} each, alternating; load {load:.1f})",
            "ours": f"{ours * 1000:.0f} ms",
            "peer / limit": f"openai {peer * 1000:.0f} ms",
            "ratio": ratio,
            "goal": "<= 1.00",
            "pass": ratio <= 1.0,
        }
    ]
