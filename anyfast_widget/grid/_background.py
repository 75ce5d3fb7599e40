"""Work off the kernel's thread: the grid view's image work in one worker thread, its answer handed back to the event loop.

In a kernel the grid runs as a task on the event loop; reading pictures there
(thumbnails, spreads, the difference heatmap, exports) would stall it while a grid
fills in. So the work runs in a single worker thread shared by every view (it never
competes with the kernel for more than one core) and what is done with its answer
runs back on the loop. Elsewhere (scripts, tests, a blocking run whose loop is
about to close) both run inline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ._progress import in_kernel

_T = TypeVar("_T")
_worker: ThreadPoolExecutor | None = None


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running on this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def inline() -> bool:
    """True where :func:`in_background` runs the work at once, on this thread (no loop, or not in a kernel)."""
    return running_loop() is None or not in_kernel()


def in_background(work: Callable[[], _T], then: Callable[[_T], None], failed: Callable[[Exception], None]) -> None:
    """``then(work())``: in a kernel, the work in the worker thread and ``then`` back on the event loop;
    elsewhere both inline. An error of either goes to ``failed`` (on the loop)."""
    if inline():
        try:
            then(work())
        except Exception as error:  # noqa: BLE001 - the caller shows it, never a traceback for a click
            failed(error)
        return
    loop = asyncio.get_running_loop()

    def back_on_loop(value: _T) -> None:
        try:
            then(value)
        except Exception as error:  # noqa: BLE001
            failed(error)

    def done(future: Future[_T]) -> None:  # in the worker thread
        error = future.exception()
        try:
            if error is not None:
                loop.call_soon_threadsafe(failed, error)
            else:
                loop.call_soon_threadsafe(back_on_loop, future.result())
        except RuntimeError:  # the loop has closed (a blocking run is over): refresh() recomputes
            pass

    _executor().submit(work).add_done_callback(done)


def _executor() -> ThreadPoolExecutor:
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anyfast-grid-view")
    return _worker
