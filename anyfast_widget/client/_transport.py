"""What both clients' httpx pools are made of: one shared TLS context, timeouts, and transport errors as ours."""

from __future__ import annotations

import functools
import ssl

import httpx

from ..core import AnyfastError, APIConnectionError, APITimeoutError
from ._config import DEFAULT_TIMEOUT


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every client in the process shares.

    Building one reads the whole CA bundle (about 40 ms), and each client has two
    connection pools: without sharing, every ``Client()``, grid run and studio would
    spend most of a tenth of a second before its first request. It honours
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` as they are when the first client is made.
    """
    return httpx.create_ssl_context()


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=min(float(timeout), 10.0))


def transport_error(exc: httpx.TransportError, what: str) -> AnyfastError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"No complete answer from {what} in time ({type(exc).__name__}).")
    return APIConnectionError(f"The connection to {what} failed or dropped ({type(exc).__name__}: {exc}).")
