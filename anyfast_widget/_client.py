"""``Client`` and ``AsyncClient``: two thin faces over one core.

``_BaseClient`` holds configuration, builds requests, reads responses and saves
results; the two subclasses only do the I/O (sending, downloading, sleeping
between retries), method for method the same.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import os
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from ._body import ACCEPT_ENCODING, Body, ImageBody
from ._errors import (
    AnyfastError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    DownloadError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from ._images import ImageInput
from ._mask import MaskInput
from ._request import (
    DEFAULT_RESPONSE_FORMAT,
    ParsedResponse,
    PreparedRequest,
    Size,
    check_image_bytes,
    error_for_status,
    parse_retry_after,
    parse_success,
    prepare_edit,
    prepare_generation,
)
from ._result import ImageResult
from ._store import RunStore, _Reservation

__version__ = "0.1.0"
logger = logging.getLogger("anyfast_widget")

DEFAULT_BASE_URL = "https://www.anyfast.ai"
DEFAULT_RUN_DIR = "./anyfast-runs"
# A high-quality 4K image can take minutes; connecting should not.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=120.0, pool=600.0)
DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024  # a 3840x2160 PNG in base64 is well under this
DEFAULT_MAX_DOWNLOAD_BYTES = 96 * 1024 * 1024
MAX_DOWNLOAD_REDIRECTS = 5
REDACTED = "<redacted API key>"

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying again.

    Retried: 429 (after its ``Retry-After`` when given), 5xx, timeouts and dropped
    connections, with exponential backoff and jitter. Never retried: 400, 401, 403
    and moderation blocks, which would only be refused (and perhaps charged) again.
    A ``Retry-After`` longer than ``max_retry_after`` is not waited out: the error
    is raised with its ``retry_after`` so the caller can decide.
    """

    max_retries: int = 3
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0

    def is_retryable(self, error: AnyfastError) -> bool:
        if isinstance(error, (RateLimitError, ServerError, APITimeoutError, APIConnectionError)):
            return True
        if isinstance(error, DownloadError):  # only transient download failures
            return error.status is None or error.status == 429 or error.status >= 500
        return False

    def delay(self, error: AnyfastError, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries or not self.is_retryable(error):
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        backoff = min(self.max_backoff, self.initial_backoff * 2**attempt)
        return random.uniform(backoff / 2, backoff)  # jitter spreads out clients that failed together


class _Secret:
    """Holds the API key so that no repr, str, log line or pickle can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("the API key is not picklable")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"The base URL {url!r} is not an http(s) URL.", hint="Use e.g. https://www.anyfast.ai (ANYFAST_BASE_URL)."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"Refusing to send the API key over plain http to {parts.hostname}.",
            hint="Use https, or http only to a server on this machine (127.0.0.1, localhost).",
        )
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):  # people paste OpenAI-style base URLs; the paths carry /v1 themselves
        path = path[: -len("/v1")]
    return f"{parts.scheme}://{parts.netloc}{path}"


class _Redirect(Exception):
    """Raised by a response hook at each redirect, before httpx reads its body or parses its Location.

    httpx reads a redirect's whole body before following it, and parses its Location
    even when not following (raising InvalidURL, outside its error tree): a hostile
    server could answer a redirect with an endless body, or an unparseable link.
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.status, self.url, self.location = response.status_code, response.url, response.headers["location"]


def _stop_at_redirects(response: httpx.Response) -> None:
    if response.has_redirect_location:
        raise _Redirect(response)


async def _astop_at_redirects(response: httpx.Response) -> None:
    _stop_at_redirects(response)


def _link_problem(url: str) -> str | None:
    """Why ``url`` is no link to download a result from (None when it is an http(s) link with a host)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return "is not a valid URL"
    if parsed.scheme not in ("http", "https"):
        return f"is a {parsed.scheme + ': ' if parsed.scheme else 'relative '}link, not http(s)"
    if not parsed.host:
        return "names no host"
    return None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The verifying TLS context every client in the process shares.

    Building one reads the whole CA bundle (about 40 ms), and each client has two
    connection pools: without sharing, every ``Client()``, grid run and studio would
    spend most of a tenth of a second before its first request. It honours
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` as they are when the first client is made.
    """
    return httpx.create_ssl_context()


def _as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=min(float(timeout), 10.0))


