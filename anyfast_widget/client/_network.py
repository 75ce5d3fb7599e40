"""httpcore's network backend on asyncio's own streams: what a request costs the event loop, halved.

httpcore runs on asyncio through anyio, whose cancel scope per read and write and
whose socket attributes (a dict of callables built, and a ``getpeername`` made, each
time httpcore asks whether an idle connection is still open) are most of what a request
costs the loop when a hundred are under way. This backend is asyncio's streams with
``asyncio.timeout``, and one thing more: the writes of one request (httpcore writes its
head and its body apart) go to the socket together, when the request is whole (the
first read) or :data:`FLUSH_AT` bytes have gathered: one ``send`` to the kernel, not two.

``bench/scale_grid.py`` measures it (a 1,024-cell grid at concurrency 128).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Iterable
from typing import Any

import httpcore

#: Bytes gathered before they go out without waiting for the request to be whole (a big upload streams on).
FLUSH_AT = 65_536

_SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: asyncio's reader and writer, writes gathered until the first read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._pending = bytearray()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                if self._pending:
                    await self._flush()
                return await self._reader.read(max_bytes)
        except TimeoutError as error:
            raise httpcore.ReadTimeout(str(error) or "timed out reading") from error
        except OSError as error:
            raise httpcore.ReadError(str(error) or type(error).__name__) from error

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._pending += buffer
        if len(self._pending) < FLUSH_AT:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._flush()
        except TimeoutError as error:
            raise httpcore.WriteTimeout(str(error) or "timed out writing") from error
        except OSError as error:
            raise httpcore.WriteError(str(error) or type(error).__name__) from error

    async def _flush(self) -> None:
        data, self._pending = bytes(self._pending), bytearray()
        self._writer.write(data)
        await self._writer.drain()

    async def aclose(self) -> None:
        self._pending.clear()
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as error:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(error) or "timed out in the TLS handshake") from error
        except (OSError, ssl.SSLError) as error:
            self._writer.close()
            raise httpcore.ConnectError(str(error) or type(error).__name__) from error
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle connection the server closed (or wrote to): not to be used again
            return self._reader.at_eof() or self._writer.is_closing()
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections for httpcore's pools, made with :func:`asyncio.open_connection`."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        opening = asyncio.open_connection(host, port, local_addr=local)
        return await _connected(opening, timeout, f"{host}:{port}", socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[_SocketOption] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await _connected(asyncio.open_unix_connection(path), timeout, path, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(
    opening: Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    timeout: float | None,
    where: str,
    options: Iterable[_SocketOption] | None,
) -> AsyncioStream:
    """The stream ``opening`` makes, within ``timeout``; its failures as httpcore's."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await opening
    except TimeoutError as error:
        raise httpcore.ConnectTimeout(str(error) or f"timed out connecting to {where}") from error
    except OSError as error:
        raise httpcore.ConnectError(str(error) or type(error).__name__) from error
    _set_options(writer, options)
    return AsyncioStream(reader, writer)


def _set_options(writer: asyncio.StreamWriter, options: Iterable[_SocketOption] | None) -> None:
    sock: socket.socket | None = writer.get_extra_info("socket")
    for option in options or ():
        if sock is not None:
            sock.setsockopt(*option)


def use_asyncio_streams(transport: Any) -> bool:
    """Give ``transport`` (an :class:`httpx.AsyncHTTPTransport`) this backend for the connections it makes; whether it took.

    httpx makes its httpcore pool itself and has no parameter for the backend; an httpx whose pool
    is not where this looks keeps anyio's (slower, as correct), and ``tests/client`` says so.
    """
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = AsyncioBackend()
        return True
    return False
