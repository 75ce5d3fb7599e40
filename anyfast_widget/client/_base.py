"""``BaseClient``: everything about a call that is not I/O, shared by :class:`Client` and :class:`AsyncClient`.

It holds the settings and the caps, builds the HTTP request for a prepared one,
reads answers (blanking out the key should a server echo it) and saves results.
The two clients only send, download and sleep, method for method the same.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import httpx

from .._version import __version__
from ..core import (
    AnyfastError,
    APITimeoutError,
    DownloadError,
    MalformedResponseError,
    PreparedRequest,
    PriceTable,
    Pricing,
    StorageError,
    TokenPrices,
)
from ..store import ImageResult, Reservation, RunStore
from ._body import ACCEPT_ENCODING, Body, ImageBody
from ._config import DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_RESPONSE_BYTES, Secret, Settings
from ._response import ParsedResponse, check_image_bytes, error_for_status, parse_retry_after, parse_success
from ._retry import RetryPolicy
from ._transport import as_timeout, tls_context

logger = logging.getLogger("anyfast_widget")

REDACTED = "<redacted API key>"
DEFAULT_MAX_CONNECTIONS = 64  # connections a client's pool opens at most, unless told (a grid asks for its concurrency)


class BaseClient:
    """Configuration, request building, response reading and saving: no I/O of its own."""

    def __init__(
        self,
        api_key: str | Secret | None = None,
        *,
        base_url: str | None = None,
        run_dir: str | os.PathLike[str] | RunStore | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        prices: PriceTable | None = None,
        token_prices: TokenPrices | None = None,
    ) -> None:
        self.pricing = Pricing.of(prices, token_prices)  # checked first: a bad table is a ValidationError naming it
        settings = Settings.resolve(api_key, base_url, run_dir, key_required=True)
        self._api_key = settings.require_key()
        self.base_url = settings.base_url
        self.store = settings.open_store()
        self.timeout = as_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        self.max_download_bytes = max_download_bytes
        self.max_connections = max_connections  # requests under way at once; more wait in the pool's queue
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, run_dir={str(self.store.root)!r})"

    def _pool_options(self, on_response: Callable[[httpx.Response], Any]) -> dict[str, Any]:
        """What both httpx pools (API and downloads) are made with; ``on_response`` stops redirects (see _links)."""
        hooks = {"response": [on_response]}
        return {"verify": tls_context(), "timeout": self.timeout, "limits": self._limits, "event_hooks": hooks}

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key.reveal()}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,  # what _body inflates, a bounded piece at a time
            "User-Agent": f"anyfast-widget/{__version__}",
        }

    def _check_price(self, prepared: PreparedRequest) -> None:
        """Before sending: a request the price table has no price for is refused (ValidationError), not sent unpriced."""
        if self.pricing is not None:
            self.pricing.expected(prepared)

    def _build_api_request(self, http: httpx.Client | httpx.AsyncClient, prepared: PreparedRequest) -> httpx.Request:
        return http.build_request("POST", self.base_url + prepared.path, headers=self._headers(), **prepared.httpx_arguments())

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
        reservation: Reservation | None = None,
    ) -> ImageResult:
        fmt, size = check_image_bytes(data, prepared.output_format, request_id)
        if fmt != prepared.output_format:
            asked, got = prepared.output_format.upper(), fmt.upper()
            logger.warning("asked for %s but the API sent %s (request %s); kept as it came", asked, got, request_id)
        cost, cost_source = self.pricing.recorded(prepared, parsed.extras.get("usage")) if self.pricing else (None, None)
        try:
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
                reservation=reservation,
                cost=cost,
                cost_source=cost_source,
            )
        except StorageError as error:  # the result was paid for: the error holds it (error.result, error.data)
            error.request_id = error.request_id or request_id
            logger.warning("could not save the result of request %s: %s", request_id, error.message)
            raise
        except OSError as error:  # a store that let a bare disk error through: still say where the bytes are
            raise StorageError(
                f"Could not save the result into {self.store.root}: {error}. The image ({len(data):,} bytes) is not lost: "
                "it is in this error's .data.",
                path=self.store.root,
                data=data,
                request_id=request_id,
                hint="error.save_to('/another/folder') writes it there; then check the run directory's disk.",
            ) from error
        logger.debug("saved %s (%s)", result.path, request_id)
        return result
