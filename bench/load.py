"""Memory under load: 200-request rounds through one AsyncClient, 50 at a time, a tenth of the answers failing transiently.

The caller keeps every ImageResult (as ``asyncio.gather`` does). A result keeps its
file's bytes in memory until ``release()`` (the image is on disk either way), so
there are two questions:

- does anything grow per request besides the results the caller keeps? Results
  are released as they arrive, and the heap (tracemalloc) and the resident set are
  compared after one round and after the next: what a round adds, per request,
  is what each kept result costs, and it must stay a few KiB;
- does an unreleased result hold its file's bytes once, and nothing more (no
  base64 text, no response body)? A third round keeps its results unreleased: what
  it adds per request, against the files' mean size.

The simulator runs in its own process (as for the other benchmarks), with no latency.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import tracemalloc

from anyfast_widget import AsyncClient, ImageResult, RetryPolicy
from anyfast_widget.simulator import ALL_TRANSIENT

from ._simulator import API_KEY, simulator_process

CALLS, CONCURRENCY, FAILURE_RATE = 200, 50, 0.10
RETRY = RetryPolicy(max_retries=6, initial_backoff=0.05, max_backoff=0.4)
SIZE = "1024x1024"
KEPT_LIMIT = 8 * 1024  # bytes a kept, released result may cost: its metadata, not its picture
RSS_LIMIT = 1.10  # resident set after the second round against after the first
UNRELEASED_EXTRA_LIMIT = KEPT_LIMIT  # an unreleased result: its file's bytes, plus what a released one costs


async def _round(client: AsyncClient, n: int, kept: list[ImageResult], *, release: bool) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> ImageResult:
        async with gate:
            result = await client.generate(f"round {n} image {i}", size=SIZE, quality="low")
        if release:
            result.release()
        return result

    kept.extend(await asyncio.gather(*(one(i) for i in range(CALLS))))


def _rss() -> int:
    """The resident set size now, in bytes (Linux); elsewhere the peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _heap() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _rss_rounds(url: str, run_dir: str) -> tuple[int, int]:
    kept: list[ImageResult] = []
    async with AsyncClient(api_key=API_KEY, base_url=url, run_dir=run_dir, retry=RETRY) as client:
        await _round(client, 1, kept, release=True)
        gc.collect()
        first = _rss()
        await _round(client, 2, kept, release=True)
        gc.collect()
        second = _rss()
    assert len(kept) == 2 * CALLS
    return first, second


async def _heap_rounds(url: str, run_dir: str) -> tuple[float, float, float]:
    kept: list[ImageResult] = []
    async with AsyncClient(api_key=API_KEY, base_url=url, run_dir=run_dir, retry=RETRY) as client:
        await _round(client, 1, kept, release=True)
        first = _heap()
        await _round(client, 2, kept, release=True)
        second = _heap()
        await _round(client, 3, kept, release=False)
        third = _heap()
    unreleased = kept[2 * CALLS :]
    file_size = statistics.fmean(r.path.stat().st_size for r in unreleased)
    assert len({r.id for r in kept}) == 3 * CALLS
    return (second - first) / CALLS, (third - second) / CALLS, file_size


def run() -> list[dict[str, object]]:
    logger = logging.getLogger("anyfast_widget")
    level = logger.level
    logger.setLevel(logging.ERROR)  # not a warning line per retry
    try:
        return _run()
    finally:
        logger.setLevel(level)


def _run() -> list[dict[str, object]]:
    flags = ["--failure-rate", str(FAILURE_RATE), "--failure-kinds", json.dumps([f.spec() for f in ALL_TRANSIENT]), "--seed", "5"]
    with simulator_process(*flags) as url:
        with tempfile.TemporaryDirectory() as run_dir:
            rss_first, rss_second = asyncio.run(_rss_rounds(url, run_dir))
        with tempfile.TemporaryDirectory() as run_dir:
            tracemalloc.start()
            try:
                kept, unreleased, file_size = asyncio.run(_heap_rounds(url, run_dir))
            finally:
                tracemalloc.stop()
    rss_ratio = rss_second / rss_first
    extra = unreleased - file_size  # a second copy (base64 text, the response body) would show here
    load = f"{CALLS}-generation rounds via AsyncClient, {CONCURRENCY} at a time, {FAILURE_RATE:.0%} failing transiently"
    return [
        {
            "benchmark": f"memory per request under load ({load}): Python heap the second round adds, results kept but released",
            "ours": f"{kept / 1024:.1f} KiB",
            "peer / limit": f"limit {KEPT_LIMIT // 1024} KiB",
            "ratio": kept / KEPT_LIMIT,
            "goal": "<= 1.00",
            "pass": kept <= KEPT_LIMIT,
        },
        {
            "benchmark": "resident set after the second round of that load, against after the first",
            "ours": f"{rss_second / 2**20:.0f} MiB",
            "peer / limit": f"limit {RSS_LIMIT:.2f} x {rss_first / 2**20:.0f} MiB",
            "ratio": rss_ratio / RSS_LIMIT,
            "goal": "<= 1.00",
            "pass": rss_ratio <= RSS_LIMIT,
        },
        {
            "benchmark": f"what an unreleased result holds besides its file: Python heap a third round adds per request, "
            f"results kept unreleased, less the {SIZE} PNG's mean {file_size / 1024:.0f} KiB",
            "ours": f"{extra / 1024:.1f} KiB",
            "peer / limit": f"limit {UNRELEASED_EXTRA_LIMIT // 1024} KiB",
            "ratio": extra / UNRELEASED_EXTRA_LIMIT,
            "goal": "<= 1.00",
            "pass": extra <= UNRELEASED_EXTRA_LIMIT,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
