"""``AsyncClient``: the twin of :class:`Client`, awaited; file conversion and saving run in worker threads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx

from ..core import (
    DEFAULT_RESPONSE_FORMAT,
    AnyfastError,
    DownloadError,
    ImageInput,
    MaskInput,
    PreparedRequest,
    Size,
    prepare_edit,
    prepare_generation,
)
from ..store import ImageResult
from ._base import BaseClient
from ._body import ACCEPT_ENCODING
from ._links import Redirect, api_redirect_error, astop_at_redirects, check_download_url, redirect_target
from ._response import ParsedResponse
from ._retry import log_retry
from ._transport import transport_error

T = TypeVar("T")


class AsyncClient(BaseClient):
    """The asynchronous twin of :class:`Client`: the same methods, awaited.

    Many calls can run at once (``asyncio.gather``); file conversion and saving run
    in worker threads so the event loop stays free.
    """

    def __init__(self, api_key: str | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        pool = self._pool_options(astop_at_redirects)  # see Client
        self._http = httpx.AsyncClient(**pool)
        self._downloads = httpx.AsyncClient(**pool, headers={"Accept-Encoding": ACCEPT_ENCODING})

    async def close(self) -> None:
        await self._http.aclose()
        await self._downloads.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def generate(
        self,
        prompt: str,
        *,
        size: Size | None = None,
        quality: str | None = None,
        output_format: str | None = None,
        output_compression: int | None = None,
        moderation: str | None = None,
        response_format: str | None = DEFAULT_RESPONSE_FORMAT,
    ) -> ImageResult:
        """Make one image from ``prompt``; see :meth:`Client.generate`."""
        started = time.perf_counter()
        prepared = prepare_generation(
            prompt,
            size=size,
            quality=quality,
            output_format=output_format,
            output_compression=output_compression,
            moderation=moderation,
            response_format=response_format,
        )
        return await self._send(prepared, started)

    async def edit(
        self,
        prompt: str,
        images: ImageInput | Sequence[ImageInput],
        *,
        mask: MaskInput | None = None,
        size: Size | None = None,
        output_format: str | None = None,
        output_compression: int | None = None,
        response_format: str | None = DEFAULT_RESPONSE_FORMAT,
    ) -> ImageResult:
        """Edit source images; see :meth:`Client.edit`."""
        started = time.perf_counter()
        prepared = await asyncio.to_thread(
            prepare_edit,
            prompt,
            images,
            mask=mask,
            size=size,
            output_format=output_format,
            output_compression=output_compression,
            response_format=response_format,
        )
        return await self._send(prepared, started)

    async def send(self, prepared: PreparedRequest) -> ImageResult:
        """Send a request already prepared and checked; see :meth:`Client.send`."""
        return await self._send(prepared, time.perf_counter())

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        attempt = 0
        while True:
            try:
                return await call(), attempt + 1
            except AnyfastError as error:
                delay = self.retry.delay(error, attempt)
                if delay is None:
                    raise
                log_retry(error, delay, attempt, self.retry.max_retries)
            await asyncio.sleep(delay)
            attempt += 1

    async def _post_once(self, prepared: PreparedRequest) -> tuple[ParsedResponse, str | None]:
        request = self._build_api_request(self._http, prepared)
        body = self._response_body(prepared)
        try:
            response = await self._http.send(request, stream=True)
            try:
                body.start(response.headers)
                async for chunk in response.aiter_raw():  # see Client._post_once
                    body.add_raw(chunk)
                body.finish()
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise transport_error(exc, self.base_url) from exc
        except Redirect as redirect:
            raise api_redirect_error(prepared, redirect) from None
        return self._read_api_response(prepared, response, body)

    async def _download_once(self, url: str) -> bytes:
        body = self._download_body()
        try:
            response = await self._send_download(url)
            try:
                body.start(response.headers)
                async for chunk in response.aiter_raw():
                    body.add_raw(chunk)
                body.finish()
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise DownloadError(f"The result's download failed: {transport_error(exc, 'the download host').message}") from exc
        return self._read_download(response, body)

    async def _send_download(self, url: str) -> httpx.Response:
        hops = 0  # see Client._send_download
        while True:
            try:
                return await self._downloads.send(self._downloads.build_request("GET", url), stream=True)
            except Redirect as redirect:
                url, hops = redirect_target(redirect, hops), hops + 1

    async def _download(self, url: str, request_id: str | None) -> bytes:
        check_download_url(url, request_id)
        data, _ = await self._retrying(lambda: self._download_once(url))
        return data

    async def _send(self, prepared: PreparedRequest, started: float) -> ImageResult:
        reservation = self.store.reserve()  # see Client._send
        try:
            sent = time.perf_counter()
            (parsed, request_id), attempts = await self._retrying(lambda: self._post_once(prepared))
            timings = {"request_s": time.perf_counter() - sent}
            if parsed.image is not None:
                data = parsed.image
            else:  # a link instead (parse_success made sure there is one)
                fetched = time.perf_counter()
                data = await self._download(str(parsed.url), request_id)
                timings["download_s"] = time.perf_counter() - fetched
            timings["total_s"] = time.perf_counter() - started
            return await asyncio.to_thread(self._save, prepared, parsed, data, request_id, timings, attempts, reservation)
        finally:
            # Also when cancelled: if the save thread already took the files this does nothing.
            reservation.release()
