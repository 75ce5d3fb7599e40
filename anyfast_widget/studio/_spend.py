"""A studio session's spend: what its runs cost, what a run would cost, and the session budget that refuses one over it.

Python keeps the count (the browser shows the ``spend`` trait's text). Each result a
run of this studio receives adds its recorded cost (``result.cost``; its expected
cost when its client priced nothing). Results in the history the studio started
with were paid for before and do not count. Before a run is sent, its expected cost
(``variants`` times the cost of one request, by the core's pricing rules) must fit
in what is left of the budget; otherwise it is refused with a ``budget`` violation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..core import EncodedImage, PreparedRequest, Pricing, ValidationError, Violation
from ..store import ImageResult

_SLACK = 1e-9  # sums of prices in floats (0.1 + 0.2) must not refuse a run that fits exactly


class Spend:
    """The session's ``spent`` so far, its ``budget`` (None: no cap) and the ``pricing`` that measures runs."""

    def __init__(self, pricing: Pricing | None, budget: float | None) -> None:
        if budget is not None:
            if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 <= budget < math.inf:
                fix = "give the most the session may spend as a number, 0 or more."
                raise ValidationError([Violation("budget", "range", f"budget={budget!r}.", fix)])
            if pricing is None:
                fix = 'pass prices={"low": .., "medium": .., "high": .., "edits": ..} or token_prices=TokenPrices(...).'
                message = "a budget was given without prices, so no run can be measured against it."
                raise ValidationError([Violation("budget", "prices", message, fix)])
        self.pricing = pricing
        self.budget = float(budget) if budget is not None else None
        self.spent = 0.0

    @property
    def left(self) -> float | None:
        """What the budget still allows, or None without a budget."""
        return None if self.budget is None else max(0.0, self.budget - self.spent)

    def expected(self, prepared: PreparedRequest) -> float | None:
        """What one request of ``prepared`` should cost; None without prices. ValidationError if the table has no price."""
        return self.pricing.expected(prepared) if self.pricing is not None else None

    def problems(self, prepared: PreparedRequest, variants: int) -> list[Violation]:
        """Why a run of ``variants`` requests of ``prepared`` may not be sent for what it costs (nothing if it may)."""
        try:
            each = self.expected(prepared)
        except ValidationError as error:  # the table has no price for it: said, and the run waits
            return list(error.violations)
        left = self.left
        if each is None or left is None or each * variants <= left + _SLACK:
            return []
        run = f"about {each * variants:.2f} ({variants} x {each:.2f})" if variants > 1 else f"about {each:.2f}"
        message = f"this run would cost {run}; {left:.2f} of the {self.budget:.2f} budget is left."
        fix = "send fewer variants, a lower quality or a smaller size; or start a studio with a larger budget."
        return [Violation("budget", "exceeded", message, fix, api_rule=False)]

    def check(self, prepared: PreparedRequest, variants: int) -> None:
        """Raise ValidationError (nothing is sent) if the run does not fit in what is left."""
        if problems := self.problems(prepared, variants):
            raise ValidationError(problems)

    def add(self, result: ImageResult, prepared: PreparedRequest) -> None:
        """Count a result this session received: its recorded cost, else what its request was expected to cost."""
        cost = result.cost if result.cost is not None else self.expected(prepared)
        self.spent += cost or 0.0

    def shown(self, next_run: float | None = None) -> dict[str, Any]:
        """The ``spend`` trait: numbers and the sentence the browser shows ("spent 0.42 of 5.00"); empty text unpriced."""
        if self.pricing is None:
            text = ""
        elif self.budget is None:
            text = f"spent {self.spent:.2f}"
        else:
            text = f"spent {self.spent:.2f} of {self.budget:.2f}"
        if text and next_run is not None:
            text += f" \u00b7 this run about {next_run:.2f}"
        return {"spent": self.spent, "budget": self.budget, "left": self.left, "next_run": next_run, "text": text}


def settings_request(endpoint: str, wire: dict[str, Any], sources: Sequence[EncodedImage]) -> PreparedRequest:
    """The request the settings make, for pricing only: built from what is already converted, never checked or sent."""
    return PreparedRequest(endpoint, dict(wire), sources=list(sources))  # type: ignore[arg-type]
