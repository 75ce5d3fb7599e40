"""Comparison grids: a parameter sweep that runs concurrently, fills in live, resumes without paying twice.

``compare(prompt, rows=..., cols=..., pages=..., repeats=k)`` expands the axes into
cells, checks every cell's request against the API's rules before anything is
sent, looks each request up in the run store by its hash (results already paid
for are reused), and sends only what is missing, at most ``concurrency`` at a
time. A moderation-blocked request is remembered in the run directory and never
sent again unless retried by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

import numpy as np
from PIL import Image

from ..client import AsyncClient, ClientPerLoop, Secret, Settings
from ..core import (
    EDIT_FIELDS,
    REQUEST_PARAMS,
    AnyfastError,
    ConfirmationRequired,
    EncodedImage,
    ImageInput,
    Mask,
    MaskInput,
    ModerationBlockedError,
    PreparedRequest,
    ValidationError,
    Violation,
    check_params,
    decode_image,
    encode_source,
    prepare_edit,
    prepare_generation,
)
from ..store import ImageResult, RunStore, atomic_write
from ._axes import Axis, as_axis
from ._export import ContactSheet, contact_sheets, save_csv, save_html, save_json

CONFIRM_ABOVE = 50  # requests a grid may send without confirm=True
Prices = Mapping[str, float] | Callable[[Mapping[str, Any]], float]
_REQUEST_PARAMS = REQUEST_PARAMS


@dataclass
class Slot:
    """One request of a cell (a cell has ``repeats`` of them): its state and, once there, its result."""

    repeat: int
    status: str = "pending"  # pending, cached, running, done, error, blocked, cancelled
    result: ImageResult | None = None
    error: BaseException | None = None
    started: float | None = None  # epoch seconds
    finished: float | None = None

    @property
    def has_image(self) -> bool:
        return self.result is not None


@dataclass
class Cell:
    """One point of the grid: its labels, its request (checked, ready to send) and its repeats."""

    page: int
    row: int
    col: int
    labels: tuple[str, str, str]  # page, row, column
    prepared: PreparedRequest
    slots: list[Slot]
    cost: float | None = None  # per request, when prices were given
    primary: EncodedImage | None = field(default=None, repr=False)

    @property
    def prompt(self) -> str:
        return self.prepared.prompt

    @property
    def results(self) -> list[ImageResult]:
        return [s.result for s in self.slots if s.result is not None]

    @property
    def status(self) -> str:
        """The most telling state of its repeats: running, error, blocked, pending, cancelled, or done."""
        states = {s.status for s in self.slots}
        for state in ("running", "error", "blocked", "pending", "cancelled"):
            if state in states:
                return state
        return "done"

    def spread(self, edge: int = 128) -> float | None:
        """How much the repeats differ: mean absolute difference (0-1) over every pair, at ``edge`` px; None below two."""
        images = [np.asarray(r.image.convert("RGB").resize((edge, edge), Image.Resampling.BOX), np.float32) / 255 for r in self.results]
        if len(images) < 2:
            return None
        pairs = [float(np.abs(a - b).mean()) for i, a in enumerate(images) for b in images[i + 1 :]]
        return float(np.mean(pairs))


@dataclass(frozen=True)
class Plan:
    """What running a grid would do: requests in all, already in the run store, blocked, and to send (with cost)."""

    cells: int
    requests: int
    cached: int
    blocked: int
    to_send: int
    cost_to_send: float | None
    cost_total: float | None

    def __str__(self) -> str:
        cost = f", about {self.cost_to_send:.2f} to pay" if self.cost_to_send is not None else ""
        return (
            f"{self.cells} cells, {self.requests} requests: {self.cached} already in the run store, "
            f"{self.blocked} blocked by moderation, {self.to_send} to send{cost}"
        )


class Grid:
    """A comparison grid. Made by :func:`compare`; see there."""

    def __init__(
        self,
        cells: list[Cell],
        *,
        rows: Axis | None,
        cols: Axis | None,
        pages: Axis | None,
        repeats: int,
        store: RunStore,
        clients: ClientPerLoop,
        concurrency: int,
        confirm: bool,
        progress: bool,
    ) -> None:
        self.cells = cells
        self.rows, self.cols, self.pages = rows, cols, pages
        self.repeats = repeats
        self.store = store
        self.concurrency = concurrency
        self.confirm = confirm
        self.progress = progress
        self._clients = clients
        self._listeners: list[Callable[[Cell, Slot], None]] = []
        self._task: asyncio.Task[Grid] | None = None
        self._cancelled = False
        self._view: Any = None  # the GridView, made on first display
        digest = hashlib.sha256(json.dumps([c.prepared.request_hash for c in cells] + [repeats]).encode()).hexdigest()
        self.id = digest[:16]
        self._state_path = store.root / "grids" / f"{self.id}.json"
        self._state = self._read_state()
        self._attach_stored()

    # -- shape -----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int, int]:
        """(pages, rows, columns)."""
        return (len(self.pages) if self.pages else 1, len(self.rows) if self.rows else 1, len(self.cols) if self.cols else 1)

    def cell(self, row: int = 0, col: int = 0, page: int = 0) -> Cell:
        _, rows, cols = self.shape
        return self.cells[(page * rows + row) * cols + col]

    def slots(self) -> Iterator[tuple[Cell, Slot]]:
        for cell in self.cells:
            for slot in cell.slots:
                yield cell, slot

    def __repr__(self) -> str:
        pages, rows, cols = self.shape
        counts: dict[str, int] = {}
        for _, slot in self.slots():
            counts[slot.status] = counts.get(slot.status, 0) + 1
        states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        return f"<Grid {self.id} {pages}x{rows}x{cols} x{self.repeats} repeats: {states}>"

    # -- display -----------------------------------------------------------------

    @property
    def view(self) -> Any:
        """The grid's live widget (a :class:`~anyfast_widget._grid_view.GridView`, made on first use).

        A notebook shows it when the grid is displayed; every display is a view of this one widget.
        """
        if self._view is None or self._view.comm is None:  # never made, or closed
            from ._view import GridView

            self._view = GridView(self)
        return self._view

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """In a Jupyter kernel the widget (with ``repr(grid)`` as its text form); elsewhere just the repr."""
        if not _in_kernel():
            return {"text/plain": repr(self)}
        bundle = self.view._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):  # (data, metadata), as some IPython versions expect
            bundle[0]["text/plain"] = repr(self)
            return bundle  # type: ignore[return-value]
        bundle = dict(bundle or {})
        bundle["text/plain"] = repr(self)
        return bundle

    @property
    def running(self) -> bool:
        """True while a run (or a retry) of this grid is under way in the background."""
        return self._task is not None and not self._task.done()

    # -- resume ------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        try:
            return json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {"blocked": {}, "ratings": []}

    def _update_state(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply ``change`` to the state on disk and keep the result: read, changed and written under a
        lock, so two kernels rating (or blocking cells of) the same grid lose neither's writes."""
        self._state_path.parent.mkdir(exist_ok=True)
        with _locked(self._state_path.with_suffix(".lock")):
            state = self._read_state()
            change(state)
            atomic_write(self._state_path, json.dumps(state, indent=2).encode())
        self._state = state

    def _attach_stored(self) -> None:
        """Give each slot a result already in the run store for its request, each stored result once."""
        pools: dict[str, list[ImageResult]] = {}
        for cell in self.cells:
            key = cell.prepared.request_hash
            if key not in pools:
                pools[key] = self.store.find(request_hash=key, newest_first=False)
            blocked = self._state["blocked"].get(key)
            for slot in cell.slots:
                if slot.result is None and pools[key]:
                    slot.result, slot.status = pools[key].pop(0), "cached"
                elif slot.result is None and blocked:
                    slot.status = "blocked"
                    slot.error = ModerationBlockedError(blocked, code="moderation_blocked")

    def plan(self) -> Plan:
        """What :meth:`run` would send, and what it would cost with the prices given."""
        pending = [(c, s) for c, s in self.slots() if s.status in ("pending", "error", "cancelled")]
        costs = [c.cost for c, _ in self.slots()]
        priced = all(cost is not None for cost in costs)
        return Plan(
            cells=len(self.cells),
            requests=len(costs),
            cached=sum(1 for _, s in self.slots() if s.result is not None),
            blocked=sum(1 for _, s in self.slots() if s.status == "blocked"),
            to_send=len(pending),
            cost_to_send=sum(c.cost for c, _ in pending) if priced else None,  # type: ignore[misc]
            cost_total=sum(costs) if priced else None,  # type: ignore[arg-type]
        )

    # -- running -----------------------------------------------------------------

    def on_change(self, callback: Callable[[Cell, Slot], None]) -> None:
        """Call ``callback(cell, slot)`` whenever a slot changes state (the widget listens here)."""
        self._listeners.append(callback)

    def _changed(self, cell: Cell, slot: Slot) -> None:
        for callback in list(self._listeners):
            callback(cell, slot)

    def run(self, *, confirm: bool | None = None) -> Any:
        """Send every request not yet done; returns the grid.

        In a notebook (a running event loop) this starts in the background and returns
        the task (``await grid`` waits); elsewhere it blocks. Raises
        ConfirmationRequired, sending nothing, when more than 50 requests would go
        out without ``confirm=True``.
        """
        plan = self.plan()
        if plan.to_send > CONFIRM_ABOVE and not (confirm if confirm is not None else self.confirm):
            raise ConfirmationRequired(f"This grid would send {plan.to_send} requests ({plan}).")
        return self._start(lambda: [(c, s) for c, s in self.slots() if s.status in ("pending", "error", "cancelled")])

    def retry(self, row: int = 0, col: int = 0, page: int = 0, *, repeat: int | None = None) -> Any:
        """Send one cell's failed, cancelled or blocked requests again (a blocked one only this way)."""
        cell = self.cell(row, col, page)
        wanted = [s for s in cell.slots if s.result is None and (repeat is None or s.repeat == repeat)]
        if any(s.status == "blocked" for s in wanted):  # asked for by hand: no longer remembered as blocked
            self._update_state(lambda state: state.setdefault("blocked", {}).pop(cell.prepared.request_hash, None))
        for slot in wanted:
            slot.status, slot.error = "pending", None
            self._changed(cell, slot)
        return self._start(lambda: [(cell, s) for s in wanted])

    def cancel(self) -> None:
        """Stop what has not started; requests already under way finish and are kept."""
        self._cancelled = True

    def _start(self, pick: Callable[[], list[tuple[Cell, Slot]]]) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self._run(pick(), close_client=True))
            return self
        if self._task is not None and not self._task.done():
            raise RuntimeError("This grid is already running; await it or cancel() it first.")
        self._task = loop.create_task(self._run(pick()))
        return self._task

    def __await__(self) -> Any:
        async def wait() -> Grid:
            if self._task is not None:
                await asyncio.shield(self._task)
            return self

        return wait().__await__()

    async def _run(self, todo: list[tuple[Cell, Slot]], close_client: bool = False) -> Grid:
        self._cancelled = False
        client = self._clients.get()
        bar = _progress_bar(len(todo)) if self.progress and todo else None
        gate = asyncio.Semaphore(self.concurrency)
        try:
            await asyncio.gather(*(self._run_slot(client, gate, cell, slot, bar) for cell, slot in todo))
        finally:
            if bar is not None:
                bar.close()
            if close_client:  # its event loop ends with this run
                await self._clients.close_for_loop()
        return self

    async def _run_slot(self, client: AsyncClient, gate: asyncio.Semaphore, cell: Cell, slot: Slot, bar: Any) -> None:
        async with gate:
            if self._cancelled:
                slot.status = "cancelled"
                self._changed(cell, slot)
                return
            slot.status, slot.error, slot.started = "running", None, time.time()
            self._changed(cell, slot)
            try:
                result = await client.send(cell.prepared)  # on disk when it returns
                if cell.prepared.mask is not None and cell.primary is not None:
                    await asyncio.to_thread(_measure, self.store, result, cell)
            except ModerationBlockedError as error:
                slot.status, slot.error = "blocked", error
                await asyncio.to_thread(self._update_state, _blocking(cell.prepared.request_hash, error.message))
            except asyncio.CancelledError:
                slot.status = "cancelled"
                raise
            except AnyfastError as error:
                slot.status, slot.error = "error", error
            else:
                # The image is on disk; a big grid must not hold every picture in memory.
                result.release()
                slot.status, slot.result = "done", result
            finally:
                slot.finished = time.time()
                if bar is not None:
                    bar.update(1)
                self._changed(cell, slot)

    # -- ratings -------------------------------------------------------------------

    @property
    def ratings(self) -> list[dict[str, Any]]:
        """Blind A/B ratings given to this grid, as stored in its run directory."""
        return list(self._state.get("ratings", []))

    def rate(self, a: ImageResult | str, b: ImageResult | str, winner: str) -> None:
        """Record a blind comparison: ``winner`` is ``"a"``, ``"b"`` or ``"tie"``."""
        if winner not in ("a", "b", "tie"):
            raise ValueError(f"winner is 'a', 'b' or 'tie', not {winner!r}")
        ids = [r.id if isinstance(r, ImageResult) else str(r) for r in (a, b)]
        rating = {"a": ids[0], "b": ids[1], "winner": winner, "at": time.time()}
        self._update_state(lambda state: state.setdefault("ratings", []).append(rating))

    def win_rates(self) -> list[dict[str, Any]]:
        """Per row, column and page label: comparisons, wins, ties and win rate (ties count half)."""
        where: dict[str, Cell] = {r.id: c for c, s in self.slots() for r in ([s.result] if s.result else [])}
        tally: dict[tuple[str, str], dict[str, float]] = {}
        for rating in self.ratings:
            a, b = where.get(rating["a"]), where.get(rating["b"])
            if a is None or b is None:
                continue
            for role, index in (("page", 0), ("row", 1), ("column", 2)):
                if a.labels[index] == b.labels[index]:
                    continue  # this axis did not differ in the comparison
                for cell, won in ((a, rating["winner"] == "a"), (b, rating["winner"] == "b")):
                    entry = tally.setdefault((role, cell.labels[index]), {"comparisons": 0, "wins": 0, "ties": 0})
                    entry["comparisons"] += 1
                    entry["wins"] += won
                    entry["ties"] += rating["winner"] == "tie"
        return [
            {"axis": role, "label": label, **entry, "win_rate": (entry["wins"] + entry["ties"] / 2) / entry["comparisons"]}
            for (role, label), entry in sorted(tally.items())
        ]

    # -- export ------------------------------------------------------------------------

    def contact_sheets(self, *, cell_size: int = 256, max_rows: int = 6, max_cols: int = 6, revised_prompts: bool = False) -> list[ContactSheet]:
        """Labelled sheets of the grid (one per page; large grids split, labels never shrunk)."""
        return contact_sheets(self, cell_size=cell_size, max_rows=max_rows, max_cols=max_cols, revised_prompts=revised_prompts)

    def save_contact_sheets(self, path: str | os.PathLike[str], **options: Any) -> list[Path]:
        """Write the sheets as PNG: ``path`` itself for one sheet, ``<stem>-1.png``, ``<stem>-2.png``, ... for more."""
        target = Path(path)
        sheets = self.contact_sheets(**options)
        if len(sheets) == 1:
            return [sheets[0].save(target)]
        return [sheet.save(target.with_name(f"{target.stem}-{i + 1}{target.suffix or '.png'}")) for i, sheet in enumerate(sheets)]

    def save_html(self, path: str | os.PathLike[str]) -> Path:
        """A self-contained HTML report: images inlined, each cell with its request, request ids, latency, cost."""
        return save_html(self, path)

    def save_json(self, path: str | os.PathLike[str]) -> Path:
        """Axes, plan and one record per request, as JSON."""
        return save_json(self, path)

    def save_csv(self, path: str | os.PathLike[str]) -> Path:
        """One record per request, as CSV."""
        return save_csv(self, path)

    # -- records -------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per request (cell and repeat): labels, state, result, timing, cost, measures; for pandas."""
        names = [axis.name if axis else None for axis in (self.pages, self.rows, self.cols)]
        out = []
        for cell, slot in self.slots():
            result, error = slot.result, slot.error
            change = result.annotations.get("mask_change") if result else None
            record: dict[str, Any] = {
                "page": cell.labels[0],
                "row": cell.labels[1],
                "column": cell.labels[2],
                "page_axis": names[0],
                "row_axis": names[1],
                "column_axis": names[2],
                "repeat": slot.repeat,
                "status": slot.status,
                "endpoint": cell.prepared.endpoint,
                "prompt": cell.prompt,
                **{k: cell.prepared.effective_params.get(k) for k in _REQUEST_PARAMS},
                "request_hash": cell.prepared.request_hash,
                "cost": cell.cost,
                "result_id": result.id if result else None,
                "path": str(result.path) if result else None,
                "request_id": result.request_id if result else getattr(error, "request_id", None),
                "latency_s": result.timings.get("total_s") if result else None,
                "attempts": result.attempts if result else None,
                "revised_prompt": result.revised_prompt if result else None,
                "change_inside": change["changed_inside"] if change else None,
                "change_outside": change["changed_outside"] if change else None,
                "error": str(error) if error else None,
            }
            out.append(record)
        return out


