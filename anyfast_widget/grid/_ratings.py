"""Blind A/B ratings of a grid's results: one rating recorded, and win rates per row, column and page label.

A rating names two results (``a`` is the one shown on the left) and the winner:
``"a"``, ``"b"`` or ``"tie"``. A win rate credits each label of an axis on which
the two compared cells differ; a tie counts half a win.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..store import ImageResult
from ._model import Cell

WINNERS = ("a", "b", "tie")
_AXES = (("page", 0), ("row", 1), ("column", 2))  # role, and where its label is in Cell.labels


def new_rating(a: ImageResult | str, b: ImageResult | str, winner: str) -> dict[str, Any]:
    """A rating as stored: the two results' ids, the winner, and when."""
    if winner not in WINNERS:
        raise ValueError(f"winner is 'a', 'b' or 'tie', not {winner!r}")
    ids = [r.id if isinstance(r, ImageResult) else str(r) for r in (a, b)]
    return {"a": ids[0], "b": ids[1], "winner": winner, "at": time.time()}


def tally(cells: Iterable[Cell], ratings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per row, column and page label: comparisons, wins, ties and win rate (ties count half).

    Ratings of results that are not in ``cells`` are left out.
    """
    where: dict[str, Cell] = {result.id: cell for cell in cells for result in cell.results}
    tally: dict[tuple[str, str], dict[str, float]] = {}
    for rated in ratings:
        a, b = where.get(rated["a"]), where.get(rated["b"])
        if a is None or b is None:
            continue
        for role, index in _AXES:
            if a.labels[index] == b.labels[index]:
                continue  # this axis did not differ in the comparison
            for cell, won in ((a, rated["winner"] == "a"), (b, rated["winner"] == "b")):
                entry = tally.setdefault((role, cell.labels[index]), {"comparisons": 0, "wins": 0, "ties": 0})
                entry["comparisons"] += 1
                entry["wins"] += won
                entry["ties"] += rated["winner"] == "tie"
    return [
        {"axis": role, "label": label, **entry, "win_rate": (entry["wins"] + entry["ties"] / 2) / entry["comparisons"]}
        for (role, label), entry in sorted(tally.items())
    ]
