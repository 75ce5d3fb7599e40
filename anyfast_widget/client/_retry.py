"""The retry policy: which failures are tried again, and how long to wait first."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from ..core import AnyfastError, APIConnectionError, APITimeoutError, DownloadError, RateLimitError, ServerError

logger = logging.getLogger("anyfast_widget")

#: Told of each failed attempt of a request (``send(..., on_failed_attempt=...)``): the error, and the seconds the
#: client will wait before the next attempt (None: there is none). It may answer with a longer wait (never a shorter
#: one), or None. A grid paces itself by the 429s it hears of here, and lines up its senders' retries.
FailedAttempt = Callable[[AnyfastError, float | None], float | None]


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


def tell(listener: FailedAttempt | None, error: AnyfastError, delay: float | None) -> float | None:
    """Tell ``listener`` of a failed attempt; the wait before the next one: ``delay``, or the listener's if longer."""
    if listener is None:
        return delay
    wait = listener(error, delay)
    return delay if delay is None or wait is None else max(delay, wait)


def log_retry(error: AnyfastError, delay: float, attempt: int, retries: int) -> None:
    logger.warning("%s; retrying in %.1f s (retry %d of %d)", error.message, delay, attempt + 1, retries)
