"""A widget's static copy: an output of its own beside the live view, kept up to date, hidden while the view is live.

A saved notebook opened without its kernel cannot draw a widget. nbconvert (and so
nbviewer) then takes the next type of the output's bundle, but JupyterLab and
Notebook 7 draw the widget view whenever the bundle has one, and say "Error
displaying widget: model not found" instead. So the pictures go in a second output,
``text/html`` only, that every front end draws. While the live widget runs, its
stylesheet (the widget's ``_css``, which anywidget adds to the page's head) hides
every :data:`CLASS` element and the output row around it, so nothing shows twice; a
page that cannot draw the widget never loads that rule, and shows the copy.

The copy follows the widget: :meth:`StaticCopy.changed` asks for a new one, made at
most every :data:`REFRESH_S` seconds (a grid's, with up to 36 thumbnails, every
:data:`GRID_REFRESH_S`, and not while its own run fills it: the page is busy enough)
on one worker thread, where its thumbnails are decoded, never on the event loop;
:meth:`StaticCopy.renew` makes one at once (a run is over). Each replaces the output's data by its display id, so a notebook saved
later holds the newest copy. Updates are published from that worker
thread, outside any cell's context, so they carry the kernel's latest request as
parent: JupyterLab routes them by display id whatever the parent, and nbclient
(``jupyter nbconvert --execute``, papermill) takes them while that cell runs.

Colab shows each output in a frame of its own, where the widget's stylesheet cannot
reach a neighbour: there the copy stays inside the widget's bundle, as of when it
was displayed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger("anyfast_widget")

CLASS = "anyfast-static-copy"
REFRESH_S = 1.0
GRID_REFRESH_S = 10.0
# What the widget's own output says as HTML (nbconvert shows it where it cannot draw the view): nothing to see.
VIEW_HTML = "<!-- the live widget: its static copy is the next output -->"
_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()

Bundle = dict[str, str]  # {"text/html": ..., "text/plain": ...}


def separate() -> bool:
    """Whether the copy can be an output of its own (not where each output has its own frame: Colab)."""
    return "google.colab" not in sys.modules


def wrapped(html: str) -> str:
    """``html`` inside the element the live widget's stylesheet hides."""
    return f'<div class="{CLASS}">{html}</div>'


def _executor() -> ThreadPoolExecutor:
    global _worker
    with _worker_lock:
        if _worker is None:  # one thread: copies are made, and published, in the order asked for
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anyfast-static-copy")
        return _worker


class StaticCopy:
    """The static copy of one widget: ``make()`` gives its bundle, :meth:`display` shows it, :meth:`changed` renews it."""

    def __init__(self, make: Callable[[], Bundle], every: float = REFRESH_S) -> None:
        self.display_id = f"anyfast-static-{secrets.token_hex(8)}"
        self._make = make
        self._every = every  # seconds at least between two renewals asked for by changed()
        self._lock = threading.Lock()
        self._shown = False
        self._due = False  # a renewal is waiting for its turn
        self._made_at = 0.0
        self._closed = False

    def bundle(self) -> Bundle:
        """The copy now, with its HTML inside the element the live widget hides."""
        data = self._make()
        return {**data, "text/html": wrapped(data["text/html"])}

    def display(self) -> None:
        """Show the copy as an output of its own (in IPython, after the widget's output)."""
        from IPython.display import display

        display(self.bundle(), raw=True, display_id=self.display_id)
        with self._lock:
            self._shown = True
            self._made_at = time.monotonic()

    def changed(self) -> None:
        """The widget changed: renew the copy within ``every`` seconds (from any thread; cheap, coalesced)."""
        with self._lock:
            if not self._shown or self._closed or self._due:
                return
            self._due = True
            wait = max(0.0, self._every - (time.monotonic() - self._made_at))
        timer = threading.Timer(wait, lambda: _executor().submit(self._publish))
        timer.daemon = True
        timer.start()

    async def renew(self) -> None:
        """Renew the copy now and wait until it is published (the end of a run: a notebook run headless keeps it)."""
        with self._lock:
            if not self._shown or self._closed:
                return
        await asyncio.wrap_future(_executor().submit(self._publish))

    def close(self) -> None:
        """Stop renewing the copy (the widget was closed): the notebook keeps the last one."""
        with self._lock:
            self._closed = True

    def _publish(self) -> None:
        """In the worker thread: make the copy and replace the output's data with it."""
        with self._lock:
            self._due = False
            self._made_at = time.monotonic()
            if self._closed:
                return
        try:
            from IPython.display import update_display

            update_display(self.bundle(), raw=True, display_id=self.display_id)
        except Exception as error:  # noqa: BLE001 - an unreadable picture or a closed kernel only costs this copy
            logger.warning("The static copy %s was not renewed: %s", self.display_id, error)


def display_with_copy(view: Any, copy: StaticCopy | None) -> None:
    """Show a widget: its view's bundle (``data`` or ``(data, metadata)``), then its static copy as the next output.

    With no ``copy`` (where it cannot be an output of its own), the bundle is shown as it is.
    """
    from IPython.display import display

    data, metadata = view if isinstance(view, tuple) else (view, None)
    if copy is None:
        display(data, metadata=metadata, raw=True)
        return
    display({**(data or {}), "text/html": VIEW_HTML}, metadata=metadata, raw=True)
    copy.display()
