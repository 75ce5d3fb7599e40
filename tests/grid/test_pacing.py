"""A grid paces itself by the rate limit: its concurrency halves on 429s, climbs back on success, and waits out Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from anyfast_widget import AsyncClient, RateLimitError, RetryPolicy, ServerError, compare, prompts
from anyfast_widget.grid import Pacing
from anyfast_widget.simulator import Simulator

CHEAP = {"size": "1024x640", "quality": "low", "output_format": "jpeg", "output_compression": 50, "response_format": "b64_json"}


def test_a_grid_against_a_rate_limited_stand_in_finishes_with_few_429s_and_its_concurrency_goes_down_then_up(run_dir):
    # 40 requests a second at 0.1 s latency allow 4 under way; the grid starts at 16. (At a fixed 16, the same
    # grid gets more 429s than it has requests, and its client gives up on about half of them.)
    with Simulator(rate_limit=40, latency=0.1, variation=0) as sim:
        grid = compare(rows=prompts([f"a fox, study {i}" for i in range(10)]), repeats=15, concurrency=16, confirm=True,
                       api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, progress=False, **CHEAP)
        statuses = [r.status for r in sim.api_requests]
    assert [slot.status for _, slot in grid.slots()] == ["done"] * 150
    refused = statuses.count(429)
    assert statuses.count(200) == 150 and len(statuses) == 150 + refused
    assert 0 < refused <= 30  # at most one request in five was refused on the way: most at the start, finding the rate
    pacing = grid.pacing
    assert pacing.rate_limited == refused  # the grid heard of every 429 the stand-in sent, retried or not
    assert pacing.ceiling == 16 and pacing.history[0] == 16 and pacing.lowest < 8
    first_low = list(pacing.history).index(pacing.lowest)
    assert any(later > pacing.lowest for later in list(pacing.history)[first_low:])  # and it climbed back from there
    assert all(1 <= limit <= 16 for limit in pacing.history)
    assert "Pacing" not in repr(grid)  # shown by grid.pacing, nowhere else


def test_a_grid_finds_a_limit_on_requests_at_once_too(run_dir):
    with Simulator(max_concurrent=3, latency=0.2, variation=0) as sim:
        grid = compare(rows=prompts([f"a wren, study {i}" for i in range(6)]), repeats=5, concurrency=12, confirm=True,
                       api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, progress=False, **CHEAP)
        statuses = [r.status for r in sim.api_requests]
    assert [slot.status for _, slot in grid.slots()] == ["done"] * 30
    assert statuses.count(200) == 30 and grid.pacing.rate_limited == statuses.count(429) > 0
    assert grid.pacing.lowest <= 3  # it came down to what the key may have under way


def test_a_retry_after_holds_back_every_sender_of_the_grid_not_only_the_one_told(run_dir):
    with Simulator(latency=0.3, variation=0) as sim:
        sim.fail_next("429", retry_after=0.8)  # the first request to arrive
        grid = compare(rows=prompts([f"an owl, study {i}" for i in range(12)]), concurrency=8, confirm=True,
                       api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, progress=False, **CHEAP)
        records = sim.api_requests
    assert [slot.status for _, slot in grid.slots()] == ["done"] * 12
    told = next(r for r in records if r.status == 429)
    first_lot = [r for r in records if r.time < told.time + 0.1]
    later = [r for r in records if r.time >= told.time + 0.1]
    assert len(first_lot) == 8  # the 8 let in at once: the one told, and 7 already on their way
    # Without the pause the 7 finishing at 0.3 s would have let the next ones go then; none went before 0.8 s.
    assert len(later) == 5 and min(r.time for r in later) >= told.time + 0.8 - 0.01
    assert grid.pacing.rate_limited == 1 and list(grid.pacing.history)[:2] == [8, 4]


def test_a_request_refused_on_every_try_while_others_got_through_is_sent_again(run_dir):
    async def scenario(sim: Simulator):
        async with AsyncClient(sim.api_key, base_url=sim.base_url, run_dir=run_dir, retry=RetryPolicy(max_retries=0)) as client:
            return await compare(rows=prompts(["a hare", "a lynx"]), concurrency=2, client=client, progress=False, **CHEAP)

    with Simulator(latency=0.3, variation=0) as sim:
        sim.fail_next("429", retry_after=0.05)  # the first of the two to arrive; its client does not retry
        grid = asyncio.run(scenario(sim))
        statuses = [r.status for r in sim.api_requests]
    assert [c.status for c in grid.cells] == ["done", "done"] and sorted(statuses) == [200, 200, 429]


def test_refused_on_every_try_alone_the_clients_retry_policy_decides_and_the_cell_says_so(run_dir):
    with Simulator(variation=0) as sim:
        sim.fail_next("429", count=4, retry_after=0.05)  # the client's try and its 3 retries, all refused
        grid = compare("a hare", api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, progress=False, **CHEAP)
        assert grid.cells[0].status == "error" and isinstance(grid.cells[0].slots[0].error, RateLimitError)
        assert grid.pacing.rate_limited == 4 and grid.pacing.limit == 1  # not sent again behind the user's back
        grid.retry(0, 0)
        statuses = [r.status for r in sim.api_requests]
    assert grid.cells[0].status == "done" and statuses == [429] * 4 + [200]


def test_overloads_and_other_failures_do_not_slow_the_grid(run_dir):
    with Simulator(variation=0) as sim:
        sim.fail_next("503", count=3)
        grid = compare(rows=prompts(["a", "b", "c", "d"]), concurrency=4, api_key=sim.api_key, base_url=sim.base_url,
                       run_dir=run_dir, progress=False, **CHEAP)
    assert [c.status for c in grid.cells] == ["done"] * 4
    assert list(grid.pacing.history) == [4] and grid.pacing.rate_limited == 0


# The gate itself, driven through its public protocol: a call given the listener the client would be given.


def _refused(retry_after: float | None = None) -> RateLimitError:
    return RateLimitError("429 from the API", retry_after=retry_after)


def test_the_429s_of_one_lot_cut_the_limit_once_and_never_below_one():
    async def scenario() -> Pacing:
        gate = Pacing(8)
        all_in, release = asyncio.Event(), asyncio.Event()

        async def refused_once(heard):
            await all_in.wait()
            heard(_refused(), 0.0)
            await release.wait()
            return "ok"

        async def one() -> None:
            async with gate.slot() as ticket:
                await gate.send(ticket, refused_once)

        tasks = [asyncio.create_task(one()) for _ in range(8)]
        await asyncio.sleep(0.01)
        all_in.set()
        await asyncio.sleep(0.01)
        assert gate.limit == 4 and gate.active == 8  # eight 429s of requests let in together: one cut
        release.set()
        await asyncio.gather(*tasks)
        all_in.set()
        for _ in range(5):  # a lot of one, let in after each cut: half of the one under way, and no lower than 1
            async with gate.slot() as ticket:
                await gate.send(ticket, refused_once)
        return gate

    gate = asyncio.run(scenario())
    assert list(gate.history) == [8, 4, 1] and gate.limit == 1 and gate.rate_limited == 13


def test_the_limit_changes_while_tasks_wait_and_climbs_by_one_per_two_full_runs_never_above_the_ceiling():
    async def scenario() -> tuple[Pacing, list[int]]:
        gate = Pacing(4)
        seen: list[int] = []

        async def fine(heard):
            seen.append(gate.active)
            await asyncio.sleep(0.005)
            return "ok"

        async def refused(heard):
            heard(_refused(), 0.0)
            return "ok"

        async with gate.slot() as ticket:  # one 429 with 1 under way: the limit goes to 1
            await gate.send(ticket, refused)
        assert gate.limit == 1

        async def one() -> None:
            async with gate.slot() as ticket:
                await gate.send(ticket, fine)

        await asyncio.gather(*(one() for _ in range(40)))
        return gate, seen

    gate, seen = asyncio.run(scenario())
    # 2 successes at limit 1 raise it to 2, then 4 at 2 to 3, then 6 at 3 to 4: the ceiling.
    assert list(gate.history) == [4, 1, 2, 3, 4] and max(seen) == 4
    assert seen[:4] == [1, 1, 2, 2]  # the waiters were let in as the limit rose: two at once once it was 2


def test_a_retry_after_closes_the_gate_for_everyone_until_it_has_passed():
    async def scenario() -> float:
        gate = Pacing(4)
        loop = asyncio.get_running_loop()

        async def told(heard):
            heard(_refused(retry_after=0.3), 0.3)
            return "ok"

        start = loop.time()
        async with gate.slot() as ticket:
            await gate.send(ticket, told)
        async with gate.slot():  # the next to come waits out what the other was told
            return loop.time() - start

    assert asyncio.run(scenario()) >= 0.3


def test_only_429s_count():
    async def scenario() -> Pacing:
        gate = Pacing(4)

        async def overloaded(heard):
            heard(ServerError("503 from the API", status=503), 0.5)
            return "ok"

        async with gate.slot() as ticket:
            await gate.send(ticket, overloaded)
        return gate

    gate = asyncio.run(scenario())
    assert list(gate.history) == [4] and gate.rate_limited == 0


@pytest.mark.parametrize("ceiling", [0, -1, 2.5, True])
def test_the_ceiling_is_a_whole_number_of_at_least_one(ceiling):
    with pytest.raises(ValueError, match="ceiling"):
        Pacing(ceiling)


def test_a_place_is_free_once_the_answer_is_in_while_it_is_saved():
    """``answered`` (the client's ``on_answered``): the next request goes while the first is still being saved."""

    async def scenario() -> tuple[list[str], Pacing]:
        gate = Pacing(1)
        order: list[str] = []
        saved = asyncio.Event()

        async def answered_then_saved(heard, ticket):
            order.append("first sent")
            gate.answered(ticket)  # the image is in memory
            await saved.wait()  # ... and being saved
            order.append("first saved")
            return "ok"

        async def first() -> None:
            async with gate.slot() as ticket:
                await gate.send(ticket, lambda heard: answered_then_saved(heard, ticket))

        async def second() -> None:
            async with gate.slot() as ticket:
                order.append("second sent")
                saved.set()
                await gate.send(ticket, lambda heard: asyncio.sleep(0, "ok"))

        await asyncio.wait_for(asyncio.gather(first(), second()), 10)  # held until saved, the second would never go
        return order, gate

    order, gate = asyncio.run(scenario())
    assert order == ["first sent", "second sent", "first saved"]
    assert gate.active == 0 and gate.limit == 1  # each place given back once: none counted twice
