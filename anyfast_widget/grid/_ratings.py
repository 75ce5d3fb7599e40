"""Blind A/B ratings of a grid's results: one rating recorded; win rates and Bradley-Terry scores per setting.

A rating names two results (``a`` is the one shown on the left) and the winner:
``"a"``, ``"b"`` or ``"tie"``. Per row, column and page axis, a rating is a game between
the two cells' labels on each axis where they differ; a tie counts half a win. Win rates
count those games; Bradley-Terry scores (``_bradley_terry``) fit strengths to them, with
intervals, and say how many more ratings would tell the top two settings apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from statistics import NormalDist
from typing import Any

from ..core import ValidationError, Violation
from ..store import ImageResult
from ._bradley_terry import Fit, fit, more_games_to_separate
from ._model import Cell

WINNERS = ("a", "b", "tie")
_AXES = (("page", 0), ("row", 1), ("column", 2))  # role, and where its label is in Cell.labels
_SCORE_OF_A = {"a": 1.0, "b": 0.0, "tie": 0.5}

Game = tuple[str, str, float]  # label of a, label of b, what a scored (1 won, 0 lost, 0.5 tie)


def new_rating(a: ImageResult | str, b: ImageResult | str, winner: str) -> dict[str, Any]:
    """A rating as stored: the two results' ids, the winner, and when."""
    if winner not in WINNERS:
        raise ValueError(f"winner is 'a', 'b' or 'tie', not {winner!r}")
    ids = [r.id if isinstance(r, ImageResult) else str(r) for r in (a, b)]
    return {"a": ids[0], "b": ids[1], "winner": winner, "at": time.time()}


def games(cells: Iterable[Cell], ratings: Iterable[dict[str, Any]]) -> dict[str, list[Game]]:
    """Per axis role (page, row, column): one game per rating whose two cells differ on that axis.

    Ratings of results that are not in ``cells`` are left out.
    """
    where: dict[str, Cell] = {result.id: cell for cell in cells for result in cell.results}
    out: dict[str, list[Game]] = {}
    for rated in ratings:
        a, b = where.get(rated["a"]), where.get(rated["b"])
        if a is None or b is None:
            continue
        for role, index in _AXES:
            if a.labels[index] != b.labels[index]:  # an axis that did not differ says nothing about its labels
                out.setdefault(role, []).append((a.labels[index], b.labels[index], _SCORE_OF_A[rated["winner"]]))
    return out


def tally(cells: Iterable[Cell], ratings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per row, column and page label: comparisons, wins, ties and win rate (ties count half)."""
    counts: dict[tuple[str, str], dict[str, float]] = {}
    for role, played in games(cells, ratings).items():
        for label_a, label_b, score in played:
            for label, got in ((label_a, score), (label_b, 1.0 - score)):
                entry = counts.setdefault((role, label), {"comparisons": 0, "wins": 0, "ties": 0})
                entry["comparisons"] += 1
                entry["wins"] += got == 1.0
                entry["ties"] += got == 0.5
    return [
        {"axis": role, "label": label, **entry, "win_rate": (entry["wins"] + entry["ties"] / 2) / entry["comparisons"]}
        for (role, label), entry in sorted(counts.items())
    ]


def by_result(ratings: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Result id -> its wins, losses and ties in ``ratings``."""
    out: dict[str, dict[str, int]] = {}
    for rated in ratings:
        for side in ("a", "b"):
            entry = out.setdefault(rated[side], {"wins": 0, "losses": 0, "ties": 0})
            key = "ties" if rated["winner"] == "tie" else "wins" if rated["winner"] == side else "losses"
            entry[key] += 1
    return out


def scores(cells: Iterable[Cell], ratings: Iterable[dict[str, Any]], level: float = 0.95) -> list[dict[str, Any]]:
    """Per axis, best first: each rated label's Bradley-Terry score and its interval at ``level``.

    ``score`` is the log-strength (the log-odds of beating an average setting of the axis, which
    scores 0), ``ci_low``/``ci_high`` its interval, ``win_probability`` the chance of beating an
    average setting, ``comparisons`` the games it played. Raises ValidationError for a ``level``
    outside (0, 1).
    """
    z = _z(level)
    out = []
    for role, labels, result, played in _fits(cells, ratings):
        low, high = result.intervals(z)
        for i in sorted(range(len(labels)), key=lambda i: -result.scores[i]):
            out.append({
                "axis": role,
                "label": labels[i],
                "score": float(result.scores[i]),
                "ci_low": float(low[i]),
                "ci_high": float(high[i]),
                "win_probability": 1.0 / (1.0 + math.exp(-float(result.scores[i]))),
                "comparisons": played[i],
            })  # fmt: skip
    return out


def separation(cells: Iterable[Cell], ratings: Iterable[dict[str, Any]], level: float = 0.95) -> list[dict[str, Any]]:
    """Per rated axis: the top two labels, and how many more ratings would separate their intervals.

    ``more_ratings`` is 0 when the intervals at ``level`` already do not overlap, and None when
    no number of ratings like these would (the two look equally strong); it assumes the fitted
    strengths hold and new ratings are spread over the labels like the ones so far. ``summary``
    says it in a sentence.
    """
    z = _z(level)
    out = []
    for role, labels, result, _ in _fits(cells, ratings):  # a game is between two labels: every fit has two or more
        first, second = sorted(range(len(labels)), key=lambda i: -result.scores[i])[:2]
        more = more_games_to_separate(result, first, second, z)
        pair, at = f"{labels[first]!r} and {labels[second]!r}", f"{level * 100:g}%"
        if more == 0:
            summary = f"{role}: {pair} are already apart at {at} ({result.games} ratings)."
        elif more is None:
            summary = f"{role}: {pair} look equally strong: not even ten million more ratings like these would separate them."
        else:
            summary = f"{role}: about {more} more ratings would separate {pair} at {at} ({result.games} so far)."
        out.append({
            "axis": role, "first": labels[first], "second": labels[second], "ratings": result.games,
            "separated": more == 0, "more_ratings": more, "summary": summary,
        })  # fmt: skip
    return out


def _fits(cells: Iterable[Cell], ratings: Iterable[dict[str, Any]]) -> list[tuple[str, list[str], Fit, list[int]]]:
    """Per axis role with games, in page, row, column order: its labels, their fit, and the games each played."""
    played_by_role = games(cells, ratings)
    out = []
    for role, _ in _AXES:
        played = played_by_role.get(role)
        if not played:
            continue
        labels = sorted({label for game in played for label in game[:2]})
        index = {label: i for i, label in enumerate(labels)}
        numbered = [(index[a], index[b], score) for a, b, score in played]
        counts = [0] * len(labels)
        for i, j, _ in numbered:
            counts[i] += 1
            counts[j] += 1
        out.append((role, labels, fit(len(labels), numbered), counts))
    return out


def _z(level: float) -> float:
    """The normal quantile for a two-sided interval at ``level``; a ValidationError naming ``level`` outside (0, 1)."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        fix = "use a confidence level between 0 and 1, such as 0.95."
        raise ValidationError([Violation("level", "range", f"level={level!r} is not between 0 and 1.", fix)])
    return NormalDist().inv_cdf(0.5 + level / 2)
