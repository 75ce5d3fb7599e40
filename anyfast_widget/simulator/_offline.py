"""The built-in stand-in for trying the widgets without a key: one per process, started on first use, stopped at exit.

``ImageStudio(offline=True)`` and ``compare(..., offline=True)`` talk to it: synthetic
pictures of the prompt, over real HTTP on 127.0.0.1, and nothing is paid. It is only
ever used when asked for by name; a studio with a key (even a wrong one) never falls
back to it.
"""

from __future__ import annotations

import atexit
import threading

from ._simulator import Simulator

OFFLINE_LATENCY = 1.0  # seconds per request: quick, but slow enough that progress and Cancel can be seen
_lock = threading.Lock()
_server: Simulator | None = None


def offline_server() -> Simulator:
    """The process's built-in stand-in server, started if it is not yet."""
    global _server
    with _lock:
        if _server is None:
            _server = Simulator(latency=OFFLINE_LATENCY).start()
            atexit.register(_server.stop)
        return _server
