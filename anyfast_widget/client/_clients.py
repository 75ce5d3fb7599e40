"""``Client`` and ``AsyncClient``: the two faces of the API, one waited for and one awaited, method for method the same.

Everything that is not I/O (settings, building requests, reading answers, saving)
is in :class:`BaseClient`; these two only send, download and sleep between retries.
Every result is saved in the run store before a call returns.
"""

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
from ._links import Redirect, api_redirect_error, astop_at_redirects, check_download_url, redirect_target, stop_at_redirects
from ._pools import async_pool_options
from ._response import ParsedResponse
from ._retry import FailedAttempt, log_retry, tell
from ._transport import transport_error

T = TypeVar("T")


class Client(BaseClient):
    """Calls the Anyfast image API and saves every result in the run store.

    ``api_key`` defaults to ``$ANYFAST_API_KEY``, ``base_url`` to ``$ANYFAST_BASE_URL``
    or https://www.anyfast.ai, ``run_dir`` to ``$ANYFAST_RUN_DIR`` or ./anyfast-runs.
    ``timeout`` (seconds or an ``httpx.Timeout``) bounds each attempt; ``retry``
    decides what is tried again. ``prices`` (per request: ``{"low", "medium", "high",
    "edits"}`` or a function of the request's parameters) and ``token_prices``
    (:class:`TokenPrices`, per million tokens, applied to the answer's ``usage``) price
    each result as it is saved: ``result.cost`` and ``result.cost_source`` (``"usage"``
    when the answer had a usage block and token prices are given, else ``"table"``).
    Use it as a context manager, or call ``close()``.
    """

    def __init__(self, api_key: str | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        pool = self._pool_options(stop_at_redirects)
        self._http = httpx.Client(**pool)
        # Downloads go to presigned hosts: a separate pool that never carries the key.
        self._downloads = httpx.Client(**pool, headers={"Accept-Encoding": ACCEPT_ENCODING})

    def close(self) -> None:
        self._http.close()
        self._downloads.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def generate(
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
        """Make one image from ``prompt``; it is on disk when this returns.

        Parameters left as None are not sent (the API's defaults apply). Raises
        ValidationError before sending anything that breaks the API's rules, and an
        :class:`AnyfastError` subclass for every other failure.
        """
        started = time.perf_counter()
        prepared = prepare_generation(prompt, size=size, quality=quality, output_format=output_format, moderation=moderation,
                                      output_compression=output_compression, response_format=response_format)
        return self._send(prepared, started)

    def edit(
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
        """Edit one or more source images (the first is the one ``mask`` belongs to).

        ``mask`` marks where the model may change the image (see :class:`Mask`).
        Sources are converted to PNG/JPEG as needed; the result is on disk when this
        returns. Raises as :meth:`generate` does.
        """
        started = time.perf_counter()
        prepared = prepare_edit(prompt, images, mask=mask, size=size, output_format=output_format,
                                output_compression=output_compression, response_format=response_format)
        return self._send(prepared, started)

    def send(
        self,
        prepared: PreparedRequest,
        *,
        on_failed_attempt: FailedAttempt | None = None,
        on_answered: Callable[[], None] | None = None,
    ) -> ImageResult:
        """Send a request already prepared and checked (``prepare_generation``, ``prepare_edit``, ``studio.prepare()``).

        Retried as :meth:`generate` is; the result is on disk when this returns. ``on_failed_attempt(error, delay)``
        hears of each failed attempt at the API (``delay``: seconds until the next, None if none follows) and may
        answer with a longer wait (see ``FailedAttempt``). ``on_answered()`` is called once the image is in
        memory, before it is saved: the API's part is over, so a caller that bounds the requests under way
        may let its next one go while this one is saved.
        """
        return self._send(prepared, time.perf_counter(), on_failed_attempt, on_answered)

    def _retrying(self, call: Callable[[], T], on_failed_attempt: FailedAttempt | None = None) -> tuple[T, int]:
        attempt = 0
        while True:
            try:
                return call(), attempt + 1
            except AnyfastError as error:
                delay = tell(on_failed_attempt, error, self.retry.delay(error, attempt))
                if delay is None:
                    raise
                log_retry(error, delay, attempt, self.retry.max_retries)
            time.sleep(delay)
            attempt += 1

    def _post_once(self, prepared: PreparedRequest) -> tuple[ParsedResponse, str | None]:
        request = self._build_api_request(self._http, prepared)
        body = self._response_body(prepared)
        try:
            response = self._http.send(request, stream=True)
            try:
                body.start(response.headers)
                for chunk in response.iter_raw():  # still compressed: the body inflates it within its cap
                    body.add_raw(chunk)
                body.finish()
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise transport_error(exc, self.base_url) from exc
        except Redirect as redirect:
            raise api_redirect_error(prepared, redirect) from None
        return self._read_api_response(prepared, response, body)

    def _download_once(self, url: str) -> bytes:
        body = self._download_body()
        try:
            response = self._send_download(url)
            try:
                body.start(response.headers)
                for chunk in response.iter_raw():
                    body.add_raw(chunk)
                body.finish()
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise DownloadError(f"The result's download failed: {transport_error(exc, 'the download host').message}") from exc
        return self._read_download(response, body)

    def _send_download(self, url: str) -> httpx.Response:
        """GET ``url``, following its redirects (each checked; a redirect's body is never read)."""
        hops = 0
        while True:
            try:
                return self._downloads.send(self._downloads.build_request("GET", url), stream=True)
            except Redirect as redirect:
                url, hops = redirect_target(redirect, hops), hops + 1

    def _download(self, url: str, request_id: str | None) -> bytes:
        check_download_url(url, request_id)
        data, _ = self._retrying(lambda: self._download_once(url))
        return data

    def _send(
        self,
        prepared: PreparedRequest,
        started: float,
        on_failed_attempt: FailedAttempt | None = None,
        on_answered: Callable[[], None] | None = None,
    ) -> ImageResult:
        self._check_price(prepared)
        # The result's files are made while the request is under way; saving only fills them.
        reservation = self.store.reserve()
        try:
            sent = time.perf_counter()
            (parsed, request_id), attempts = self._retrying(lambda: self._post_once(prepared), on_failed_attempt)
            timings = {"request_s": time.perf_counter() - sent}
            if parsed.image is not None:
                data = parsed.image
            else:  # a link instead (parse_success made sure there is one)
                fetched = time.perf_counter()
                data = self._download(str(parsed.url), request_id)
                timings["download_s"] = time.perf_counter() - fetched
            timings["total_s"] = time.perf_counter() - started
            if on_answered is not None:
                on_answered()
            return self._save(prepared, parsed, data, request_id, timings, attempts, reservation)
        finally:
            reservation.release()  # a no-op once the save took the files


class AsyncClient(BaseClient):
    """The asynchronous twin of :class:`Client`: the same methods, awaited.

    Many calls can run at once (``asyncio.gather``); file conversion and saving run
    in worker threads so the event loop stays free.
    """

    def __init__(self, api_key: str | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        pool = self._pool_options(astop_at_redirects)  # see Client
        self._http = httpx.AsyncClient(**async_pool_options(pool))  # a large pool as several small ones (see _pools)
        self._downloads = httpx.AsyncClient(**async_pool_options(pool), headers={"Accept-Encoding": ACCEPT_ENCODING})

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
        prepared = prepare_generation(prompt, size=size, quality=quality, output_format=output_format, moderation=moderation,
                                      output_compression=output_compression, response_format=response_format)
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
        prepared = await asyncio.to_thread(prepare_edit, prompt, images, mask=mask, size=size, output_format=output_format,
                                           output_compression=output_compression, response_format=response_format)
        return await self._send(prepared, started)

    async def send(
        self,
        prepared: PreparedRequest,
        *,
        on_failed_attempt: FailedAttempt | None = None,
        on_answered: Callable[[], None] | None = None,
    ) -> ImageResult:
        """Send a request already prepared and checked; see :meth:`Client.send`."""
        return await self._send(prepared, time.perf_counter(), on_failed_attempt, on_answered)

    async def _retrying(self, call: Callable[[], Awaitable[T]], on_failed_attempt: FailedAttempt | None = None) -> tuple[T, int]:
        attempt = 0
        while True:
            try:
                return await call(), attempt + 1
            except AnyfastError as error:
                delay = tell(on_failed_attempt, error, self.retry.delay(error, attempt))
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

    async def _send(
        self,
        prepared: PreparedRequest,
        started: float,
        on_failed_attempt: FailedAttempt | None = None,
        on_answered: Callable[[], None] | None = None,
    ) -> ImageResult:
        self._check_price(prepared)
        reservation = self.store.reserve()  # see Client._send
        try:
            sent = time.perf_counter()
            (parsed, request_id), attempts = await self._retrying(lambda: self._post_once(prepared), on_failed_attempt)
            timings = {"request_s": time.perf_counter() - sent}
            if parsed.image is not None:
                data = parsed.image
            else:  # a link instead (parse_success made sure there is one)
                fetched = time.perf_counter()
                data = await self._download(str(parsed.url), request_id)
                timings["download_s"] = time.perf_counter() - fetched
            timings["total_s"] = time.perf_counter() - started
            if on_answered is not None:
                on_answered()
            return await asyncio.to_thread(self._save, prepared, parsed, data, request_id, timings, attempts, reservation)
        finally:
            # Also when cancelled: if the save thread already took the files this does nothing.
            reservation.release()
