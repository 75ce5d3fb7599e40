"""GridView: a comparison grid as a live notebook widget, with Python as the source of truth.

The browser (``js/grid_widget.ts``, contract in ``js/grid/README.md``) shows what the
traits here say: labels, each cell's state and repeats, the plan, ratings and
measures. Pictures never travel as JSON: the browser asks for thumbnails by result
id (``thumbs``) and they come back as binary buffers, which it keeps for every view
of the widget. Buttons become messages that call the grid's own methods (``retry``,
``cancel``, ``rate``, exports), so everything the widget does is Python too.

The grid reports slot changes on the event loop's thread (it runs as a task in the
kernel); the view only notes which cells changed and sends them at most ten times a
second (less often for big grids), and at once when the last request ends. In a
kernel, work that reads images (thumbnails, spreads, the difference heatmap,
exports) runs in one worker thread, so the kernel stays responsive while a grid
fills in. Widget messages may arrive on a kernel subshell's thread (ipykernel 7);
all but the picture requests are handed to the loop the view was made on, where the
grid runs and its HTTP client lives.
"""

from __future__ import annotations

import asyncio
import io
import mimetypes
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anywidget
import traitlets as t

from ..core import ConfirmationRequired, difference, encode_preview, error_card
from ..store import ImageResult
from ._grid import _in_kernel

if TYPE_CHECKING:
    from ._grid import Cell, Grid, Slot

_STATIC = Path(__file__).parent.parent / "static"

THUMB_EDGES = (128, 256, 512, 768, 1536)  # sizes the browser may ask for (a request is rounded up to one)
AB_EDGE = 768  # the difference heatmap's long edge
EXPORT_KINDS = {"png": "contact sheet", "html": "HTML report", "json": "JSON", "csv": "CSV"}
_FLUSH_EVERY = 0.1  # seconds between two updates of the cells while a grid runs (more for big grids)
_THUMB_CACHE = 1024  # encoded thumbnails kept in Python (a 256 px JPEG is ~15 kB)
_THUMBS_PER_MESSAGE = 12  # the first pictures show before a large batch is done
_MEASURES = (
    "page",
    "row",
    "column",
    "repeat",
    "status",
    "latency_s",
    "attempts",
    "change_inside",
    "change_outside",
    "cost",
    "result_id",
)

_T = TypeVar("_T")
_worker: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """One thread for every view's image work: it never competes with the kernel for more than one core."""
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anyfast-grid-view")
    return _worker


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _epoch_ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


class _Lightly:
    """Read a result's image for a moment: the decoded picture is dropped again afterwards
    unless it was already in memory (a big grid must not hold every picture)."""

    def __init__(self, results: Iterable[ImageResult]) -> None:
        self.results = [r for r in results if r._image is None and r._data is None]  # nothing held yet

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        for result in self.results:
            result.release()


