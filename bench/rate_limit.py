"""A 2,000-request sweep against a stand-in limited to 60 requests a second: wall time against the ideal, and the 429s.

The grid starts at concurrency 64, four times what the limit allows at 0.25 s latency
(60/s x 0.25 s = 15 under way); its pacing must find the rate and stay under it. The
peer is the same sweep sent at a fixed concurrency of 64 (an ``asyncio.Semaphore`` and
the client's own retries, which honour Retry-After): no adaptation. The 429s are counted
on the server (its ``/_simulator/requests``). The pictures are small JPEGs, each painted
once before the clock starts (``variation`` 0: every repeat is served from the stand-in's
cache), so its painting is not what is measured.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time

import httpx

from anyfast_widget import AsyncClient, compare, prepare_generation, prompts

from ._simulator import API_KEY, simulator_process

RATE = 60  # requests a second the stand-in lets one key send; the machine's client keeps up (about 4 ms of CPU each)
LATENCY_S = 0.25
PROMPTS = [f"a lighthouse at dusk, study {i}" for i in range(125)]
REPEATS = 16  # 125 x 16 = 2,000 requests
CONCURRENCY = 64
PARAMS = {"size": "1024x640", "quality": "low", "output_format": "jpeg", "output_compression": 50, "response_format": "b64_json"}
TIME_GOAL = 1.2  # times the ideal, 2000 / RATE seconds
SHARE_GOAL = 0.05  # of requests answered 429


def _admin(url: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    with httpx.Client(timeout=30) as http:
        response = http.post(url + path, json=body or {}) if body is not None else http.get(url + path)
        response.raise_for_status()
        return response.json()


def _answered_429(url: str) -> tuple[int, int]:
    """(requests answered 429, requests) the stand-in saw since its last reset."""
    summary = _admin(url, "/_simulator/requests")
    statuses = [r["status"] for r in summary["requests"]]  # type: ignore[index, union-attr]
    return sum(1 for s in statuses if s == 429), len(statuses)


def _sweep(url: str, run_dir: str) -> tuple[float, int, object]:
    grid = compare(rows=prompts(PROMPTS), repeats=REPEATS, concurrency=CONCURRENCY, confirm=True, run=False,
                   api_key=API_KEY, base_url=url, run_dir=run_dir, progress=False, **PARAMS)
    start = time.perf_counter()  # from the first request out: planning 2,000 cells is not the rate limit's
    grid.run()  # no event loop here: it blocks until the last cell
    elapsed = time.perf_counter() - start
    done = sum(1 for _, slot in grid.slots() if slot.result is not None)
    return elapsed, done, grid.pacing


async def _fixed(url: str, run_dir: str) -> tuple[float, int]:
    """The peer: the same requests at a fixed concurrency, no pacing."""
    requests = [prepare_generation(p, **PARAMS) for p in PROMPTS for _ in range(REPEATS)]  # type: ignore[arg-type]
    gate = asyncio.Semaphore(CONCURRENCY)
    async with AsyncClient(API_KEY, base_url=url, run_dir=run_dir, max_connections=CONCURRENCY) as client:

        async def one(prepared: object) -> bool:
            async with gate:
                try:
                    await client.send(prepared)  # type: ignore[arg-type]
                except Exception:  # noqa: BLE001 - a request that ran out of retries counts as not done
                    return False
                return True

        start = time.perf_counter()
        done = await asyncio.gather(*(one(r) for r in requests))
        return time.perf_counter() - start, sum(done)


def _limited(url: str) -> None:
    _admin(url, "/_simulator/config", {"rate_limit": RATE})
    _admin(url, "/_simulator/reset", {})


def run() -> list[dict[str, object]]:
    logger = logging.getLogger("anyfast_widget")
    level = logger.level
    logger.setLevel(logging.ERROR)  # hundreds of "429 ...; retrying" warnings are the point here, not news
    try:
        return _rows()
    finally:
        logger.setLevel(level)


def _rows() -> list[dict[str, object]]:
    total = len(PROMPTS) * REPEATS
    ideal = total / RATE
    with simulator_process("--latency", str(LATENCY_S), "--variation", "0") as url:
        with tempfile.TemporaryDirectory() as warm:  # each picture painted once, unlimited, before the clock starts
            compare(rows=prompts(PROMPTS), concurrency=16, api_key=API_KEY, base_url=url, run_dir=warm, progress=False,
                    confirm=True, **PARAMS)
        _limited(url)
        with tempfile.TemporaryDirectory() as run_dir:
            elapsed, done, pacing = _sweep(url, run_dir)
        refused, seen = _answered_429(url)
        _limited(url)  # a full bucket again for the peer (reset forgets what the key used)
        with tempfile.TemporaryDirectory() as run_dir:
            peer_elapsed, peer_done = asyncio.run(_fixed(url, run_dir))
        peer_refused, peer_seen = _answered_429(url)
    share, peer_share = refused / total, peer_refused / total
    limit_s = TIME_GOAL * ideal
    path = f"limit went from {CONCURRENCY} to {getattr(pacing, 'lowest', '?')}, ended at {getattr(pacing, 'limit', '?')}"
    return [
        {
            "benchmark": f"{total:,}-request sweep (a grid at concurrency {CONCURRENCY}, paced by its 429s) against a stand-in "
            f"limited to {RATE} requests/s per key, {LATENCY_S:g} s latency: wall time, and requests answered 429 "
            f"(counted by the stand-in); {done:,} done, {path}",
            "ours": f"{elapsed:.2f} s ({elapsed / ideal:.2f}x ideal), {refused} answered 429 ({share:.1%})",
            "peer / limit": f"limit {limit_s:.1f} s ({TIME_GOAL:g}x the ideal {ideal:.1f} s) and < {SHARE_GOAL:.0%} answered 429",
            "ratio": max(elapsed / limit_s, share / SHARE_GOAL),
            "goal": "<= 1.00",
            "pass": done == total and elapsed <= limit_s and share < SHARE_GOAL,
        },
        {
            "benchmark": f"the same sweep at a fixed concurrency of {CONCURRENCY} (no pacing; the client's own retries honour "
            f"Retry-After): requests answered 429, ours against it",
            "ours": f"{share:.1%} answered 429, {done:,} of {total:,} done in {elapsed:.1f} s",
            "peer / limit": f"fixed: {peer_share:.1%} answered 429 ({peer_refused:,} in {peer_seen:,} attempts), "
            f"{peer_done:,} done in {peer_elapsed:.1f} s",
            "ratio": share / peer_share if peer_share else float(share > 0),
            "goal": "<= 1.00",
            "pass": done >= peer_done and share <= peer_share,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
