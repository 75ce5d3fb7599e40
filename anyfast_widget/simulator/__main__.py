"""``python -m anyfast_widget.simulator``: serve the stand-in API until SIGINT (Ctrl-C) or SIGTERM.

The first line on standard output is the base URL, for a script to read; in a
terminal a second line says where downloads and the admin endpoints are. The knobs
can be changed while it runs through the admin endpoints under ``/_simulator/``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from ._faults import DEFAULT_TRANSIENT
from ._simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m anyfast_widget.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument("--api-key", default="sk-sim-local", help="the key clients must send (default sk-sim-local)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds from a request's arrival to its answer")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="0-1: share of requests failing transiently")
    parser.add_argument(
        "--failure-kinds",
        type=json.loads,
        default=None,
        help='JSON list of the failures --failure-rate picks from, e.g. \'["503", "drop", {"kind": "429", "retry_after": 0.3}]\' '
        "(default: 429 with Retry-After 0.05 s, 503)",
    )
    parser.add_argument("--variation", type=float, default=0.25, help="0-1: how much repeats of one generation differ")
    parser.add_argument("--seed", type=int, default=0, help="seed of the failure-rate RNG")
    parser.add_argument("--leak", type=float, default=0.0, help="0-1: how much edits change outside the mask")
    parser.add_argument("--url-ttl", type=float, default=300.0, help="seconds a download link lives")
    parser.add_argument("--moderation-trigger", default="blockme", help="prompts with this word are refused ('' disables)")
    parser.add_argument("--refuse-masks", action="store_true", help="refuse masked edits, as an account without the Direct group")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="requests a second per key, then 429 (default 0: none)")
    parser.add_argument("--rate-burst", type=float, default=None, help="requests a key may send at once (default: 1 s's worth)")
    parser.add_argument("--max-concurrent", type=int, default=0, help="requests per key answered at once, then 429 (0: none)")
    parser.add_argument(
        "--fast", action="store_true", help="the fast path for load: generations from one cached picture per size and format"
    )
    args = parser.parse_args(argv)
    # Hand the GIL round more often than the default 5 ms: a thread that only needs to
    # accept a connection or stamp a request's arrival should not queue behind the
    # threads drawing pictures, or latency would grow with the number of requests.
    sys.setswitchinterval(0.0005)

    try:
        sim = Simulator(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            latency=args.latency,
            failure_rate=args.failure_rate,
            failure_kinds=DEFAULT_TRANSIENT if args.failure_kinds is None else args.failure_kinds,
            variation=args.variation,
            seed=args.seed,
            leak=args.leak,
            url_ttl=args.url_ttl,
            moderation_trigger=args.moderation_trigger,
            refuse_masks=args.refuse_masks,
            rate_limit=args.rate_limit,
            rate_burst=args.rate_burst,
            max_concurrent=args.max_concurrent,
            fast=args.fast,
        ).start()
    except (ValueError, TypeError, OSError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(sim.base_url, flush=True)
    if sys.stdout.isatty():  # a person is watching, not a program reading the URL
        # The key is not printed: it may be one the user also uses elsewhere.
        print(f"  (downloads on {sim.download_url}; admin under {sim.base_url}/_simulator/; Ctrl-C stops it)", flush=True)
    try:
        stop.wait()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
