"""Making the gallery's previews off the event loop and the caller's thread: a few worker threads, results in batches.

The gallery shows its entries at once, each without its picture, and asks for the
previews here. Worker threads make them (decoding and shrinking release the GIL, so the
kernel stays responsive) and hand them over in a few batches, whatever is ready every
``every`` seconds and the rest when all are done, rather than one full trait sync per
picture. :meth:`PreviewFill.stop` (the studio was closed) drops what is queued; a
picture being made when it is called is made but not handed over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from ..store import ImageResult

logger = logging.getLogger("anyfast_widget")
Preview = tuple[bytes, str]  # a preview's bytes and MIME type


class PreviewFill:
    """Makes ``make(result)`` for each result asked for, on up to ``workers`` threads, and calls ``put`` with batches
    of them, ``{result id: preview}`` (None for a picture that could not be made). ``put`` runs on a worker thread."""

    def __init__(
        self,
        make: Callable[[ImageResult], Preview | None],
        put: Callable[[dict[str, Preview | None]], None],
        *,
        workers: int = 2,
        every: float = 0.25,
    ) -> None:
        self._make, self._put = make, put
        self._workers, self._every = max(1, workers), every
        self._cond = threading.Condition()
        self._queue: deque[ImageResult] = deque()
        self._ready: dict[str, Preview | None] = {}
        self._making = 0  # pictures being made now
        self._handing = 0  # batches being handed over now
        self._threads = 0
        self._last = 0.0  # when the last batch went (or the work began)
        self._stopped = False

    def request(self, results: Iterable[ImageResult]) -> None:
        """Make the previews of ``results`` (in this order) and hand them over; returns at once."""
        with self._cond:
            if self._stopped:
                return
            if self.idle:
                self._last = time.monotonic()
            self._queue.extend(results)
            while self._threads < min(self._workers, len(self._queue)):
                self._threads += 1
                threading.Thread(target=self._work, name="anyfast-previews", daemon=True).start()

    @property
    def idle(self) -> bool:
        """Whether every preview asked for has been handed over (or the work was stopped)."""
        return not (self._queue or self._making or self._ready or self._handing)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until :attr:`idle`; False if ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self.idle, timeout)

    def stop(self) -> None:
        """Make nothing more and hand nothing more over; callable from any thread."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._ready.clear()
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._stopped or not self._queue:
                    self._threads -= 1
                    return
                result = self._queue.popleft()
                self._making += 1
            try:
                made = self._make(result)
            except Exception:  # a picture that cannot be made costs only itself
                logger.exception("The preview of result %s could not be made", result.id)
                made = None
            with self._cond:
                self._making -= 1
                if not self._stopped:
                    self._ready[result.id] = made
                batch = self._due()
                self._cond.notify_all()
            self._hand_over(batch)

    def _due(self) -> dict[str, Preview | None]:
        """The batch to hand over now (under the lock): what is ready, once all is or ``every`` has passed."""
        now = time.monotonic()
        if not self._ready or ((self._queue or self._making) and now - self._last < self._every):
            return {}
        batch, self._ready = self._ready, {}
        self._last = now
        self._handing += 1
        return batch

    def _hand_over(self, batch: dict[str, Preview | None]) -> None:
        if not batch:
            return
        try:
            if not self._stopped:
                self._put(batch)
        except Exception:  # (the widget closed meanwhile, say): the pictures are only not shown
            logger.exception("Previews could not be shown")
        finally:
            with self._cond:
                self._handing -= 1
                self._cond.notify_all()
