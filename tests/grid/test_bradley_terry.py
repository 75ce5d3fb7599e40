"""Bradley-Terry scores of a grid's blind ratings: known strengths recovered, honest intervals, and the ratings still needed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from anyfast_widget import ValidationError, compare, replace
from anyfast_widget.grid._bradley_terry import fit

# Known log-strengths of four settings, centred (the scores are relative: an average setting scores 0).
TRUTH = {"fox": 1.2, "owl": 0.4, "hare": -0.4, "wolf": -1.2}


@pytest.fixture
def animals(anyfast_simulator, run_dir):
    """One done cell per animal: the grid the ratings are given to."""
    sim = anyfast_simulator
    cols = replace("fox", list(TRUTH))
    return compare("a fox", cols=cols, api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, progress=False)


def _beats(strength_a: float, strength_b: float) -> float:
    return 1.0 / (1.0 + math.exp(strength_b - strength_a))


def rate_by_truth(grid, truth: dict[str, float], count: int, rng: np.random.Generator) -> None:
    """Give ``count`` blind ratings of random pairs of cells, each won as the known strengths say."""
    cells = grid.cells
    for _ in range(count):
        i, j = rng.choice(len(cells), size=2, replace=False)
        a, b = cells[i], cells[j]
        won = rng.random() < _beats(truth[a.labels[2]], truth[b.labels[2]])
        grid.rate(a.results[0], b.results[0], "a" if won else "b")


def _by_label(rows):
    return {row["label"]: row for row in rows}


def test_scores_recover_the_order_of_known_strengths_and_cover_them(animals):
    rate_by_truth(animals, TRUTH, 400, np.random.default_rng(7))
    rows = animals.scores(0.99)
    assert [row["label"] for row in rows] == ["fox", "owl", "hare", "wolf"]  # best first
    assert {row["axis"] for row in rows} == {"column"} and all(row["comparisons"] > 150 for row in rows)
    for row in rows:
        assert row["ci_low"] < TRUTH[row["label"]] < row["ci_high"], row
        assert row["win_probability"] == pytest.approx(1 / (1 + math.exp(-row["score"])))
    assert sum(row["score"] for row in rows) == pytest.approx(0, abs=1e-9)


def test_more_ratings_narrow_the_intervals(animals):
    rng = np.random.default_rng(11)
    rate_by_truth(animals, TRUTH, 50, rng)
    before = {label: row["ci_high"] - row["ci_low"] for label, row in _by_label(animals.scores()).items()}
    rate_by_truth(animals, TRUTH, 350, rng)  # 8 times the ratings: intervals about sqrt(8) = 2.8 times narrower
    after = {label: row["ci_high"] - row["ci_low"] for label, row in _by_label(animals.scores()).items()}
    assert all(after[label] < before[label] / 2 for label in TRUTH), (before, after)


def test_a_lower_level_gives_narrower_intervals_around_the_same_scores(animals):
    rate_by_truth(animals, TRUTH, 100, np.random.default_rng(3))
    wide, narrow = _by_label(animals.scores(0.99)), _by_label(animals.scores(0.5))
    for label in TRUTH:
        assert wide[label]["score"] == narrow[label]["score"]
        assert wide[label]["ci_low"] < narrow[label]["ci_low"] < narrow[label]["ci_high"] < wide[label]["ci_high"]


def rate_in_proportion(grid, truth: dict[str, float], per_pair: int = 10) -> None:
    """Rate every pair of cells ``per_pair`` times, each winning as often as the known strengths say (rounded)."""
    cells = grid.cells
    for i, a in enumerate(cells):
        for b in cells[i + 1 :]:
            wins = round(per_pair * _beats(truth[a.labels[2]], truth[b.labels[2]]))
            for k in range(per_pair):
                left, right = (a, b) if k % 2 else (b, a)  # each shown on either side as often
                winner_is_a = k < wins
                grid.rate(left.results[0], right.results[0], "a" if (left is a) == winner_is_a else "b")


def test_the_separation_estimate_counts_down_as_ratings_like_these_come_in(animals):
    close = {"fox": 0.9, "owl": 0.3, "hare": -0.3, "wolf": -0.9}  # the top two are near each other
    rate_in_proportion(animals, close)  # 60 ratings, whose strengths more of the same will not change
    (first,) = animals.separation()
    assert (first["first"], first["second"], first["ratings"]) == ("fox", "owl", 60)
    assert not first["separated"] and first["more_ratings"] > 120
    assert f"about {first['more_ratings']} more ratings would separate 'fox' and 'owl' at 95%" in first["summary"]
    for _ in range(2):
        rate_in_proportion(animals, close)
    (later,) = animals.separation()
    assert later["ratings"] == 180
    assert later["more_ratings"] == pytest.approx(first["more_ratings"] - 120, abs=0.1 * first["more_ratings"])
    for _ in range(math.ceil(later["more_ratings"] / 60)):
        rate_in_proportion(animals, close)
    (done,) = animals.separation()
    assert done["separated"] and done["more_ratings"] == 0 and "already apart" in done["summary"]
    fox, owl = _by_label(animals.scores())["fox"], _by_label(animals.scores())["owl"]
    assert fox["ci_low"] > owl["ci_high"]  # what "apart" means: the intervals no longer overlap


def test_settings_rated_only_as_ties_score_the_same_and_never_separate(animals):
    fox, owl = animals.cell(0, 0).results[0], animals.cell(0, 1).results[0]
    for _ in range(10):
        animals.rate(fox, owl, "tie")
    rows = _by_label(animals.scores())
    assert rows["fox"]["score"] == pytest.approx(0, abs=1e-9) == rows["owl"]["score"]
    (verdict,) = animals.separation()
    assert verdict["more_ratings"] is None and "equally strong" in verdict["summary"]


def test_a_tie_counts_half_a_win(animals):
    fox, owl = animals.cell(0, 0).results[0], animals.cell(0, 1).results[0]
    for winner in ("a", "a", "a", "tie", "tie"):  # fox: 3 wins and 2 ties of 5, a win rate of 0.8
        animals.rate(fox, owl, winner)
    rows = _by_label(animals.scores())
    gap = rows["fox"]["score"] - rows["owl"]["score"]
    # Without the prior the gap is the log-odds of the win rate, log(0.8 / 0.2); the weak prior pulls it in a little.
    assert 0.8 * math.log(4) < gap < math.log(4)


def test_a_setting_that_never_lost_stays_finite(animals):
    fox, owl = animals.cell(0, 0).results[0], animals.cell(0, 1).results[0]
    for _ in range(5):
        animals.rate(fox, owl, "a")
    rows = _by_label(animals.scores())
    assert rows["fox"]["score"] > rows["owl"]["score"]
    assert all(math.isfinite(rows[label][key]) for label in ("fox", "owl") for key in ("score", "ci_low", "ci_high"))
    assert rows["fox"]["win_probability"] < 1


def test_each_axis_is_scored_on_its_own(anyfast_simulator, run_dir):
    sim = anyfast_simulator
    grid = compare("a fox", rows={"quality": ["low", "high"]}, cols=replace("fox", ["fox", "owl"]),
                   api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, progress=False)  # fmt: skip
    for low in (grid.cell(0, 0), grid.cell(0, 1)):
        for high in (grid.cell(1, 0), grid.cell(1, 1)):
            for k in range(4):  # high quality always wins, whichever animal, shown on either side
                left, right = (low, high) if k % 2 else (high, low)
                grid.rate(left.results[0], right.results[0], "b" if left is low else "a")
    rows = {(row["axis"], row["label"]): row for row in grid.scores()}
    assert rows["row", "high"]["ci_low"] > 0 > rows["row", "low"]["ci_high"]
    # The animals won as often as each other (each had the high cell half the time): equal, and not told apart.
    assert rows["column", "fox"]["score"] == pytest.approx(0, abs=1e-9) == rows["column", "owl"]["score"]
    assert rows["column", "fox"]["comparisons"] == 8  # only the ratings where the animals differed
    verdicts = {row["axis"]: row for row in grid.separation()}
    assert verdicts["row"]["separated"] and verdicts["column"]["more_ratings"] is None


def test_without_ratings_there_is_nothing_to_score(animals):
    assert animals.scores() == [] and animals.separation() == []


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.2, "95%", True])
def test_a_level_outside_zero_to_one_is_refused_by_name(animals, level):
    with pytest.raises(ValidationError) as caught:
        animals.scores(level)
    (violation,) = caught.value.violations
    assert violation.field == "level" and violation.rule == "range" and "between 0 and 1" in violation.fix


def test_the_intervals_cover_the_truth_about_as_often_as_they_say():
    # Many seeded tournaments of the four settings: a 90% interval should hold the truth about 90% of the time.
    rng = np.random.default_rng(2026)
    truth = np.array(list(TRUTH.values()))
    covered = total = 0
    for _ in range(300):
        games = []
        for _ in range(150):
            i, j = rng.choice(4, size=2, replace=False)
            games.append((int(i), int(j), float(rng.random() < _beats(truth[i], truth[j]))))
        low, high = fit(4, games).intervals(1.6449)
        covered += int(((low < truth) & (truth < high)).sum())
        total += 4
    assert 0.86 < covered / total < 0.94
