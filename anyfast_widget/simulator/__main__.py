"""``python -m anyfast_widget.simulator``: serve the stand-in API until stopped (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ._server import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m anyfast_widget.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default="sk-sim-local", help="the key clients must send")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per image")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of requests failing transiently")
    parser.add_argument("--leak", type=float, default=0.0, help="0-1: how much edits change outside the mask")
    parser.add_argument("--url-ttl", type=float, default=300.0, help="seconds a download link lives")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # Hand the GIL round more often than the default 5 ms: a thread that only needs to
    # accept a connection or stamp a request's arrival should not queue behind the
    # threads drawing pictures, or latency would grow with the number of requests.
    sys.setswitchinterval(0.0005)

    sim = Simulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        latency=args.latency,
        failure_rate=args.failure_rate,
        leak=args.leak,
        url_ttl=args.url_ttl,
        seed=args.seed,
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The key is not printed: it may be one the user also uses elsewhere.
    print(f"anyfast simulator serving {sim.base_url} (downloads on {sim.download_url})", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
