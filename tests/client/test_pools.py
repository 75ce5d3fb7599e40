"""Large connection pools, over real HTTP to the stand-in: a client's connections spread over small pools, every one of
them usable at once, and a grid's client opening as many connections as the grid sends requests at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from anyfast_widget import AsyncClient, compare, prompts, replace
from anyfast_widget.client._pools import POOL_SIZE, PoolShards
from anyfast_widget.simulator import Simulator

BODY = {"model": "gpt-image-2-c", "prompt": "a lighthouse", "size": "1024x1024", "response_format": "b64_json"}


def test_pool_shards_split_the_connections_into_pools_of_at_most_pool_size():
    assert PoolShards(POOL_SIZE).pools == 1
    assert PoolShards(POOL_SIZE + 1).pools == 2
    assert PoolShards(128).pools == -(-128 // POOL_SIZE)


def _arrival_spread(sim: Simulator) -> float:
    """Seconds from the first request's arrival to the last's: under the latency, none waited for another's answer."""
    arrivals = [r.time for r in sim.api_requests]
    return max(arrivals) - min(arrivals)


def test_every_connection_of_a_large_client_is_used_at_once(tmp_path):
    """48 requests with 2 s of latency through a 48-connection client: all sent at once, none after another's answer."""

    async def main(sim: Simulator) -> list:
        async with AsyncClient(api_key=sim.api_key, base_url=sim.base_url, run_dir=tmp_path, max_connections=48) as client:
            return await asyncio.gather(*(client.generate(f"a fox, take {i}", size="1024x1024") for i in range(48)))

    with Simulator(latency=2.0, fast=True) as sim:
        results = asyncio.run(main(sim))
        spread = _arrival_spread(sim)
    assert len({r.path for r in results}) == 48 and all(r.path.is_file() for r in results)
    assert spread < 2.0  # through 16 connections the 17th would have gone 2 s after the first


def test_every_request_gives_its_place_back_read_whole_closed_early_or_failed():
    async def main(sim: Simulator) -> list[int]:
        shards = PoolShards(40)
        async with httpx.AsyncClient(transport=shards, base_url=sim.base_url) as http:
            headers = {"Authorization": f"Bearer {sim.api_key}"}

            async def whole() -> None:
                assert (await http.post("/v1/images/generations", json=BODY, headers=headers)).status_code == 200

            async def closed_early() -> None:
                async with http.stream("POST", "/v1/images/generations", json=BODY, headers=headers) as response:
                    assert response.status_code == 200  # the body is never read

            async def dropped() -> None:
                with pytest.raises(httpx.TransportError):
                    await http.post("/v1/images/generations", json=BODY, headers=headers)

            sim.fail_next("drop", 5)
            await asyncio.gather(*(dropped() for _ in range(5)))
            await asyncio.gather(*(whole() for _ in range(30)), *(closed_early() for _ in range(30)))
            return list(shards._counts)

    with Simulator(latency=0.2, fast=True) as sim:
        assert asyncio.run(main(sim)) == [0] * PoolShards(40).pools


def test_a_grid_opens_as_many_connections_as_it_sends_requests_at_once(tmp_path):
    """128 cells at concurrency 128 with 2 s of latency: all sent at once, not half after 2 s through the usual 64 connections."""
    with Simulator(latency=2.0, fast=True) as sim:
        grid = compare(
            rows=prompts([f"study {i} of a fox" for i in range(8)]),
            cols=replace("fox", [f"fox-{j}" for j in range(16)]),
            concurrency=128, confirm=True, progress=False, api_key=sim.api_key, base_url=sim.base_url, run_dir=tmp_path,
        )  # fmt: skip
        spread = _arrival_spread(sim)
    assert all(slot.status == "done" for _, slot in grid.slots()) and len(grid.cells) == 128
    assert spread < 2.0


def test_a_grid_given_a_client_with_fewer_connections_says_so_once(tmp_path, caplog):
    with Simulator(fast=True) as sim:

        async def main() -> None:
            async with AsyncClient(api_key=sim.api_key, base_url=sim.base_url, run_dir=tmp_path, max_connections=4) as client:
                grid = compare(rows=prompts(["a fox", "an owl"]), cols=replace("a", ["a", "one"]), concurrency=8, client=client,
                               progress=False)  # fmt: skip
                await grid
                await grid.run()  # nothing left to send: no second warning
                assert all(slot.status == "done" for _, slot in grid.slots())

        with caplog.at_level("WARNING", logger="anyfast_widget"):
            asyncio.run(main())
    warnings = [r.getMessage() for r in caplog.records if "connections" in r.getMessage()]
    assert warnings == [
        "The client given opens at most 4 connections, and 8 requests are sent at once: the rest wait for a connection. "
        "Make it with AsyncClient(max_connections=8)."
    ]
