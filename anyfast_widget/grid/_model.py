"""The grid's data model: the states of a request, a slot (one request), a cell (a point and its repeats), a plan.

A cell is one point of the grid (one label per axis, one checked request); it is
sent ``repeats`` times, and each of those requests is a :class:`Slot` with its own
state and, once there, its result. A :class:`Plan` says what running the grid
would send.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..core import EncodedImage, PreparedRequest
from ..store import ImageResult

if TYPE_CHECKING:
    from ._budget import Budget


class SlotState(enum.StrEnum):
    """Where one request of a grid stands (a ``str``: ``SlotState.DONE == "done"``, and JSON shows ``"done"``)."""

    PENDING = "pending"  # not sent yet
    CACHED = "cached"  # found in the run store: reused, not sent
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    BLOCKED = "blocked"  # refused by moderation; sent again only by a retry by hand
    CANCELLED = "cancelled"
    OVER_BUDGET = "over_budget"  # left unsent: sending it would have taken the run over its budget

    def __repr__(self) -> str:
        return repr(self.value)  # printed as the string it is: [c.status for c in grid.cells] reads ['done', ...]


SENDABLE = (SlotState.PENDING, SlotState.ERROR, SlotState.CANCELLED, SlotState.OVER_BUDGET)  # the states a run sends
_TELLING = (  # most telling first
    SlotState.RUNNING, SlotState.ERROR, SlotState.BLOCKED, SlotState.PENDING, SlotState.CANCELLED, SlotState.OVER_BUDGET
)


@dataclass
class Slot:
    """One request of a cell (a cell has ``repeats`` of them): its state and, once there, its result."""

    repeat: int
    status: SlotState = SlotState.PENDING
    result: ImageResult | None = None
    error: BaseException | None = None
    started: float | None = None  # epoch seconds
    finished: float | None = None


@dataclass
class Cell:
    """One point of the grid: its labels, its request (checked, ready to send) and its repeats."""

    page: int
    row: int
    col: int
    labels: tuple[str, str, str]  # page, row, column
    prepared: PreparedRequest
    slots: list[Slot]
    cost: float | None = None  # expected per request, when prices were given (a result's own is result.cost)
    primary: EncodedImage | None = field(default=None, repr=False)

    @property
    def prompt(self) -> str:
        return self.prepared.prompt

    @property
    def results(self) -> list[ImageResult]:
        return [s.result for s in self.slots if s.result is not None]

    @property
    def status(self) -> SlotState:
        """The most telling state of its repeats: running, error, blocked, pending, cancelled, over_budget, or done."""
        states = {s.status for s in self.slots}
        for state in _TELLING:
            if state in states:
                return state
        return SlotState.DONE

    def spread(self, edge: int = 128) -> float | None:
        """How much the repeats differ: mean absolute difference (0-1) over every pair, at ``edge`` px; None below two."""
        images = [
            np.asarray(r.image.convert("RGB").resize((edge, edge), Image.Resampling.BOX), np.float32) / 255 for r in self.results
        ]
        if len(images) < 2:
            return None
        pairs = [float(np.abs(a - b).mean()) for i, a in enumerate(images) for b in images[i + 1 :]]
        return float(np.mean(pairs))


@dataclass(frozen=True)
class Plan:
    """What running a grid would do: requests in all, already in the run store, blocked, and to send (with cost).

    With a budget: ``budget`` and ``budget_left`` (neither spent nor held by requests in
    flight), how many of the requests to send ``fit`` in what is left, and how many would
    be ``left_unsent`` (the run leaves them ``over_budget``). Without one, ``fit`` is
    ``to_send`` and nothing is left unsent.
    """

    cells: int
    requests: int
    cached: int
    blocked: int
    to_send: int
    cost_to_send: float | None
    cost_total: float | None
    budget: float | None = None
    budget_left: float | None = None
    fit: int = 0
    left_unsent: int = 0

    @classmethod
    def of(cls, cells: list[Cell], budget: Budget | None = None) -> Plan:
        """What running ``cells`` would send now, what it would cost with the prices given, and what fits in ``budget``."""
        slots = [(c, s) for c in cells for s in c.slots]
        pending = [c for c, s in slots if s.status in SENDABLE]
        costs = [c.cost for c, _ in slots]
        priced = all(cost is not None for cost in costs)
        # In the order a run reserves them; a budget is only ever set with prices, so every cost is known.
        fit = budget.fitting(c.cost or 0.0 for c in pending) if budget is not None else len(pending)
        return cls(
            cells=len(cells),
            requests=len(costs),
            cached=sum(1 for _, s in slots if s.result is not None),
            blocked=sum(1 for _, s in slots if s.status == SlotState.BLOCKED),
            to_send=len(pending),
            cost_to_send=sum(c.cost for c in pending) if priced else None,  # type: ignore[misc]
            cost_total=sum(costs) if priced else None,  # type: ignore[arg-type]
            budget=budget.limit if budget is not None else None,
            budget_left=budget.left if budget is not None else None,
            fit=fit,
            left_unsent=len(pending) - fit,
        )

    def __str__(self) -> str:
        cost = f", about {self.cost_to_send:.2f} to pay" if self.cost_to_send is not None else ""
        text = (
            f"{self.cells} cells, {self.requests} requests: {self.cached} already in the run store, "
            f"{self.blocked} blocked by moderation, {self.to_send} to send{cost}"
        )
        if self.budget is not None and self.budget_left is not None:
            text += f"; budget {self.budget:.2f}, {self.budget_left:.2f} left: {self.fit} fit, {self.left_unsent} left unsent"
        return text
