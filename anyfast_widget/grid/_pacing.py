"""Pacing a grid by the API's rate limit: an async gate whose limit adapts to 429s while tasks wait at it.

At most ``limit`` of a grid's requests are under way at once. The limit starts at the
grid's ``concurrency`` (its ceiling). A 429 halves it (from the requests under way, at
least 1), once for each lot let in since the last cut: the other 429s of requests let in
before a cut are the same news, already acted on. A run of successes :data:`RAISE_AFTER` times
as long as the limit, of requests let in since the last cut and ending while the limit was
reached, raises it by one, never above the ceiling: the grid finds the rate the key is allowed
and stays just under it, probing above it (a 429 each time) only every so often.

A 429's ``Retry-After`` closes the gate until it has passed, for every sender of the grid,
not only the one told: nothing new goes out meanwhile. The client retries a refused request
itself, telling the gate of each failed attempt (``AsyncClient.send(on_failed_attempt=...)``),
and the gate lines those retries up: a gateway tells every request it refuses at one moment
when one place is free, so refused together and retried together, all but one would be refused
again. The n-th waits n times what it was told, and new requests go after the last. A request
the client gave up on for 429s while others of the grid were under way or got through lost
races for places, not the key's right to send: it is sent again once the gate reopens, up to
:data:`RESENDS` times. Refused alone, it is the cell's error (``grid.retry`` sends it again).
Waiters go in the order they came.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from ..client import FailedAttempt
from ..core import AnyfastError, RateLimitError

T = TypeVar("T")

#: Successes in a row, in limits' worth, that raise the limit by one (2: one more every two round trips).
RAISE_AFTER = 2
#: Times a request refused on every try while others got through is sent again.
RESENDS = 3
#: Longest Retry-After the gate stays closed for (a longer one is a quota for the day, not a rate; the client gives up).
MAX_PAUSE = 120.0
#: Changes of the limit ``Pacing.history`` keeps (the latest), so an all-night sweep does not grow it without end.
HISTORY = 1024


class _Ticket:
    """One request let through the gate: the cut it was let in after, whether it succeeded, whether its place is free."""

    __slots__ = ("cut", "succeeded", "released")

    def __init__(self, cut: int) -> None:
        self.cut = cut
        self.succeeded = False
        self.released = False


class Pacing:
    """How many of a grid's requests go at once, adapting to the 429s that come back (``grid.pacing``).

    ``limit`` is the current bound, ``ceiling`` the grid's ``concurrency``; ``rate_limited``
    counts the 429s heard of (each failed attempt, retried or not); ``history`` is the limit
    after each change, starting with the ceiling (the latest :data:`HISTORY`), and ``lowest`` its minimum.
    """

    def __init__(self, ceiling: int) -> None:
        if isinstance(ceiling, bool) or not isinstance(ceiling, int) or ceiling < 1:
            raise ValueError(f"the ceiling must be a whole number of at least 1, not {ceiling!r}")
        self.ceiling = ceiling
        self._limit = ceiling
        self._active = 0
        self._cuts = 0  # how many times the limit was cut: the lot a request was let in with
        self._run = 0  # successes in a row of requests let in since the last change
        self._resume_at = 0.0  # loop.time() before which nothing new goes out (a Retry-After)
        self._line = 0.0  # loop.time() the last retry lined up goes
        self._gap = 0.0  # seconds between the retries in that line
        self._timer: asyncio.TimerHandle | None = None
        self._waiters: collections.deque[asyncio.Future[_Ticket]] = collections.deque()
        self.rate_limited = 0
        self._successes = 0
        self.history: collections.deque[int] = collections.deque([ceiling], maxlen=HISTORY)
        self._lowest = ceiling

    @property
    def limit(self) -> int:
        """Requests that may be under way at once now."""
        return self._limit

    @property
    def active(self) -> int:
        """Requests under way now."""
        return self._active

    @property
    def lowest(self) -> int:
        """The lowest the limit went."""
        return self._lowest

    def __repr__(self) -> str:
        return f"<Pacing limit {self._limit} of {self.ceiling}, {self._active} under way, {self.rate_limited} rate-limited>"

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[_Ticket]:
        """Wait for a place (the limit not reached, no Retry-After running), hold it for the block."""
        ticket = await self._acquire()
        try:
            yield ticket
        finally:
            if not ticket.released:
                self._release(ticket)

    async def send(self, ticket: _Ticket, call: Callable[[FailedAttempt], Awaitable[T]]) -> T:
        """``await call(listener)``: ``call`` sends ``ticket``'s request, passing the listener on to the client as
        ``on_failed_attempt``; what it returns or raises is passed on (after any resends, see the module)."""
        loop = asyncio.get_running_loop()
        for resend in range(RESENDS + 1):
            before = self._successes
            try:
                answer = await call(lambda error, delay: self._heard(ticket, error, delay))
            except RateLimitError as error:
                crowded = self._active > 1 or self._successes > before
                if resend == RESENDS or not crowded or (error.retry_after or 0.0) > MAX_PAUSE:
                    raise
                while (left := self._resume_at - loop.time()) > 0:
                    await asyncio.sleep(left)
            else:
                self.answered(ticket)
                return answer
        raise AssertionError("unreachable")

    def answered(self, ticket: _Ticket) -> None:
        """``ticket``'s request has its answer (a success): its place goes to the next, while the caller saves it.

        Given to the client as ``on_answered``; :meth:`send` says it too when the call returns, if nobody did.
        """
        if ticket.succeeded:
            return
        ticket.succeeded = True
        self._successes += 1
        self._release(ticket)

    # The gate.

    def _can_enter(self, now: float) -> bool:
        return self._active < self._limit and now >= self._resume_at

    async def _acquire(self) -> _Ticket:
        loop = asyncio.get_running_loop()
        if not self._waiters and self._can_enter(loop.time()):
            self._active += 1
            return _Ticket(self._cuts)
        waiter: asyncio.Future[_Ticket] = loop.create_future()
        self._waiters.append(waiter)
        self._wake()  # a Retry-After may be what holds it: make sure a timer will
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # let in as it was cancelled: give the place back
                self._release(waiter.result())
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _release(self, ticket: _Ticket) -> None:
        # Only a limit that was reached has shown it is not too high: while fewer go than it allows (the client busy,
        # the grid's tail), successes say nothing, and raising it would only let a burst out later.
        reached = self._active >= self._limit or bool(self._waiters)
        ticket.released = True
        self._active -= 1
        if ticket.succeeded and ticket.cut == self._cuts and reached:
            self._run += 1
            if self._run >= RAISE_AFTER * self._limit and self._limit < self.ceiling:
                self._set_limit(self._limit + 1)
        self._wake()

    def _wake(self) -> None:
        """Let in the waiters there is room for; if a Retry-After holds them, come back when it has passed."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._waiters and self._can_enter(now):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._active += 1
                waiter.set_result(_Ticket(self._cuts))
        if self._waiters and now < self._resume_at and self._timer is None:
            self._timer = loop.call_at(self._resume_at, self._resume)

    def _resume(self) -> None:
        self._timer = None
        self._wake()

    # What the client tells of.

    def _heard(self, ticket: _Ticket, error: AnyfastError, delay: float | None) -> float | None:
        """A failed attempt of ``ticket``'s request, ``delay`` seconds before the client tries again (None: it will not).

        A 429 cuts the limit (once a lot), lines the retry up and closes the gate until it goes; the answer is
        the seconds the client is to wait instead. Other failures say nothing about the rate allowed: None.
        """
        if not isinstance(error, RateLimitError):
            return None
        self.rate_limited += 1
        if ticket.cut == self._cuts:
            self._cuts += 1
            self._set_limit(max(1, min(self._limit, self._active) // 2))
        told = min(error.retry_after if error.retry_after is not None else delay or 0.0, MAX_PAUSE)
        now = asyncio.get_running_loop().time()
        if delay is None:  # the client gives up on it: no place in the line, but the others still wait it out
            self._pause_until(now + told)
            return None
        # Told when one place is free; those told before this one take the places before it, each as far
        # apart as the longest wait told in this line (a later refusal is told the same place, less the time since).
        self._gap = told if now >= self._line else max(self._gap, told)
        self._line = max(now, self._line) + self._gap
        self._pause_until(self._line)
        return self._line - now

    def _pause_until(self, when: float) -> None:
        """Let nothing new out before ``when`` (loop.time())."""
        if when > self._resume_at:
            self._resume_at = when
            if self._timer is not None:  # the pause grew: the timer comes back later
                self._timer.cancel()
                self._timer = None
            self._wake()

    def _set_limit(self, limit: int) -> None:
        self._run = 0
        if limit != self._limit:
            self._limit = limit
            self.history.append(limit)
            self._lowest = min(self._lowest, limit)
        self._wake()
