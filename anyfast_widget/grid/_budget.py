"""A grid's budget: what the requests it sends may cost in all, reserved before each is sent and settled after.

Each request reserves its expected cost (the cell's price) before it goes out; a
request whose reservation would take the spend over the budget is not sent (its
slot is left ``over_budget``). When it comes back the reservation is settled with
what it cost (the result's recorded cost, else the expected one). The grid's results
already in the run store count with their recorded cost: a budget caps what the
grid costs in all, so a run stopped and started again does not get a fresh one.

A request the API refused with an error status cost nothing; one that timed out,
dropped or could not be read may have been made (and paid for), so it keeps its
expected cost: the budget errs on the side of spending less.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core import APIError
from ._model import Slot, SlotState

_SLACK = 1e-9  # float sums of prices (0.1 + 0.2) must not refuse a request that fits exactly


class Budget:
    """``limit`` to spend in all; ``spent`` so far by requests that came back, ``reserved`` by those in flight."""

    def __init__(self, limit: float) -> None:
        self.limit = float(limit)
        self.spent = 0.0
        self.reserved = 0.0

    @property
    def left(self) -> float:
        """What is neither spent nor reserved."""
        return self.limit - self.spent - self.reserved

    def reserve(self, expected: float) -> bool:
        """Hold ``expected`` for a request about to be sent; False (nothing held) if that would go over the limit."""
        if expected > self.left + _SLACK:
            return False
        self.reserved += expected
        return True

    def settle(self, expected: float, paid: float) -> None:
        """A request that held ``expected`` came back having cost ``paid``."""
        self.reserved = max(0.0, self.reserved - expected)
        self.spent += paid

    def fitting(self, costs: Iterable[float]) -> int:
        """How many of these requests, reserved in this order with what is left now, would be sent."""
        left, sent = self.left, 0
        for cost in costs:
            if cost <= left + _SLACK:
                left -= cost
                sent += 1
        return sent

    def __repr__(self) -> str:
        return f"spent {self.spent:.2f} of {self.limit:.2f}"


def paid(slot: Slot, expected: float) -> float:
    """What a slot's request cost once it came back: its result's cost, nothing for an API refusal, else ``expected``."""
    if slot.result is not None and slot.status == SlotState.DONE:
        return slot.result.cost if slot.result.cost is not None else expected
    if slot.status == SlotState.BLOCKED or isinstance(slot.error, APIError):
        return 0.0
    return expected
