"""Bradley-Terry strengths with uncertainty: a fit of paired comparisons, its intervals, and the ratings still needed.

The model: setting ``i`` beats setting ``j`` with probability ``1 / (1 + exp(θj - θi))``; a tie
counts half a win for each side. The fit maximises the log-likelihood plus a small Gaussian
prior on every θ (a ridge of ``prior``, the prior's variance being ``1 / prior``) by Newton's
method: the prior keeps a setting that never lost finite and makes the answer unique, and at
the optimum the θ sum to zero, so a score is the log-odds of beating an average setting.
Intervals are Wald intervals from the information (the data's, at the fit, plus the prior's):
the Laplace approximation of the posterior. Pure numpy; nothing here knows about grids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PRIOR = 0.1  # ridge on each log-strength: a prior s.d. of about 3.2, weak next to a handful of ratings
_MOST_RATINGS = 10_000_000  # a separation needing more than this is reported as out of reach


@dataclass(frozen=True)
class Fit:
    """Fitted log-strengths (mean 0), their covariance, and the data's information matrix at the fit."""

    scores: np.ndarray
    covariance: np.ndarray
    information: np.ndarray  # of the games alone; the prior's ``prior * I`` is added to it for the covariance
    games: int
    prior: float

    @property
    def standard_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))

    def intervals(self, z: float) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) per setting: score -/+ ``z`` standard errors."""
        return self.scores - z * self.standard_errors, self.scores + z * self.standard_errors

    def covariance_after(self, more: float) -> np.ndarray:
        """The covariance after ``more`` further games spread over the pairs like these ones, the strengths unchanged."""
        scale = 1.0 + more / self.games if self.games else 1.0
        return _centred_inverse(self.information * scale, self.prior)


def fit(k: int, games: Sequence[tuple[int, int, float]], prior: float = PRIOR) -> Fit:
    """Fit ``k`` settings' log-strengths to ``games``: ``(i, j, s)`` with ``s`` what ``i`` scored (1 won, 0 lost, 0.5 tie)."""
    won = np.zeros((k, k))
    played = np.zeros((k, k))
    for i, j, s in games:
        won[i, j] += s
        won[j, i] += 1.0 - s
        played[i, j] += 1.0
        played[j, i] += 1.0
    theta = np.zeros(k)
    objective = _log_posterior(theta, won, prior)
    for _ in range(100):
        p = _beats(theta)
        gradient = (won - played * p).sum(axis=1) - prior * theta
        step = np.linalg.solve(_information(p, played) + prior * np.eye(k), gradient)
        size = 1.0
        while True:  # backtracking: Newton on a concave function, kept from overshooting on lopsided data
            trial = theta + size * step
            value = _log_posterior(trial, won, prior)
            if value >= objective - 1e-12 or size < 1e-6:
                break
            size /= 2
        theta, objective = trial, value
        if np.max(np.abs(size * step), initial=0.0) < 1e-10:
            break
    information = _information(_beats(theta), played)
    return Fit(theta - theta.mean(), _centred_inverse(information, prior), information, len(games), prior)


def more_games_to_separate(result: Fit, first: int, second: int, z: float) -> int | None:
    """How many more games (spread like these) until the intervals of ``first`` and ``second`` stop overlapping.

    0 when they already do not overlap; None when the two strengths are equal, or it would take
    more than ten million games. The strengths are assumed to stay as fitted.
    """
    gap = abs(result.scores[first] - result.scores[second])

    def apart(more: float) -> bool:
        se = np.sqrt(np.diag(result.covariance_after(more)))
        return bool(gap > z * (se[first] + se[second]))

    if apart(0):
        return 0
    if gap == 0 or not apart(_MOST_RATINGS):
        return None
    low, high = 0, 1
    while not apart(high):
        low, high = high, high * 2
    while high - low > 1:  # the smallest count that separates them: apart(low) is False, apart(high) True
        middle = (low + high) // 2
        low, high = (low, middle) if apart(middle) else (middle, high)
    return high


def _beats(theta: np.ndarray) -> np.ndarray:
    """P(i beats j) for every pair."""
    return 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))


def _information(p: np.ndarray, played: np.ndarray) -> np.ndarray:
    """Minus the Hessian of the log-likelihood: a graph Laplacian weighted by games x p(1-p)."""
    weight = played * p * (1.0 - p)
    return np.diag(weight.sum(axis=1)) - weight


def _log_posterior(theta: np.ndarray, won: np.ndarray, prior: float) -> float:
    p = np.clip(_beats(theta), 1e-300, 1.0)
    return float((won * np.log(p)).sum() - prior / 2 * (theta @ theta))


def _centred_inverse(information: np.ndarray, prior: float) -> np.ndarray:
    """The covariance of the centred log-strengths: the scores are relative, so the common shift is projected out."""
    k = len(information)
    centre = np.eye(k) - np.full((k, k), 1.0 / k)
    return centre @ np.linalg.inv(information + prior * np.eye(k)) @ centre
