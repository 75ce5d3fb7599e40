"""Load: 200 generations through AsyncClient, 50 at a time, with a tenth of the answers failing transiently.

Every call completes, every result is stored exactly once (index row, image and
sidecar, nothing temporary left), the server saw one request per attempt, and no
retry after a 429 came sooner than its Retry-After. (Memory under this load is
measured by ``bench/load.py``.)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import defaultdict
from itertools import pairwise

from anyfast_widget import AsyncClient, RetryPolicy, RunStore
from anyfast_widget.simulator import ALL_TRANSIENT

CALLS, CONCURRENCY = 200, 50
FAILURE_RATE = 0.10
# Quick backoff keeps the test short; six retries make giving up (seven failures in a row) practically impossible.
RETRY = RetryPolicy(max_retries=6, initial_backoff=0.05, max_backoff=0.4)
SIZE = "1024x640"  # the smallest the API allows (655,360 pixels)


async def _run(sim, run_dir) -> list:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(client: AsyncClient, i: int):
        async with gate:
            # A unique prompt per call: the server's records of its attempts can be told apart.
            return await client.generate(f"load {i:03d}", size=SIZE, quality="low", output_format="jpeg")

    async with AsyncClient(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, retry=RETRY) as client:
        return await asyncio.gather(*(one(client, i) for i in range(CALLS)), return_exceptions=True)


def test_200_calls_with_transient_failures_all_complete_each_stored_once(anyfast_simulator, run_dir):
    sim = anyfast_simulator
    sim.configure(latency=0.0, failure_rate=FAILURE_RATE, failure_kinds=ALL_TRANSIENT, seed=5)
    results = asyncio.run(_run(sim, run_dir))

    # -- every call completed ------------------------------------------------------------------
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} calls failed, the first: {errors[0]!r}"
    prompts = [f"load {i:03d}" for i in range(CALLS)]
    assert [r.prompt for r in results] == prompts

    # -- what the server saw: one request per attempt, faults as configured ----------------------
    records = sim.api_requests
    faulted = [r for r in records if r.fault is not None]
    kinds = {json.dumps(r.fault.spec(), sort_keys=True) for r in faulted}
    assert len(kinds) == len(ALL_TRANSIENT), f"the seed should exercise every kind of failure, got {sorted(kinds)}"
    assert 0.05 * CALLS < len(faulted) < 0.2 * CALLS
    assert len(records) == CALLS + len(faulted) == sum(r.attempts for r in results)
    attempts = defaultdict(list)
    for record in records:
        attempts[record.fields["prompt"]].append(record)
    assert sorted(attempts) == prompts
    for result in results:
        tries = sorted(attempts[result.prompt], key=lambda r: r.time)
        assert len(tries) == result.attempts
        assert [t.fault is None for t in tries] == [False] * (len(tries) - 1) + [True]
        assert tries[-1].status == 200 and result.request_id == tries[-1].request_id

    # -- retries waited: at least the Retry-After when one was given, some backoff otherwise ------
    # The server stamps a request when it reads it, so a busy client (or server) makes every gap look
    # longer than the client waited: it can only hide an early retry, never invent one. The check is
    # only worth something if some gaps here are short, which ``quick`` makes sure of.
    waits, quick = [], []
    for tries in attempts.values():
        tries.sort(key=lambda r: r.time)
        for failed, retry in pairwise(tries):
            waited = retry.time - failed.time
            if failed.fault.kind == "429" and failed.fault.retry_after is not None:
                waits.append(waited)
                assert waited >= failed.fault.retry_after, (
                    f"retried {waited:.3f} s after a Retry-After of {failed.fault.retry_after} s"
                )
            else:
                quick.append(waited)
                assert waited >= RETRY.initial_backoff / 2, f"retried {waited:.3f} s after {failed.fault.kind}"
    assert waits, "no 429 with Retry-After was drawn"
    longest = max(f.retry_after for f in ALL_TRANSIENT if f.retry_after is not None)
    assert min(quick) < longest, f"no retry came sooner than {longest} s: this run could not have caught an early one"

    # -- the run store: 200 results, each once, whole, nothing else --------------------------------
    root = run_dir.resolve()
    with sqlite3.connect(root / "index.sqlite") as db:
        rows = db.execute("SELECT id, prompt, file FROM results").fetchall()
    assert len(rows) == CALLS
    assert sorted(prompt for _, prompt, _ in rows) == prompts
    assert len({i for i, _, _ in rows}) == len({f for _, _, f in rows}) == CALLS
    assert {r.id for r in results} == {i for i, _, _ in rows}
    assert {str(r.path.relative_to(root)) for r in results} == {f for _, _, f in rows}

    files = sorted(p.relative_to(root).as_posix() for p in (root / "images").rglob("*") if p.is_file())
    images = {f for _, _, f in rows}
    sidecars = {f.removesuffix(".jpg") + ".json" for f in images}
    assert set(files) == images | sidecars, f"unexpected files: {sorted(set(files) - images - sidecars)[:5]}"
    assert not list((root / "inputs").iterdir())
    for result in results:
        meta = json.loads(result.sidecar_path.read_text())
        assert (meta["id"], meta["prompt"], meta["attempts"]) == (result.id, result.prompt, result.attempts)
        assert result.path.read_bytes()[:3] == b"\xff\xd8\xff" and (meta["width"], meta["height"]) == (1024, 640)
    assert len(RunStore(root)) == CALLS
