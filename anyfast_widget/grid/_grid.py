"""Grid: a comparison grid that runs concurrently, fills in live, and resumes without paying twice.

Made by :func:`~anyfast_widget.grid._compare.compare`. On creation every slot gets
a result already in the run store for its request (each stored result once), and
a request moderation refused before is marked blocked rather than sent again.
:meth:`Grid.run` sends the rest (in a notebook as a background task), :meth:`Grid.retry`
one cell again, :meth:`Grid.cancel` stops what has not started. Ratings, exports
and the live widget are the grid's too; the work is done by the modules beside this one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import ClientPerLoop
from ..core import ConfirmationRequired, ModerationBlockedError
from ..store import ImageResult, RunStore
from ._budget import Budget
from ._export import ContactSheet, contact_sheets, records, save_contact_sheets, save_csv, save_html, save_json
from ._model import SENDABLE, Cell, Plan, Slot, SlotState
from ._progress import in_kernel
from ._ratings import new_rating, scores, separation, tally
from ._runner import Sender
from ._state import GridState

if TYPE_CHECKING:
    import datasets
    import pandas

    from ._axes import Axis
    from ._follow import Follower
    from ._pacing import Pacing
    from ._view import GridView

CONFIRM_ABOVE = 50  # requests a grid may send without confirm=True


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
        definition: dict[str, Any] | None = None,
        budget: float | None = None,
    ) -> None:
        self.cells = cells
        self.rows, self.cols, self.pages = rows, cols, pages
        self.repeats = repeats
        self.store = store
        self.concurrency = concurrency
        self.confirm = confirm
        self.progress = progress
        self.definition = definition  # compare()'s arguments, for save_spec
        self._clients = clients
        self._listeners: list[Callable[[Cell, Slot], None]] = []
        self._task: asyncio.Task[Grid] | None = None
        self._view: GridView | None = None  # made on first display
        self._follower: Follower | None = None  # open_grid's, while a headless run of this grid goes on elsewhere
        hashes = [c.prepared.request_hash for c in cells]  # (each a sha256 of the request: worked out once here)
        digest = hashlib.sha256(json.dumps(hashes + [repeats]).encode()).hexdigest()
        self.id = digest[:16]
        self._state = GridState(store.root / "grids" / f"{self.id}.json")
        self._sender = Sender(clients, store, self._state, self._changed)
        self._sender.budget = Budget(budget) if budget is not None else None
        self._attach_stored(hashes)
        if self.budget is not None:  # the grid's results already stored were paid for: a resumed run gets no fresh budget
            self.budget.spent = sum(
                slot.result.cost if slot.result.cost is not None else cell.cost or 0.0
                for cell, slot in self.slots()
                if slot.result is not None and slot.status == SlotState.CACHED
            )

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
        spend = f"; {self.budget!r}" if self.budget is not None else ""  # "spent 0.12 of 0.50"
        return f"<Grid {self.id} {pages}x{rows}x{cols} x{self.repeats} repeats: {states}{spend}>"

    @property
    def budget(self) -> Budget | None:
        """The spend cap of this grid (``limit``, ``spent``, ``left``), or None; its results already in the run store count."""
        return self._sender.budget

    @property
    def pacing(self) -> Pacing | None:
        """How the last run paced itself by the rate limit (``limit``, ``lowest``, ``rate_limited``, ``history``), or
        None before the first run: a 429 halves the requests under way, successes raise them again up to ``concurrency``."""
        return self._sender.pacing

    @property
    def view(self) -> GridView:
        """The grid's live widget (a :class:`~anyfast_widget.grid._view.GridView`, made on first use).

        A notebook shows it when the grid is displayed; every display is a view of this one widget.
        """
        if self._view is None or self._view.comm is None:  # never made, or closed
            from ._view import GridView  # the widget stack is loaded only when a grid is shown

            self._view = GridView(self)
        return self._view

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """In a Jupyter kernel the widget (with ``repr(grid)`` as its text form); elsewhere just the repr."""
        if not in_kernel():
            return {"text/plain": repr(self)}
        bundle = self.view._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):  # (data, metadata), as some IPython versions expect
            bundle[0]["text/plain"] = repr(self)
            return bundle  # type: ignore[return-value]
        bundle = dict(bundle or {})
        bundle["text/plain"] = repr(self)
        return bundle

    def _ipython_display_(self) -> None:
        """In a Jupyter kernel the widget and its static copy (``repr(grid)`` the text form); elsewhere just the repr."""
        if not in_kernel():
            from IPython.display import display

            display({"text/plain": repr(self)}, raw=True)
            return
        self.view.show(repr(self))

    @property
    def following(self) -> bool:
        """True while this grid follows a headless run of it going on elsewhere (see :func:`open_grid`)."""
        return self._follower is not None and self._follower.active

    @property
    def running(self) -> bool:
        """True while a run (or a retry) of this grid is under way in the background."""
        return self._task is not None and not self._task.done()

    def _attach_stored(self, hashes: list[str]) -> None:
        """Give each slot a result already in the run store for its request (``hashes``: each cell's), each stored
        result once."""
        pools: dict[str, list[ImageResult]] = {}
        blocked = self._state.blocked
        for cell, key in zip(self.cells, hashes):
            if key not in pools:
                pools[key] = self.store.find(request_hash=key, newest_first=False)
            reason = blocked.get(key)
            for slot in cell.slots:
                if slot.result is None and pools[key]:
                    slot.result, slot.status = pools[key].pop(0), SlotState.CACHED
                elif slot.result is None and reason:
                    slot.status = SlotState.BLOCKED
                    slot.error = ModerationBlockedError(reason, code="moderation_blocked")

    def plan(self) -> Plan:
        """What :meth:`run` would send, what it would cost with the prices given, and what fits in the budget."""
        return Plan.of(self.cells, self.budget)

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
        out without ``confirm=True``, and RuntimeError while a headless run of it goes on
        elsewhere (:attr:`following`): that run is sending these very requests.
        """
        if self.following:
            raise RuntimeError(
                "A headless run of this grid is going on elsewhere, and its results fill this grid as they are saved; "
                "sending from here too would pay twice. Wait until grid.following is False, then run what is left."
            )
        plan = self.plan()
        if plan.fit > CONFIRM_ABOVE and not (confirm if confirm is not None else self.confirm):
            raise ConfirmationRequired(f"This grid would send {plan.fit} requests ({plan}).")
        return self._start(lambda: [(c, s) for c, s in self.slots() if s.status in SENDABLE])

    def retry(self, row: int = 0, col: int = 0, page: int = 0, *, repeat: int | None = None) -> Any:
        """Send one cell's failed, cancelled or blocked requests again (a blocked one only this way)."""
        cell = self.cell(row, col, page)
        wanted = [s for s in cell.slots if s.result is None and (repeat is None or s.repeat == repeat)]
        if any(s.status == SlotState.BLOCKED for s in wanted):  # asked for by hand: no longer remembered as blocked
            self._state.forget_blocked(cell.prepared.request_hash)
        for slot in wanted:
            slot.status, slot.error = SlotState.PENDING, None
            self._changed(cell, slot)
        return self._start(lambda: [(cell, s) for s in wanted])

    def cancel(self) -> None:
        """Stop what has not started; requests already under way finish and are kept."""
        self._sender.cancelled = True

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
        await self._sender.send(todo, concurrency=self.concurrency, progress=self.progress, close_client=close_client)
        if self._view is not None:  # its static copy, renewed before the run counts as over (a notebook run headless)
            await self._view.renew_static_copy()
        return self

    @property
    def ratings(self) -> list[dict[str, Any]]:
        """Blind A/B ratings given to this grid, as stored in its run directory."""
        return self._state.ratings

    def rate(self, a: ImageResult | str, b: ImageResult | str, winner: str) -> None:
        """Record a blind comparison: ``winner`` is ``"a"``, ``"b"`` or ``"tie"``."""
        self._state.add_rating(new_rating(a, b, winner))

    def win_rates(self) -> list[dict[str, Any]]:
        """Per row, column and page label: comparisons, wins, ties and win rate (ties count half)."""
        return tally(self.cells, self.ratings)

    def scores(self, level: float = 0.95) -> list[dict[str, Any]]:
        """Per row, column and page label, best first: Bradley-Terry score (log-strength) with its interval at ``level``.

        Each row: ``axis``, ``label``, ``score`` (0 is an average setting), ``ci_low``, ``ci_high``,
        ``win_probability`` (of beating an average setting) and ``comparisons``; ties count half.
        """
        return scores(self.cells, self.ratings, level)

    def separation(self, level: float = 0.95) -> list[dict[str, Any]]:
        """Per axis: the top two labels and how many more ratings would make their intervals stop overlapping."""
        return separation(self.cells, self.ratings, level)

    def contact_sheets(
        self, *, cell_size: int = 256, max_rows: int = 6, max_cols: int = 6, revised_prompts: bool = False
    ) -> list[ContactSheet]:
        """Labelled sheets of the grid (one per page; large grids split, labels never shrunk)."""
        return contact_sheets(self, cell_size=cell_size, max_rows=max_rows, max_cols=max_cols, revised_prompts=revised_prompts)

    def save_contact_sheets(self, path: str | os.PathLike[str], **options: Any) -> list[Path]:
        """Write the sheets as PNG: ``path`` itself for one sheet, ``<stem>-1.png``, ``<stem>-2.png``, ... for more."""
        return save_contact_sheets(self.contact_sheets(**options), path)

    def save_html(self, path: str | os.PathLike[str]) -> Path:
        """A self-contained HTML report: images inlined, each cell with its request, request ids, latency, cost."""
        return save_html(self, path)

    def save_json(self, path: str | os.PathLike[str]) -> Path:
        """Axes, plan and one record per request, as JSON."""
        return save_json(self, path)

    def save_spec(self, path: str | os.PathLike[str], *, copy_files: bool = False) -> Path:
        """Write the grid's definition as an editable TOML spec (``python -m anyfast_widget run`` runs it).

        Images held in memory are written as PNG files into ``<stem>.files/`` beside it; ``copy_files``
        copies the source and mask files given by path there too. See :func:`~anyfast_widget.grid._spec.save_spec`.
        """
        from ._spec import save_spec  # (the spec writer imports tomli_w: only when a spec is written)

        return save_spec(self, path, copy_files=copy_files)

    def save_csv(self, path: str | os.PathLike[str]) -> Path:
        """One record per request, as CSV."""
        return save_csv(self, path)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per request (cell and repeat): labels, state, result, timing, cost, measures, ratings (see to_pandas)."""
        return records(self)

    def to_pandas(self) -> pandas.DataFrame:
        """One row per request as a pandas DataFrame (labels named by their axes, typed columns); needs ``[research]``."""
        from ._dataframe import to_pandas  # pandas is loaded only when asked for

        return to_pandas(self)

    def to_dataset(self, *, cache_dir: str | os.PathLike[str] | None = None, writer_batch_size: int = 16) -> datasets.Dataset:
        """A Hugging Face ``datasets.Dataset``: result, sources and mask as images, and the DataFrame's columns.

        Written row by row to an Arrow file (see ``grid._dataset``), never every picture in memory; needs ``[research]``.
        """
        from ._dataset import to_dataset  # datasets is loaded only when asked for

        return to_dataset(self, cache_dir=cache_dir, writer_batch_size=writer_batch_size)