def _transport_error(exc: httpx.TransportError, what: str) -> AnyfastError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"No complete answer from {what} in time ({type(exc).__name__}).")
    return APIConnectionError(f"The connection to {what} failed or dropped ({type(exc).__name__}: {exc}).")


class _BaseClient:
    """Configuration, request building, response reading and saving: no I/O of its own."""

    def __init__(
        self,
        api_key: str | _Secret | None = None,
        *,
        base_url: str | None = None,
        run_dir: str | os.PathLike[str] | RunStore | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("ANYFAST_API_KEY")
        if isinstance(key, _Secret):
            key = key.reveal()
        if not key or not key.strip():
            raise ConfigurationError(
                "No API key.", hint="Set the ANYFAST_API_KEY environment variable, or pass api_key=... to the client."
            )
        self._api_key = _Secret(key.strip())
        self.base_url = _check_base_url(base_url or os.environ.get("ANYFAST_BASE_URL") or DEFAULT_BASE_URL)
        store = run_dir if run_dir is not None else os.environ.get("ANYFAST_RUN_DIR") or DEFAULT_RUN_DIR
        self.store = store if isinstance(store, RunStore) else RunStore(store)
        self.timeout = _as_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        self.max_download_bytes = max_download_bytes
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, run_dir={str(self.store.root)!r})"

    def _pool_options(self, on_response: Callable[[httpx.Response], Any]) -> dict[str, Any]:
        """What both httpx pools (API and downloads) are made with; ``on_response`` stops redirects (see _Redirect)."""
        return {"verify": _tls_context(), "timeout": self.timeout, "limits": self._limits, "event_hooks": {"response": [on_response]}}

    # -- building ----------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key.reveal()}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,  # what _body inflates, a bounded piece at a time
            "User-Agent": f"anyfast-widget/{__version__}",
        }

    def _build_api_request(self, http: httpx.Client | httpx.AsyncClient, prepared: PreparedRequest) -> httpx.Request:
        return http.build_request("POST", self.base_url + prepared.path, headers=self._headers(), **prepared.httpx_arguments())

    @staticmethod
    def _check_download_url(url: str, request_id: str | None) -> None:
        problem = _link_problem(url)
        if problem:
            raise MalformedResponseError(f"The result's url {problem}; it was not fetched.", status=200, request_id=request_id)

    @staticmethod
    def _redirect_target(redirect: _Redirect, hops: int) -> str:
        """Where a download redirect points, checked: an http(s) link, and not too many hops."""
        if hops >= MAX_DOWNLOAD_REDIRECTS:
            raise DownloadError(
                f"The result's download link redirected more than {MAX_DOWNLOAD_REDIRECTS} times (a loop?); it was given up.",
                status=redirect.status,
            )
        try:
            target = str(redirect.url.join(redirect.location))
        except (httpx.InvalidURL, ValueError):
            target = redirect.location
        if problem := _link_problem(target):
            raise DownloadError(
                f"The download host redirected to a link that {problem}; it was not followed.", status=redirect.status
            )
        return target

    # -- reading -----------------------------------------------------------------

    def _response_body(self, prepared: PreparedRequest) -> ImageBody:
        def too_big(n: int) -> AnyfastError:
            return MalformedResponseError(
                f"The answer from {prepared.path} exceeds {self.max_response_bytes:,} bytes ({n:,}); reading stopped."
            )

        return ImageBody(
            self.max_response_bytes,
            too_big,
            malformed=lambda what: MalformedResponseError(f"The answer from {prepared.path} cannot be read: {what}."),
            seconds=self.timeout.read,
            too_slow=lambda s: APITimeoutError(
                f"No complete answer from {self.base_url} in time: its body was still arriving after {s:g} s."
            ),
        )

    def _download_body(self) -> Body:
        def too_big(n: int) -> AnyfastError:
            return DownloadError(
                f"The result download exceeds {self.max_download_bytes:,} bytes ({n:,}); it was stopped.",
                status=200,
                hint="Raise max_download_bytes if this image really is that large.",
            )

        return Body(
            self.max_download_bytes,
            too_big,
            malformed=lambda what: DownloadError(f"The result's download cannot be read: {what}.", status=200),
            seconds=self.timeout.read,
            too_slow=lambda s: DownloadError(f"The result's download did not arrive in time: still arriving after {s:g} s."),
        )

    @staticmethod
    def _api_redirect(prepared: PreparedRequest, redirect: _Redirect) -> AnyfastError:
        return APIStatusError(
            f"{redirect.status} from {prepared.path}: a redirect, which is not followed (it would take the API key elsewhere).",
            status=redirect.status,
            hint="Point base_url (ANYFAST_BASE_URL) at the address the API answers on.",
        )

    def _redact(self, value: Any) -> Any:
        """Text or JSON-like data from a server with the API key blanked out, should the server echo it back."""
        if isinstance(value, str):
            return value.replace(self._api_key.reveal(), REDACTED)
        if isinstance(value, dict):
            return {self._redact(k): self._redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact(v) for v in value]
        return value

    def _read_api_response(
        self, prepared: PreparedRequest, response: httpx.Response, body: ImageBody
    ) -> tuple[ParsedResponse, str | None]:
        """The answer and its request id, or the error its status means.

        What the server says is kept (in errors, logs, sidecars, the widgets) with the
        API key blanked out: a broken gateway may echo the request's headers back.
        """
        headers = self._redact(dict(response.headers.items()))
        request_id = headers.get("x-request-id")
        if response.status_code != 200:
            raw = body.raw().replace(self._api_key.reveal().encode(), REDACTED.encode())
            error = error_for_status(response.status_code, headers, raw, prepared)
            logger.info("%s %s -> %s (request id %s)", "POST", prepared.path, response.status_code, request_id)
            raise error
        parsed = parse_success(body, prepared, request_id)
        if parsed.url is not None and self._api_key.reveal() in parsed.url:
            raise MalformedResponseError(
                "The result's url contains the API key; it was not fetched, so the key goes nowhere but the API.",
                status=200,
                request_id=request_id,
            )
        parsed.revised_prompt, parsed.extras = self._redact(parsed.revised_prompt), self._redact(parsed.extras)
        return parsed, request_id

    @staticmethod
    def _read_download(response: httpx.Response, body: Body) -> bytes:
        if response.status_code == 200:
            return body.raw()
        reason = "it has probably expired" if response.status_code in (401, 403) else "the download host refused it"
        raise DownloadError(
            f"The result's download link answered {response.status_code}: {reason}.",
            status=response.status_code,
            retry_after=parse_retry_after(response.headers),
        )

    def _save(
        self,
        prepared: PreparedRequest,
        parsed: ParsedResponse,
        data: bytes,
        request_id: str | None,
        timings: dict[str, float],
        attempts: int,
        reservation: _Reservation | None = None,
    ) -> ImageResult:
        fmt, size = check_image_bytes(data, prepared.output_format, request_id)
        if fmt != prepared.output_format:
            logger.warning(
                "asked for %s but the API sent %s (request %s); kept as it came", prepared.output_format.upper(), fmt.upper(), request_id
            )
        result = self.store.save(
            prepared,
            data,
            size=size,
            revised_prompt=parsed.revised_prompt,
            request_id=request_id,
            timings=timings,
            extras=parsed.extras,
            attempts=attempts,
            fmt=fmt,
            _reservation=reservation,
        )
        logger.debug("saved %s (%s)", result.path, request_id)
        return result


