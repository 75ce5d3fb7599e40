"""The stand-in's rate limit, per API key, as an OpenAI-compatible gateway enforces it: requests a second, requests at once.

Off unless asked for (``Simulator(rate_limit=50, max_concurrent=16)``). Each key has a
token bucket that ``rate_limit`` tokens a second refill, holding at most ``rate_burst``
(one second's worth unless set); a request takes one. ``max_concurrent`` bounds the
requests of one key being answered at once. A request over either limit is refused
before any work, with 429, ``{"error": {"type": "requests", "code": "rate_limit_exceeded"}}``
and a ``Retry-After`` that is true: the seconds until a token is free, or until the key's
soonest-due request in progress is due to be answered. A refused request takes no token.

Keys are held as digests: the limiter never keeps (so can never show) a key.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import threading
from dataclasses import dataclass, field

from ._errors import error_body

#: Seconds a refusal of a request over ``max_concurrent`` asks for at least, when the request it waits on is already due
#: (its answer is on its way out) or the latency is 0 (nobody knows when painting ends).
MIN_CONCURRENT_WAIT = 0.01


@dataclass(frozen=True)
class Admission:
    """A request let in: hand it back to :meth:`RateLimiter.release` once it is answered."""

    key: bytes = field(repr=False)
    number: int


@dataclass(frozen=True)
class Refusal:
    """A request over the key's limit: the 429 to answer with."""

    retry_after: float  # seconds until the request would be let in
    message: str

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds and ``retry-after-ms``, both rounded up to the millisecond (what OpenAI sends)."""
        ms = max(1, math.ceil(self.retry_after * 1000))
        return {"Retry-After": f"{ms // 1000}.{ms % 1000:03d}", "retry-after-ms": str(ms)}  # exact, never rounded down

    @property
    def body(self) -> bytes:
        return error_body(self.message, "requests", None, "rate_limit_exceeded")


@dataclass
class _Bucket:
    tokens: float
    updated: float  # time.monotonic() of the last refill
    running: dict[int, float] = field(default_factory=dict)  # admission number -> when it is due to be answered


class RateLimiter:
    """Every key's bucket and requests in progress. Thread-safe; the limits are passed in, so they may change any time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[bytes, _Bucket] = {}
        self._numbers = itertools.count()

    def admit(
        self, key: str, now: float, *, rate: float, burst: float | None, max_concurrent: int, latency: float
    ) -> Admission | Refusal | None:
        """Let a request of ``key`` arriving at ``now`` (``time.monotonic()``) in, or refuse it.

        ``rate`` is requests a second (0: no limit), ``burst`` the bucket's size (None: ``max(1, rate)``),
        ``max_concurrent`` requests at once (0: no limit), ``latency`` how long a request takes (to say when one
        in progress ends). None when neither limit is on: nothing to release.
        """
        if not rate and not max_concurrent:
            return None
        digest = hashlib.sha256(key.encode()).digest()
        size = burst if burst is not None else max(1.0, rate)
        with self._lock:
            bucket = self._buckets.get(digest)
            if bucket is None:
                bucket = self._buckets[digest] = _Bucket(size, now)
            if rate:
                bucket.tokens = min(size, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            waits = []
            if rate and bucket.tokens < 1:
                waits.append(((1 - bucket.tokens) / rate, f"requests per second (limit {rate:g}/s)"))
            if max_concurrent and len(bucket.running) >= max_concurrent:
                soonest = min(bucket.running.values())
                waits.append((max(soonest - now, MIN_CONCURRENT_WAIT), f"concurrent requests (limit {max_concurrent})"))
            if waits:
                wait = max(w for w, _ in waits)
                what = " and ".join(reason for _, reason in waits)
                return Refusal(wait, f"Rate limit reached for {what}. Please try again in {math.ceil(wait * 1000)}ms.")
            if rate:
                bucket.tokens -= 1
            number = next(self._numbers)
            bucket.running[number] = now + latency
        return Admission(digest, number)

    def release(self, admission: Admission | None) -> None:
        """The request ``admission`` let in has been answered (or given up): its place is free."""
        if admission is None:
            return
        with self._lock:
            bucket = self._buckets.get(admission.key)
            if bucket is not None:
                bucket.running.pop(admission.number, None)

    def clear(self) -> None:
        """Forget every key's use: full buckets, nothing in progress (a request still being answered is let go)."""
        with self._lock:
            self._buckets.clear()

    def running(self) -> int:
        """Requests let in and not yet answered, over every key."""
        with self._lock:
            return sum(len(b.running) for b in self._buckets.values())