def _measure(store: RunStore, result: ImageResult, cell: Cell) -> None:
    """How much an edit changed inside and outside its mask, kept with the result."""
    if "mask_change" in result.annotations or cell.primary is None or cell.prepared.mask is None:
        return
    store.record_mask_change(result, decode_image(cell.primary.data), cell.prepared.mask)


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grid", unit="image")


def _price(prices: Prices | None, prepared: PreparedRequest) -> float | None:
    if prices is None:
        return None
    params = {"endpoint": prepared.endpoint, **prepared.effective_params}
    if callable(prices):
        return float(prices(params))
    key = "edits" if prepared.endpoint == "edits" else params.get("quality", "medium")
    if key not in prices:
        raise ValidationError(
            [Violation("prices", "missing", f"the price table has no entry for {key!r}.", "give a price for every quality used, and 'edits' for edits.")]
        )
    return float(prices[key])


def _cell_request(base: dict[str, Any], steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    request = dict(base)
    swaps = []
    for step in steps:
        for name, value in step.items():
            if name == "replace":
                swaps.append(value)
            else:
                request[name] = value
    for word, value in swaps:
        prompt = request.get("prompt") or ""
        if word not in prompt:
            raise ValidationError(
                [Violation("prompt", "replace", f"{word!r} does not occur in the prompt {prompt!r}.", "replace a word the prompt contains.")]
            )
        request["prompt"] = prompt.replace(word, value)
    return request


def _prepare(request: dict[str, Any], encoded: dict[int, EncodedImage], masks: dict[int, Mask]) -> tuple[PreparedRequest, EncodedImage | None]:
    params = {k: request[k] for k in _REQUEST_PARAMS if request.get(k) is not None}
    images = request.get("sources") or []
    if not images:
        if request.get("mask") is not None:
            raise ValidationError([Violation("mask", "sources", "a mask was given without source images.", "add sources, or drop the mask.")])
        return prepare_generation(request.get("prompt"), **params), None  # type: ignore[arg-type]
    rejected = [k for k in params if k not in EDIT_FIELDS]
    if rejected:
        raise ValidationError([v for v in check_params("edits", {"prompt": request.get("prompt"), **{k: params[k] for k in rejected}}) if v.rule == "unknown_field"])
    sources = []
    for image in images:  # each distinct source is read and converted once for the whole grid
        if id(image) not in encoded:
            encoded[id(image)] = image if isinstance(image, EncodedImage) else encode_source(image, "image[]")
        sources.append(encoded[id(image)].data)
    mask = request.get("mask")
    if mask is not None and id(mask) not in masks:
        masks[id(mask)] = Mask.coerce(mask)
    prepared = prepare_edit(request.get("prompt"), sources, mask=masks[id(mask)] if mask is not None else None, **params)  # type: ignore[arg-type]
    return prepared, prepared.sources[0]


def compare(
    prompt: str | None = None,
    *,
    rows: Axis | Mapping[str, Sequence[Any]] | None = None,
    cols: Axis | Mapping[str, Sequence[Any]] | None = None,
    pages: Axis | Mapping[str, Sequence[Any]] | None = None,
    repeats: int = 1,
    sources: Sequence[ImageInput] | None = None,
    mask: MaskInput | None = None,
    prices: Prices | None = None,
    concurrency: int = 8,
    confirm: bool = False,
    client: AsyncClient | None = None,
    api_key: str | Secret | None = None,
    base_url: str | None = None,
    run_dir: str | os.PathLike[str] | RunStore | None = None,
    run: bool = True,
    progress: bool | None = None,
    **params: Any,
) -> Grid:
    """A comparison grid over ``rows`` x ``cols`` (x ``pages``), each cell sent ``repeats`` times.

    Axes are :class:`Axis` objects (``axis``, ``prompts``, ``replace``, ``sources``,
    ``masks``) or ``{"field": [values]}``; ``params``, ``sources`` and ``mask`` are
    what every cell shares. Every cell is checked before anything is sent (one
    ValidationError lists every problem, by cell). Results already in the run
    store for the same request are reused; only the rest is sent, at most
    ``concurrency`` at a time. More than 50 requests to send need ``confirm=True``.
    ``prices`` (``{"low": 0.01, "medium": 0.04, "high": 0.17, "edits": 0.05}``, or a
    function of the request's parameters) puts a cost on each cell and on
    :meth:`Grid.plan`. With ``run=False`` nothing is sent until :meth:`Grid.run`.
    """
    unknown = set(params) - set(_REQUEST_PARAMS)
    if unknown:
        raise TypeError(f"compare() got unexpected parameters: {', '.join(sorted(unknown))}")
    if not isinstance(repeats, int) or not 1 <= repeats <= 16:
        raise ValidationError([Violation("repeats", "range", f"repeats={repeats!r}.", "use 1 to 16 repeats per cell.")])
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError([Violation("concurrency", "range", f"concurrency={concurrency!r}.", "use a positive integer.")])
    page_axis, row_axis, col_axis = as_axis(pages, "pages"), as_axis(rows, "rows"), as_axis(cols, "cols")
    base = {"prompt": prompt, "sources": list(sources) if sources else [], "mask": mask, **params}

    if client is not None:
        store, clients = client.store, ClientPerLoop(client=client)
    else:
        # The key and base URL are checked now; the key stays wrapped, so no repr or vars() of the grid shows it.
        settings = Settings.resolve(api_key, base_url, run_dir, key_required=True)
        store = settings.open_store()
        clients = ClientPerLoop(settings, run_dir=store)

    encoded: dict[int, EncodedImage] = {}
    masks_seen: dict[int, Mask] = {}
    cells: list[Cell] = []
    problems: list[Violation] = []
    page_steps = list(zip(page_axis.labels, page_axis.steps)) if page_axis else [("", {})]
    row_steps = list(zip(row_axis.labels, row_axis.steps)) if row_axis else [("", {})]
    col_steps = list(zip(col_axis.labels, col_axis.steps)) if col_axis else [("", {})]
    for p, (page_label, page_step) in enumerate(page_steps):
        for r, (row_label, row_step) in enumerate(row_steps):
            for c, (col_label, col_step) in enumerate(col_steps):
                where = " / ".join(label for label in (page_label, row_label, col_label) if label) or "the cell"
                try:
                    request = _cell_request(base, [page_step, row_step, col_step])
                    prepared, primary = _prepare(request, encoded, masks_seen)
                except ValidationError as error:
                    problems += [dataclasses.replace(v, message=f"[{where}] {v.message}") for v in error.violations]
                    continue
                cells.append(
                    Cell(p, r, c, (page_label, row_label, col_label), prepared, [Slot(k) for k in range(repeats)], _price(prices, prepared), primary)
                )
    if problems:
        raise ValidationError(problems)
    grid = Grid(
        cells,
        rows=row_axis,
        cols=col_axis,
        pages=page_axis,
        repeats=repeats,
        store=store,
        clients=clients,
        concurrency=concurrency,
        confirm=confirm,
        progress=not _in_kernel() if progress is None else progress,  # a tqdm bar where no widget shows the grid
    )
    if run:
        grid.run()
    return grid


def _blocking(request_hash: str, reason: str) -> Callable[[dict[str, Any]], None]:
    """A change to a grid's state that remembers a request the safety system refused."""

    def change(state: dict[str, Any]) -> None:
        state.setdefault("blocked", {})[request_hash] = reason

    return change


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (advisory; where flock is missing, none)."""
    with open(path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _in_kernel() -> bool:
    """True in a Jupyter kernel (a front end can show widgets), False in scripts and terminal IPython."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover
        return False
    return getattr(shell, "kernel", None) is not None
