"""A studio session's spend and budget, against the stand-in over real HTTP: shown, counted, and a run over it refused."""

from __future__ import annotations

import pytest

from anyfast_widget import Client, ImageStudio, TokenPrices, ValidationError

from ..conftest import gradient

PRICES = {"low": 0.10, "medium": 0.40, "high": 1.70, "edits": 0.50}


@pytest.fixture
def make_studio(anyfast_simulator, run_dir):
    made = []

    def make(**options):
        studio = ImageStudio(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, **options)
        made.append(studio)
        return studio

    yield make
    for studio in made:
        studio.close()


def test_the_studio_shows_the_sessions_spend(make_studio):
    studio = make_studio(prompt="a fox", quality="low", prices=PRICES, budget=5.0)
    assert studio.spend["text"] == "spent 0.00 of 5.00 \u00b7 this run about 0.10"
    studio.variants = 3
    studio.run()
    assert studio.spent == pytest.approx(0.30)
    assert studio.spend["text"] == "spent 0.30 of 5.00 \u00b7 this run about 0.30"
    assert studio.spend["left"] == pytest.approx(4.70)
    assert all(r.cost == 0.10 for r in studio.results)


def test_a_run_that_would_cost_more_than_is_left_is_refused_before_sending(make_studio, anyfast_simulator):
    studio = make_studio(prompt="a fox", quality="high", prices=PRICES, budget=2.0)
    studio.run()  # 1.70: fits
    assert anyfast_simulator.request_count() == 1
    # 0.30 is left: another high one does not fit, and the widget says so before anything is sent.
    assert studio.run_blocked.startswith("budget: this run would cost about 1.70")
    (violation,) = [v for v in studio.violations if v["field"] == "budget"]
    assert "0.30 of the 2.00 budget is left" in violation["message"] and "lower quality" in violation["fix"]
    with pytest.raises(ValidationError) as caught:
        studio.run()
    assert caught.value.field == "budget"
    assert anyfast_simulator.request_count() == 1
    assert studio.notice["kind"] == "error" and "budget" in studio.notice["message"]


def test_a_cheaper_setting_fits_again(make_studio):
    studio = make_studio(prompt="a fox", quality="high", prices=PRICES, budget=2.0)
    studio.run()
    studio.params = {**studio.params, "quality": "low"}  # 0.10 fits in the 0.30 left
    assert studio.run_blocked == "" and not [v for v in studio.violations if v["field"] == "budget"]
    studio.variants = 4  # 0.40 does not
    assert "4 x 0.10" in studio.run_blocked


def test_edits_are_measured_by_the_edits_price(make_studio):
    studio = make_studio(prompt="make it night", sources=[gradient()], prices=PRICES, budget=0.9)
    assert studio.spend["next_run"] == 0.50 and studio.run_blocked == ""
    studio.variants = 2
    assert "2 x 0.50" in studio.run_blocked


def test_token_prices_count_what_the_answer_reports(make_studio):
    studio = make_studio(prompt="a fox", quality="low", token_prices=TokenPrices(text_input=5.0, image_input=10.0, output=40.0))
    (result,) = studio.run()
    assert result.cost_source == "usage"
    assert studio.spent == pytest.approx((2 * 5.0 + 272 * 40.0) / 1e6)
    assert studio.spend["text"].startswith("spent 0.01") and studio.spend["budget"] is None


def test_the_history_it_started_with_does_not_count(make_studio, anyfast_simulator, run_dir):
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, prices=PRICES) as c:
        c.generate("an earlier fox", quality="high")
    studio = make_studio(prompt="a fox", quality="low", prices=PRICES, budget=1.0)
    assert len(studio.results) == 1 and studio.spent == 0.0
    assert studio.spend["text"].startswith("spent 0.00 of 1.00")


def test_a_budget_without_prices_is_refused(make_studio):
    with pytest.raises(ValidationError) as caught:
        make_studio(prompt="a fox", budget=1.0)
    assert [(v.field, v.rule) for v in caught.value.violations] == [("budget", "prices")]


def test_without_prices_nothing_is_shown(make_studio):
    studio = make_studio(prompt="a fox")
    assert studio.spend["text"] == "" and studio.run_blocked == ""


def test_a_quality_the_table_has_no_price_for_blocks_the_run(make_studio, anyfast_simulator):
    studio = make_studio(prompt="a fox", quality="high", prices={"low": 0.1})
    assert studio.run_blocked.startswith("prices: the price table has no entry for 'high'")
    with pytest.raises(ValidationError):
        studio.run()
    assert anyfast_simulator.request_count() == 0


def test_a_grid_from_the_studio_is_priced_with_its_prices(make_studio):
    studio = make_studio(prompt="a fox", prices=PRICES, budget=5.0)
    grid = studio.compare(cols={"quality": ["low", "high"]}, budget=0.5, progress=False)
    assert [c.cost for c in grid.cells] == [0.10, 1.70]
    assert [c.status for c in grid.cells] == ["done", "over_budget"]  # the grid's own budget: 1.70 does not fit in 0.40
    assert [r.cost for r in grid.cell(0, 0).results] == [0.10]
