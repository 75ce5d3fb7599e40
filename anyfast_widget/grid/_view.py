"""GridView: a comparison grid as a live notebook widget, with Python as the source of truth.

The browser (``js/grid/widget.ts``, contract in ``js/grid/README.md``) shows what the
traits here say (their JSON is made in ``_traits.py``): labels, each cell's state
and repeats, the plan, ratings and measures. Pictures never travel as JSON: the
browser asks for thumbnails by result id (``thumbs``) and they come back as binary
buffers (``_thumbs.py``), which it keeps for every view of the widget. Buttons
become messages that call the grid's own methods (``retry``, ``cancel``, ``rate``,
exports), so everything the widget does is Python too.

A big grid is shown a window at a time (``window``: at most 8 rows and 8 columns of
pictures, paged by the browser): ``cells`` describes only the cells in view, and
``results`` lists every result compactly, so what crosses the wire per update does
not grow with the grid. The grid reports slot changes on the event loop's thread (it
runs as a task in the kernel); the view only notes which cells changed and sends
those in view at most ten times a second, the per-request ``measures`` and the
``results`` at most once a second per 100 requests (for a grid of more than 256
requests, once none is in flight), and everything at once when the last request
ends. In a kernel, work that reads images (thumbnails, spreads, the difference
heatmap, exports) runs in one worker thread (``_background.py``), so the kernel stays
responsive while a grid fills in. Widget messages may arrive on a kernel subshell's
thread (ipykernel 7); all but the picture requests are handed to the loop the view
was made on, where the grid runs and its HTTP client lives.

Every message and ``page`` or ``window`` update from the browser is checked first (``_limits.py``):
one that breaks a rule is refused whole, with one notice, and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import traitlets as t

from ..browser import GRID_REFRESH_S, BrowserWidget, StaticCopy, display_with_copy, separate
from ..core import ConfirmationRequired, error_card
from ..store import ImageResult
from ._background import in_background, inline, running_loop
from ._limits import EXPORT_KINDS, Refused, check_message, check_state
from ._model import SlotState
from ._static import static_bundle, static_data
from ._thumbs import THUMBS_PER_MESSAGE, Lightly, Thumb, Thumbnails, difference_jpeg
from ._traits import axes_state, cell_state, in_view, measures_state, plan_state, ratings_state, results_state, window_shape

if TYPE_CHECKING:
    from ._grid import Grid
    from ._model import Cell, Slot

_STATIC = Path(__file__).parent.parent / "static"

_FLUSH_EVERY = 0.1  # seconds between two updates of the cells in view while a grid runs
_WHOLE_EVERY = 0.1  # seconds per 100 requests between two updates of the whole grid's measures and results
_LIVE_MEASURES = 256  # requests up to which the measures follow a run live; a bigger grid's wait until none is in flight
_T = TypeVar("_T")
logger = logging.getLogger("anyfast_widget")


class GridView(BrowserWidget):
    """A comparison grid in a notebook: cells fill in live, with everything to judge them.

    Made by :attr:`Grid.view` (displaying a grid shows it). Row and column labels, a
    page switcher for a pages axis, each cell's repeats and how much they differ, its
    error and a retry button, the plan, cancel; click a picture to enlarge it, pick
    two for an A/B view (wipe, flicker, difference heatmap); blind A/B rating by
    keyboard with win rates per setting; timings and mask measures as a sortable
    table; exports written to ``grid.store.root / "exports"`` and downloaded.

    The API key is never part of the widget's state.
    """

    _esm = _STATIC / "grid.js"
    _css = _STATIC / "grid.css"

    # Written by Python only.
    grid_id = t.Unicode("").tag(sync=True)
    axes = t.Dict().tag(sync=True)
    shape = t.List(t.Int(), default_value=[1, 1, 1]).tag(sync=True)
    repeats = t.Int(1).tag(sync=True)
    endpoint = t.Unicode("generations").tag(sync=True)
    cells = t.List(t.Dict()).tag(sync=True)
    results = t.List(t.List()).tag(sync=True)
    window_shape = t.List(t.Int(), default_value=[1, 1]).tag(sync=True)
    plan = t.Dict().tag(sync=True)
    running = t.Bool(False).tag(sync=True)
    ratings = t.List(t.Dict()).tag(sync=True)
    win_rates = t.List(t.Dict()).tag(sync=True)
    measures = t.List(t.Dict()).tag(sync=True)
    exports_dir = t.Unicode("").tag(sync=True)
    # Written by the browser and by Python.
    page = t.Int(0).tag(sync=True)
    window = t.List(t.Int(), default_value=[0, 0]).tag(sync=True)

    def __init__(self, grid: Grid) -> None:
        self._grid = grid
        self._where = {id(cell): i for i, cell in enumerate(grid.cells)}
        self._dirty: set[int] = set()
        self._flush_handle: tuple[asyncio.AbstractEventLoop, asyncio.Handle] | None = None
        self._last_flush = 0.0
        self._last_whole = 0.0
        self._whole_dirty = True  # results are behind the grid
        self._measures_dirty = True
        self._looking = False  # a flush is due in a second (following a headless run)
        self._watched_task: Any = None
        self._spreads: dict[int, tuple[tuple[str, ...], float | None]] = {}
        self._spreads_wanted: set[int] = set()
        self._spreads_running: dict[int, tuple[str, ...]] = {}  # cell -> the results being measured
        self._thumbs = Thumbnails(self._result)
        self._static = StaticCopy(lambda: static_data(grid), every=GRID_REFRESH_S)
        self._home = running_loop()  # the kernel's loop, where the grid runs and these traits change
        pages, rows, cols = grid.shape
        super().__init__(
            grid_id=grid.id,
            axes=axes_state(grid),
            shape=[pages, rows, cols],
            repeats=grid.repeats,
            endpoint=grid.cells[0].prepared.endpoint if grid.cells else "generations",
            exports_dir=str(grid.store.root / "exports"),
            window_shape=window_shape(grid),
        )
        self.on_msg(self._on_message)
        grid.on_change(self._on_slot)
        self._refresh_ratings()
        # In a kernel, a big grid's first page goes out without its measures, which follow a moment later.
        later = self._home is not None and len(grid.cells) * grid.repeats > _LIVE_MEASURES
        self._flush(measures=not later)
        if later:
            self._schedule(throttle=True)
        self.observe(self._moved, names=["page", "window"])

    def __repr__(self) -> str:
        return f"<GridView of {self._grid!r}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live view, and beside it a labelled table of thumbnails for a notebook opened without a kernel (``_static``)."""
        return static_bundle(super()._repr_mimebundle_(**kwargs), self._grid)

    def _ipython_display_(self) -> None:
        """In IPython: the live view, then its static copy as an output of its own, kept up to date (``_static``)."""
        self.show()

    def show(self, text: str | None = None) -> None:
        """Display the view (``text`` its text form, else its repr), then the static copy as an output of its own."""
        view = super()._repr_mimebundle_()
        if text is not None:
            data = view[0] if isinstance(view, tuple) else view
            data["text/plain"] = text
        if not separate():
            display_with_copy(static_bundle(view, self._grid), None)
            return
        display_with_copy(view, self._static)

    async def renew_static_copy(self) -> None:
        """Renew the static copy now and wait until it is out (a run is over)."""
        await self._static.renew()

    @property
    def grid(self) -> Grid:
        """The grid this widget shows."""
        return self._grid

    @t.validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        """From Python, any whole number, clamped to the pages (the browser's is checked in :meth:`set_state`)."""
        value = proposal["value"]
        if isinstance(value, bool):
            raise Refused("page", "type", "is a whole number, not a bool.", "set a page number.")
        return max(0, min(value, self._grid.shape[0] - 1))

    @t.validate("window")
    def _valid_window(self, proposal: dict[str, Any]) -> list[int]:
        """From Python, any two whole numbers, clamped to a row and a column (the browser's are checked in :meth:`set_state`)."""
        value = list(proposal["value"])
        if len(value) != 2 or any(isinstance(v, bool) for v in value):
            raise Refused("window", "type", "is [row, column], two whole numbers.", "set the first row and column in view.")
        _, rows, cols = self._grid.shape
        return [max(0, min(value[0], rows - 1)), max(0, min(value[1], cols - 1))]

    def _check_browser_state(self, sync_data: dict[str, Any]) -> None:
        check_state(sync_data, self.keys, self._grid.shape)

    def _moved(self, _change: Any) -> None:
        """Another page or window in view: its cells at once (on the grid's loop: the browser's update may come on a subshell)."""
        self._at_home(self._flush)

    def _on_slot(self, cell: Cell, slot: Slot) -> None:
        """Called by the grid (on the event loop's thread) for every slot change: cheap, coalesced."""
        if self.comm is None:  # closed: a new view has taken over
            return
        if not self._grid.running:  # a run renews the copy once it is over (renew_static_copy), not while it fills
            self._static.changed()
        self._dirty.add(self._where[id(cell)])
        self._whole_dirty = self._measures_dirty = True
        self._schedule()

    def _schedule(self, *, throttle: bool = False) -> None:
        """Flush soon: at once when nothing is in flight (the end of a run), else at most every 0.1 s."""
        loop = running_loop()
        if loop is None:
            self._flush()
            return
        busy = throttle or self._grid.running
        if self._flush_handle is not None:
            owner, handle = self._flush_handle
            if owner is loop and not owner.is_closed() and not handle.cancelled():
                if busy or not isinstance(handle, asyncio.TimerHandle):
                    return  # already due
                handle.cancel()  # the run is over: do not wait for the timer
        wait = _FLUSH_EVERY - (time.monotonic() - self._last_flush) if busy else 0.0
        handle = loop.call_later(wait, self._flush) if wait > 0 else loop.call_soon(self._flush)
        self._flush_handle = (loop, handle)

    def refresh(self) -> None:
        """Bring every trait up to date with the grid now (also computes missing spreads when no event loop runs)."""
        self._dirty = set(range(len(self._grid.cells)))
        self._whole_dirty = self._measures_dirty = True
        self._flush()

    def _flush(self, *, measures: bool = True) -> None:
        """Send the cells in view that changed (all of them for another window), the plan, and now and then the whole grid's."""
        self._flush_handle = None
        now = self._last_flush = time.monotonic()
        grid = self._grid
        dirty, self._dirty = self._dirty, set()  # a cell out of view is described afresh when it comes into view
        shown = {cell["index"]: cell for cell in self.cells}
        view = in_view(grid, self.page, self.window)
        cells = [shown[i] if i in shown and i not in dirty else self._cell_state(i) for i in view]
        requests = len(grid.cells) * grid.repeats
        in_flight = grid.running or grid.following  # (following: a headless run elsewhere fills the grid)
        due = not in_flight or now - self._last_whole >= _WHOLE_EVERY * max(1.0, requests / 100)
        # A big grid's measures (a quarter of a megabyte for 1,024 requests) and results would make the
        # browser stall on every update while the grid fills: they come once nothing is in flight (the
        # cells in view carry their own results meanwhile).
        big = requests > _LIVE_MEASURES
        whole = due and (not in_flight or not big)
        # ... and then apart from the last cells, so that those show at once.
        later = whole and big and bool(dirty.intersection(view)) and (self._whole_dirty or self._measures_dirty)
        whole = whole and not later
        with self.hold_sync():
            self.cells = cells
            self.plan = plan_state(grid)
            self.running = grid.running
            if self._whole_dirty and whole:
                self._whole_dirty, self._last_whole = False, now
                self.results = results_state(grid)
            if self._measures_dirty and whole and measures:
                self._measures_dirty = False
                self.measures = measures_state(grid)
        self._watch_task()
        self._compute_spreads()
        if later:
            self._schedule(throttle=True)
        elif grid.following and big and (self._whole_dirty or self._measures_dirty):
            self._look_again()

    def _look_again(self) -> None:
        """While following a headless run, no run of this process ends with a flush: look again in a second."""
        loop = running_loop()
        if loop is not None and not self._looking:
            self._looking = True

            def again() -> None:
                self._looking = False
                self._schedule()

            loop.call_later(_WHOLE_EVERY * 10, again)

    def _watch_task(self) -> None:
        """Hear the end of each run (the grid starts a new task for every run and retry)."""
        task = self._grid._task
        if task is not None and task is not self._watched_task:
            self._watched_task = task
            task.add_done_callback(self._run_finished)

    def _cell_state(self, index: int) -> dict[str, Any]:
        """The cell's trait entry, with its spread when known for its current results (else asked for)."""
        cell = self._grid.cells[index]
        ids = tuple(r.id for r in cell.results)
        known = self._spreads.get(index)
        spread = known[1] if known is not None and known[0] == ids else None
        if len(ids) >= 2 and (known is None or known[0] != ids):
            self._spreads_wanted.add(index)
        return cell_state(cell, index, spread)

    def _refresh_ratings(self) -> None:
        with self.hold_sync():
            self.ratings = ratings_state(self._grid)
            self.win_rates = self._grid.win_rates()

    def _in_background(self, work: Callable[[], _T], then: Callable[[_T], None]) -> None:
        """``then(work())`` off the kernel's thread where there is one (see ``_background.py``); an error becomes the notice."""
        in_background(work, then, self._set_error_notice)

    def _set_error_notice(self, error: BaseException) -> None:
        self.notice = {"kind": "error", **error_card(error)}

    def _compute_spreads(self) -> None:
        wanted, self._spreads_wanted = self._spreads_wanted, set()
        for index in sorted(wanted):
            cell = self._grid.cells[index]
            ids = tuple(r.id for r in cell.results)
            if self._spreads_running.get(index) == ids:
                continue  # already being measured
            self._spreads_running[index] = ids

            def work(cell: Cell = cell) -> float | None:
                with Lightly(cell.results):
                    return cell.spread()

            def then(value: float | None, index: int = index, ids: tuple[str, ...] = ids) -> None:
                self._spreads[index] = (ids, value)
                if self._spreads_running.get(index) == ids:
                    del self._spreads_running[index]
                if inline():  # computed inline, within a flush
                    self.cells = [self._cell_state(index) if c["index"] == index else c for c in self.cells]
                else:
                    self._dirty.add(index)
                    self._schedule(throttle=True)  # many cells may finish their spreads one after another

            self._in_background(work, then)

    def _results(self) -> dict[str, ImageResult]:
        return {slot.result.id: slot.result for _, slot in self._grid.slots() if slot.result is not None}

    def _result(self, result_id: str) -> ImageResult:
        result = self._results().get(result_id)
        if result is None:
            raise KeyError(f"no result {result_id!r} in grid {self._grid.id}")
        return result

    def thumbnail(self, result_id: str, edge: int = 256) -> Thumb:
        """A result of this grid as the browser gets it: encoded bytes, MIME type, size (long edge ``edge``, rounded up)."""
        return self._thumbs.get(result_id, edge)

    def _send_thumbs(self, ids: list[str], edge: int) -> None:
        for start in range(0, len(ids), THUMBS_PER_MESSAGE):
            chunk = ids[start : start + THUMBS_PER_MESSAGE]

            def then(made: tuple[list[dict[str, Any]], list[bytes], list[str]]) -> None:
                items, buffers, missing = made
                self.send({"type": "thumbs", "edge": edge, "items": items, "missing": missing}, buffers)

            self._in_background(lambda chunk=chunk: self._thumbs.batch(chunk, edge), then)

    def _send_difference(self, a: str, b: str) -> None:
        results = self._results()
        first, second = self._known(results, a, "difference.a"), self._known(results, b, "difference.b")

        def then(made: tuple[bytes, float, tuple[int, int]]) -> None:
            data, mean, size = made
            self.send({"type": "difference", "a": a, "b": b, "mean": mean, "size": list(size), "mime": "image/jpeg"}, [data])

        self._in_background(lambda: difference_jpeg(first, second), then)

    def retry(self, index: int, repeat: int | None = None) -> Any:
        """Send cell ``index``'s failed, cancelled or blocked requests again (what its Retry button does)."""
        if self._grid.running:
            raise RuntimeError("The grid is still running: wait for it, or cancel it, before retrying a cell.")
        cell = self._grid.cells[index]
        outcome = self._grid.retry(cell.row, cell.col, cell.page, repeat=repeat)
        self._after_start()
        return outcome

    def run(self, *, confirm: bool = False) -> Any:
        """Send what is not done yet (the Run button); more than 50 requests need ``confirm``."""
        try:
            outcome = self._grid.run(confirm=confirm or None)
        except ConfirmationRequired as error:
            self.notice = {"kind": "confirm", **error_card(error), "hint": "Send them anyway, or call grid.run(confirm=True)."}
            return None
        self._after_start()
        return outcome

    def _after_start(self) -> None:
        self.notice = {}
        self._watch_task()
        self._schedule()

    def _run_finished(self, task: asyncio.Future[Any]) -> None:
        """The end of a run: its error, or what a cancel left unsent, becomes the notice."""
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self.notice = {"kind": "error", **error_card(error)}
        elif self.notice.get("title") == "Cancelling":
            unsent = sum(1 for _, slot in self._grid.slots() if slot.status == SlotState.CANCELLED)
            message = f"{unsent} request{'s' if unsent != 1 else ''} not sent: retry a cell, or send them with Run."
            self.notice = {"kind": "info", "title": "Cancelled", "message": message, "hint": ""}
        self._schedule()

    def cancel(self) -> None:
        """Stop what has not started (the Cancel button); requests under way finish and are kept."""
        self._grid.cancel()
        self.notice = {"kind": "info", "title": "Cancelling", "message": "Requests not yet started will not be sent.", "hint": ""}

    def rate(self, a: str, b: str, winner: str) -> None:
        """Store a blind A/B rating of two results of this grid (``winner``: ``"a"``, ``"b"`` or ``"tie"``)."""
        results = self._results()
        if a not in results or b not in results or a == b:
            raise ValueError("a rating compares two different results of this grid.")
        self._grid.rate(a, b, winner)
        self._refresh_ratings()

    def export(self, kind: str) -> list[Path]:
        """Write the grid as ``kind`` (png: contact sheets, html, json, csv) into ``<run dir>/exports``; the paths."""
        if kind not in EXPORT_KINDS:
            raise ValueError(f"export kind is one of {', '.join(EXPORT_KINDS)}, not {kind!r}")
        folder = self._grid.store.root / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"grid-{self._grid.id}.{kind}"
        with Lightly(self._results().values()):  # sheets and reports decode every picture once
            if kind == "png":
                return self._grid.save_contact_sheets(target)
            save = {"html": self._grid.save_html, "json": self._grid.save_json, "csv": self._grid.save_csv}[kind]
            return [save(target)]

    def _export_and_send(self, kind: str) -> None:
        def then(paths: list[Path]) -> None:
            for path in paths:
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                content = {"type": "download", "kind": kind, "name": path.name, "mime": mime, "path": str(path)}
                self.send(content, [path.read_bytes()])
            names = ", ".join(p.name for p in paths)
            self.notice = {
                "kind": "info",
                "title": f"Exported the {EXPORT_KINDS[kind]}",
                "message": f"Saved {names} in {paths[0].parent}.",
                "hint": "",
            }

        self._in_background(lambda: self.export(kind), then)

    def _on_message(self, _widget: Any, content: Any, buffers: list[Any] | None) -> None:
        try:
            message = check_message(content, buffers or [], cells=len(self._grid.cells), repeats=self._grid.repeats)
        except Refused as refused:
            self._at_home(self._refuse, refused, "message")
            return
        if message["type"] in ("thumbs", "difference"):
            self._handle(message)  # pictures are made off the kernel's thread anyway
        else:
            self._at_home(self._handle, message)

    def _at_home(self, call: Callable[..., None], *args: Any) -> None:
        """``call(*args)`` on the loop the view was made on (at once when this is that loop's thread, or there is none).

        ipykernel 7 may deliver widget messages on a subshell's thread, with an event loop of
        its own; the grid's runs, its HTTP client and these traits belong to the kernel's loop.
        """
        home = self._home
        if home is not None and home.is_running() and running_loop() is not home:
            home.call_soon_threadsafe(call, *args)
        else:
            call(*args)

    def _known(self, results: dict[str, ImageResult], result_id: str, field: str) -> ImageResult:
        """The grid's result of this id; Refused if the grid has none."""
        if result_id not in results:
            problem = f"{result_id!r} is not a result of grid {self._grid.id}."
            raise Refused(field, "unknown_result", problem, "pick pictures the grid shows.")
        return results[result_id]

    def _handle(self, message: dict[str, Any]) -> None:
        """Act on a checked message (``_limits.check_message``)."""
        kind = message["type"]
        try:
            if kind == "thumbs":
                self._send_thumbs(message["ids"], message["edge"])
            elif kind == "difference":
                self._send_difference(message["a"], message["b"])
            elif kind == "retry":
                self.retry(message["index"], message["repeat"])
            elif kind == "run":
                self.run(confirm=message["confirm"])
            elif kind == "cancel":
                self.cancel()
            elif kind == "rate":
                results = self._results()
                a, b = self._known(results, message["a"], "rate.a").id, self._known(results, message["b"], "rate.b").id
                if a == b:
                    raise Refused("rate.b", "different", "a rating compares two different results.", "pick two pictures.")
                self.rate(a, b, message["winner"])
            elif kind == "export":
                self._export_and_send(message["kind"])
            elif kind == "dismiss":
                self.notice = {}
        except Refused as refused:
            self._refuse(refused, "message")
        except Exception as error:  # noqa: BLE001 - never a traceback in the kernel for a click
            self.notice = {"kind": "error", **error_card(error)}
