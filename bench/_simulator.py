"""Start the stand-in server in its own process, so it does not share a GIL with the client measured."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

API_KEY = "sk-bench"


@contextlib.contextmanager
def simulator_process(*flags: str) -> Iterator[str]:
    """Yields the base URL of a simulator started with ``flags``; stops it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "anyfast_widget.simulator", "--host", "127.0.0.1", "--port", "0", "--api-key", API_KEY, *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        url = next((word for word in line.split() if word.startswith("http://")), "")
        if not url:
            raise RuntimeError(f"the simulator did not print its URL (got {line!r})")
        yield url.rstrip("/")
    finally:
        process.terminate()
        process.wait(10)