class GridView(anywidget.AnyWidget):
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
    plan = t.Dict().tag(sync=True)
    running = t.Bool(False).tag(sync=True)
    ratings = t.List(t.Dict()).tag(sync=True)
    win_rates = t.List(t.Dict()).tag(sync=True)
    measures = t.List(t.Dict()).tag(sync=True)
    exports_dir = t.Unicode("").tag(sync=True)
    notice = t.Dict().tag(sync=True)
    # Written by the browser and by Python.
    page = t.Int(0).tag(sync=True)

    def __init__(self, grid: Grid) -> None:
        self._grid = grid
        self._where = {id(cell): i for i, cell in enumerate(grid.cells)}
        self._dirty: set[int] = set()
        self._flush_handle: tuple[asyncio.AbstractEventLoop, asyncio.Handle] | None = None
        self._last_flush = 0.0
        self._watched_task: Any = None
        self._spreads: dict[int, tuple[tuple[str, ...], float | None]] = {}
        self._spreads_wanted: set[int] = set()
        self._spreads_running: dict[int, tuple[str, ...]] = {}  # cell -> the results being measured
        self._thumbs: OrderedDict[tuple[str, int], tuple[bytes, str, tuple[int, int]]] = OrderedDict()
        self._home = _running_loop()  # the kernel's loop, where the grid runs and these traits change
        pages, rows, cols = grid.shape
        super().__init__(
            grid_id=grid.id,
            axes={
                role: {"name": axis.name, "labels": list(axis.labels)} if axis else None
                for role, axis in (("rows", grid.rows), ("cols", grid.cols), ("pages", grid.pages))
            },
            shape=[pages, rows, cols],
            repeats=grid.repeats,
            endpoint=grid.cells[0].prepared.endpoint if grid.cells else "generations",
            exports_dir=str(grid.store.root / "exports"),
        )
        self.on_msg(self._on_message)
        grid.on_change(self._on_slot)
        self._dirty = set(range(len(grid.cells)))
        self.cells = [{} for _ in grid.cells]
        self._refresh_ratings()
        self._flush()

    def __repr__(self) -> str:
        return f"<GridView of {self._grid!r}>"

    @property
    def grid(self) -> Grid:
        """The grid this widget shows."""
        return self._grid

    @t.validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        return max(0, min(int(proposal["value"]), self._grid.shape[0] - 1))

    # -- live updates ------------------------------------------------------------------

    def _on_slot(self, cell: Cell, slot: Slot) -> None:
        """Called by the grid (on the event loop's thread) for every slot change: cheap, coalesced."""
        if self.comm is None:  # closed: a new view has taken over
            return
        self._dirty.add(self._where[id(cell)])
        self._schedule()

    def _schedule(self, *, throttle: bool = False) -> None:
        """Flush soon: at once when nothing is in flight (the end of a run), else at most every 0.1 s
        (every 0.1 s per 100 cells: each update sends every cell's state)."""
        loop = _running_loop()
        if loop is None:
            self._flush()
            return
        busy = throttle or any(slot.status in ("running", "pending") for _, slot in self._grid.slots())
        if self._flush_handle is not None:
            owner, handle = self._flush_handle
            if owner is loop and not owner.is_closed() and not handle.cancelled():
                if busy or not isinstance(handle, asyncio.TimerHandle):
                    return  # already due
                handle.cancel()  # the run is over: do not wait for the timer
        every = _FLUSH_EVERY * max(1.0, len(self._grid.cells) / 100)
        wait = every - (time.monotonic() - self._last_flush) if busy else 0.0
        handle = loop.call_later(wait, self._flush) if wait > 0 else loop.call_soon(self._flush)
        self._flush_handle = (loop, handle)

    def refresh(self) -> None:
        """Bring every trait up to date with the grid now (also computes missing spreads when no event loop runs)."""
        self._dirty = set(range(len(self._grid.cells)))
        self._flush()

    def _flush(self) -> None:
        self._flush_handle = None
        self._last_flush = time.monotonic()
        grid = self._grid
        dirty, self._dirty = self._dirty, set()
        cells = list(self.cells)
        for index in dirty:
            cells[index] = self._cell_state(index)
        with self.hold_sync():
            self.cells = cells
            self.plan = self._plan_state()
            self.running = grid.running
            self.measures = self._measures()
        self._watch_task()
        self._compute_spreads()

    def _watch_task(self) -> None:
        """Hear the end of each run (the grid starts a new task for every run and retry)."""
        task = self._grid._task
        if task is not None and task is not self._watched_task:
            self._watched_task = task
            task.add_done_callback(self._run_finished)

    # -- state ---------------------------------------------------------------------------

    def _cell_state(self, index: int) -> dict[str, Any]:
        cell = self._grid.cells[index]
        ids = tuple(r.id for r in cell.results)
        known = self._spreads.get(index)
        spread = known[1] if known is not None and known[0] == ids else None
        if len(ids) >= 2 and (known is None or known[0] != ids):
            self._spreads_wanted.add(index)
        return {
            "index": index,
            "page": cell.page,
            "row": cell.row,
            "col": cell.col,
            "labels": list(cell.labels),
            "prompt": cell.prompt,
            "endpoint": cell.prepared.endpoint,
            "status": cell.status,
            "cost": cell.cost,
            "spread": spread,
            "slots": [self._slot_state(slot) for slot in cell.slots],
        }

    @staticmethod
    def _slot_state(slot: Slot) -> dict[str, Any]:
        result = slot.result
        return {
            "repeat": slot.repeat,
            "status": slot.status,
            "result_id": result.id if result else None,
            "size": list(result.size) if result else None,
            "latency_s": result.timings.get("total_s") if result else None,
            "revised_prompt": result.revised_prompt if result else None,
            "started_at": _epoch_ms(slot.started),
            "finished_at": _epoch_ms(slot.finished),
            "error": error_card(slot.error) if slot.error is not None else None,
        }

    def _plan_state(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for _, slot in self._grid.slots():
            counts[slot.status] = counts.get(slot.status, 0) + 1
        plan = self._grid.plan()
        return {**vars(plan), "text": str(plan), "counts": counts}

    def _measures(self) -> list[dict[str, Any]]:
        repeats = self._grid.repeats
        return [
            {"cell": i // repeats, **{key: record[key] for key in _MEASURES}} for i, record in enumerate(self._grid.to_records())
        ]

    def _refresh_ratings(self) -> None:
        with self.hold_sync():
            self.ratings = [{"a": r["a"], "b": r["b"], "winner": r["winner"]} for r in self._grid.ratings]
            self.win_rates = self._grid.win_rates()

    # -- background work -------------------------------------------------------------------

    def _in_background(self, work: Callable[[], _T], then: Callable[[_T], None]) -> None:
        """``then(work())``: in a kernel, the work in the worker thread and ``then`` back on the event loop;
        elsewhere (scripts, tests, a blocking run whose loop is about to close) both inline. An error
        becomes the widget's notice."""
        loop = _running_loop()
        if loop is None or not _in_kernel():
            try:
                then(work())
            except Exception as error:  # noqa: BLE001 - shown in the widget, never a traceback for a click
                self.notice = {"kind": "error", **error_card(error)}
            return

        def back_on_loop(value: _T) -> None:
            try:
                then(value)
            except Exception as error:  # noqa: BLE001 - shown in the widget
                self.notice = {"kind": "error", **error_card(error)}

        def done(future: Future[_T]) -> None:  # in the worker thread
            error = future.exception()
            try:
                if error is not None:
                    loop.call_soon_threadsafe(self._set_error_notice, error)
                else:
                    loop.call_soon_threadsafe(back_on_loop, future.result())
            except RuntimeError:  # the loop has closed (a blocking run is over): refresh() recomputes
                pass

        _executor().submit(work).add_done_callback(done)

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
                with _Lightly(cell.results):
                    return cell.spread()

            def then(value: float | None, index: int = index, ids: tuple[str, ...] = ids) -> None:
                self._spreads[index] = (ids, value)
                if self._spreads_running.get(index) == ids:
                    del self._spreads_running[index]
                if _running_loop() is None or not _in_kernel():  # computed inline, within a flush
                    self.cells = [*self.cells[:index], self._cell_state(index), *self.cells[index + 1 :]]
                else:
                    self._dirty.add(index)
                    self._schedule(throttle=True)  # many cells may finish their spreads one after another

            self._in_background(work, then)

    # -- pictures for the browser ------------------------------------------------------------

    def _results(self) -> dict[str, ImageResult]:
        return {slot.result.id: slot.result for _, slot in self._grid.slots() if slot.result is not None}

    def thumbnail(self, result_id: str, edge: int = 256) -> tuple[bytes, str, tuple[int, int]]:
        """A result of this grid as the browser gets it: encoded bytes, MIME type, size (long edge ``edge``, rounded up)."""
        edge = next((e for e in THUMB_EDGES if e >= edge), THUMB_EDGES[-1])
        key = (result_id, edge)
        if key in self._thumbs:
            self._thumbs.move_to_end(key)
            return self._thumbs[key]
        result = self._results().get(result_id)
        if result is None:
            raise KeyError(f"no result {result_id!r} in grid {self._grid.id}")
        with _Lightly([result]):
            made = encode_preview(result.image, edge)
        self._thumbs[key] = made
        while len(self._thumbs) > _THUMB_CACHE:
            self._thumbs.popitem(last=False)
        return made

    def _send_thumbs(self, ids: list[str], edge: int) -> None:
        for start in range(0, len(ids), _THUMBS_PER_MESSAGE):
            chunk = ids[start : start + _THUMBS_PER_MESSAGE]

            def work(chunk: list[str] = chunk) -> tuple[list[dict[str, Any]], list[bytes], list[str]]:
                items, buffers, missing = [], [], []
                for result_id in chunk:
                    try:
                        data, mime, size = self.thumbnail(result_id, edge)
                    except (KeyError, OSError, ValueError):
                        missing.append(result_id)
                        continue
                    items.append({"id": result_id, "mime": mime, "size": list(size)})
                    buffers.append(data)
                return items, buffers, missing

            def then(made: tuple[list[dict[str, Any]], list[bytes], list[str]]) -> None:
                items, buffers, missing = made
                self.send({"type": "thumbs", "edge": edge, "items": items, "missing": missing}, buffers)

            self._in_background(work, then)

    def _send_difference(self, a: str, b: str) -> None:
        results = self._results()
        first, second = results.get(a), results.get(b)
        if first is None or second is None:
            raise KeyError(f"the A/B pair {a!r}, {b!r} is not in grid {self._grid.id}")

        def work() -> tuple[bytes, float, tuple[int, int]]:
            with _Lightly([first, second]):
                heat, mean = difference(first.image, second.image, edge=AB_EDGE)
            buffer = io.BytesIO()
            heat.save(buffer, "JPEG", quality=90)  # a heatmap needs no exact pixels; a PNG of noise is 4x larger
            return buffer.getvalue(), mean, heat.size

        def then(made: tuple[bytes, float, tuple[int, int]]) -> None:
            data, mean, size = made
            self.send({"type": "difference", "a": a, "b": b, "mean": mean, "size": list(size), "mime": "image/jpeg"}, [data])

        self._in_background(work, then)

    # -- what the buttons do ------------------------------------------------------------------

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
            unsent = sum(1 for _, slot in self._grid.slots() if slot.status == "cancelled")
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
        with _Lightly(self._results().values()):  # sheets and reports decode every picture once
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

    # -- messages from the browser ----------------------------------------------------------------

    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        kind = content.get("type")
        home = self._home
        if kind not in ("thumbs", "difference") and home is not None and home.is_running() and _running_loop() is not home:
            # ipykernel 7 may deliver widget messages on a subshell's thread, with an event loop of
            # its own; the grid's runs, its HTTP client and these traits belong to the kernel's loop.
            home.call_soon_threadsafe(self._handle, kind, content)
            return
        self._handle(kind, content)

    def _handle(self, kind: Any, content: dict[str, Any]) -> None:
        try:
            if kind == "thumbs":
                self._send_thumbs([str(i) for i in content.get("ids") or []], int(content.get("edge") or 256))
            elif kind == "difference":
                self._send_difference(str(content["a"]), str(content["b"]))
            elif kind == "retry":
                repeat = content.get("repeat")
                self.retry(int(content["index"]), None if repeat is None else int(repeat))
            elif kind == "run":
                self.run(confirm=bool(content.get("confirm")))
            elif kind == "cancel":
                self.cancel()
            elif kind == "rate":
                self.rate(str(content["a"]), str(content["b"]), str(content["winner"]))
            elif kind == "export":
                self._export_and_send(str(content["kind"]))
            elif kind == "dismiss":
                self.notice = {}
        except Exception as error:  # noqa: BLE001 - never a traceback in the kernel for a click
            self.notice = {"kind": "error", **error_card(error)}
