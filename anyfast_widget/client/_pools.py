"""Many connections as several small pools: an AsyncClient sending a hundred requests at once stays cheap per request.

httpx's connection pool (httpcore) looks at every one of its connections each time a
request starts or ends, and for each idle one checks its socket and counts the pool
again: the work per request grows with the square of the connections. At 128
connections that is milliseconds of CPU per request, more than everything else a
request costs. :class:`PoolShards` spreads the connections over pools of at most
:data:`POOL_SIZE`, and sends each request through the pool with the fewest in flight.

Measured on a 2-core VM, 128 requests at once (``bench/scale_grid.py``): the event loop's CPU
per request was 3.5-3.9 ms with pools of 16, 2.2-2.6 with pools of 4 and 1.7-2.0 with pools of
1 or 2; of those, 2 still lets a request queued behind a busy connection go by the other one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._network import use_asyncio_streams

#: Connections per pool: past this the pool's bookkeeping (the square of its connections, each idle one's socket
#: checked by a system call) costs more than the few microseconds a pool of its own costs.
POOL_SIZE = 2


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool's count when it is closed (its connection free again)."""

    def __init__(self, stream: httpx.AsyncByteStream, counts: list[int], index: int) -> None:
        self._stream, self._counts, self._index = stream, counts, index
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._open:
                self._open = False
                self._counts[self._index] -= 1


class PoolShards(httpx.AsyncBaseTransport):
    """``max_connections`` connections as pools of at most :data:`POOL_SIZE`; a request goes to the least busy one.

    ``options`` are :class:`httpx.AsyncHTTPTransport`'s (``verify``, ...); every pool keeps all its connections alive.
    ``asyncio_streams``: whether its pools make their connections on asyncio's streams (see ``_network``).
    """

    def __init__(self, max_connections: int, **options: Any) -> None:
        count = max(1, -(-max_connections // POOL_SIZE))
        size = -(-max_connections // count)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits, **options) for _ in range(count)]
        self.asyncio_streams = all([use_asyncio_streams(pool) for pool in self._pools])
        self._counts = [0] * count  # requests in flight per pool, from sending to the body's close

    @property
    def pools(self) -> int:
        """How many pools the connections are spread over."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._pools)), key=self._counts.__getitem__)
        self._counts[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._counts[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Counted(response.stream, self._counts, index)
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def async_pool_options(options: dict[str, Any]) -> dict[str, Any]:
    """httpx.AsyncClient's arguments for ``options`` (:meth:`BaseClient._pool_options`): its pool split when it is
    large, its connections on asyncio's streams (``_network``) either way."""
    limits: httpx.Limits = options["limits"]
    transport: httpx.AsyncBaseTransport
    if limits.max_connections is None or limits.max_connections <= POOL_SIZE:
        transport = httpx.AsyncHTTPTransport(limits=limits, verify=options["verify"])
        use_asyncio_streams(transport)
    else:
        transport = PoolShards(limits.max_connections, verify=options["verify"])
    # (verify and limits stay: httpx makes the transports of proxies from the environment with them)
    return {**options, "transport": transport}