def _log_retry(error: AnyfastError, delay: float, attempt: int, retries: int) -> None:
    logger.warning("%s; retrying in %.1f s (retry %d of %d)", error.message, delay, attempt + 1, retries)


class Client(_BaseClient):
    """Calls the Anyfast image API and saves every result in the run store.

    ``api_key`` defaults to ``$ANYFAST_API_KEY``, ``base_url`` to ``$ANYFAST_BASE_URL``
    or https://www.anyfast.ai, ``run_dir`` to ``$ANYFAST_RUN_DIR`` or ./anyfast-runs.
    ``timeout`` (seconds or an ``httpx.Timeout``) bounds each attempt; ``retry``
    decides what is tried again. Use it as a context manager, or call ``close()``.
    """

    def __init__(self, api_key: str | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        pool = self._pool_options(_stop_at_redirects)
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
        prepared = prepare_generation(
            prompt,
            size=size,
            quality=quality,
            output_format=output_format,
            output_compression=output_compression,
            moderation=moderation,
            response_format=response_format,
        )
        return self._execute(prepared, started)

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
        prepared = prepare_edit(
            prompt,
            images,
            mask=mask,
            size=size,
            output_format=output_format,
            output_compression=output_compression,
            response_format=response_format,
        )
        return self._execute(prepared, started)

    def _retrying(self, call: Callable[[], T]) -> tuple[T, int]:
        attempt = 0
        while True:
            try:
                return call(), attempt + 1
            except AnyfastError as error:
                delay = self.retry.delay(error, attempt)
                if delay is None:
                    raise
                _log_retry(error, delay, attempt, self.retry.max_retries)
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
            raise _transport_error(exc, self.base_url) from exc
        except _Redirect as redirect:
            raise self._api_redirect(prepared, redirect) from None
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
            raise DownloadError(f"The result's download failed: {_transport_error(exc, 'the download host').message}") from exc
        return self._read_download(response, body)

    def _send_download(self, url: str) -> httpx.Response:
        """GET ``url``, following its redirects (each checked; a redirect's body is never read)."""
        hops = 0
        while True:
            try:
                return self._downloads.send(self._downloads.build_request("GET", url), stream=True)
            except _Redirect as redirect:
                url, hops = self._redirect_target(redirect, hops), hops + 1

    def _download(self, url: str, request_id: str | None) -> bytes:
        self._check_download_url(url, request_id)
        data, _ = self._retrying(lambda: self._download_once(url))
        return data

    def _execute(self, prepared: PreparedRequest, started: float) -> ImageResult:
        # The result's files are made while the request is under way; saving only fills them.
        reservation = self.store._reserve()
        try:
            sent = time.perf_counter()
            (parsed, request_id), attempts = self._retrying(lambda: self._post_once(prepared))
            timings = {"request_s": time.perf_counter() - sent}
            if parsed.image is not None:
                data = parsed.image
            else:  # a link instead (parse_success made sure there is one)
                fetched = time.perf_counter()
                data = self._download(str(parsed.url), request_id)
                timings["download_s"] = time.perf_counter() - fetched
            timings["total_s"] = time.perf_counter() - started
            return self._save(prepared, parsed, data, request_id, timings, attempts, reservation)
        finally:
            reservation.release()  # a no-op once the save took the files


class AsyncClient(_BaseClient):
    """The asynchronous twin of :class:`Client`: the same methods, awaited.

    Many calls can run at once (``asyncio.gather``); file conversion and saving run
    in worker threads so the event loop stays free.
    """

    def __init__(self, api_key: str | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        pool = self._pool_options(_astop_at_redirects)  # see Client
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
        return await self._execute(prepared, started)

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
        return await self._execute(prepared, started)

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        attempt = 0
        while True:
            try:
                return await call(), attempt + 1
            except AnyfastError as error:
                delay = self.retry.delay(error, attempt)
                if delay is None:
                    raise
                _log_retry(error, delay, attempt, self.retry.max_retries)
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
            raise _transport_error(exc, self.base_url) from exc
        except _Redirect as redirect:
            raise self._api_redirect(prepared, redirect) from None
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
            raise DownloadError(f"The result's download failed: {_transport_error(exc, 'the download host').message}") from exc
        return self._read_download(response, body)

    async def _send_download(self, url: str) -> httpx.Response:
        hops = 0  # see Client._send_download
        while True:
            try:
                return await self._downloads.send(self._downloads.build_request("GET", url), stream=True)
            except _Redirect as redirect:
                url, hops = self._redirect_target(redirect, hops), hops + 1

    async def _download(self, url: str, request_id: str | None) -> bytes:
        self._check_download_url(url, request_id)
        data, _ = await self._retrying(lambda: self._download_once(url))
        return data

    async def _execute(self, prepared: PreparedRequest, started: float) -> ImageResult:
        reservation = self.store._reserve()  # see Client._execute
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
