"""A grid's budget, against the stand-in over real HTTP: planned, never overrun, and what was left unsent said."""

from __future__ import annotations

import asyncio

import pytest

from anyfast_widget import AsyncClient, RetryPolicy, TokenPrices, ValidationError, compare, prompts

PRICES = {"low": 0.01, "medium": 0.04, "high": 0.17}
GPT_IMAGE_1 = TokenPrices(text_input=5.0, image_input=10.0, output=40.0)
LOW_FOX = (2 * 5.0 + 272 * 40.0) / 1e6  # "a fox" at low quality: 2 text tokens, 272 output tokens


@pytest.fixture
def grid_kwargs(anyfast_simulator, run_dir):
    return {"api_key": anyfast_simulator.api_key, "base_url": anyfast_simulator.base_url, "run_dir": run_dir, "progress": False}


def test_a_budget_without_prices_is_refused_before_anything_is_sent(grid_kwargs, anyfast_simulator):
    with pytest.raises(ValidationError) as caught:
        compare("a fox", cols={"quality": ["low", "high"]}, budget=1.0, **grid_kwargs)
    (violation,) = caught.value.violations
    assert (violation.field, violation.rule) == ("budget", "prices") and "token_prices" in violation.fix
    assert anyfast_simulator.request_count() == 0


@pytest.mark.parametrize("budget", [-1, float("nan"), float("inf"), "5", True])
def test_a_budget_must_be_an_amount(grid_kwargs, budget):
    with pytest.raises(ValidationError) as caught:
        compare("a fox", prices=PRICES, budget=budget, run=False, **grid_kwargs)
    assert [(v.field, v.rule) for v in caught.value.violations] == [("budget", "range")]


def test_the_plan_says_how_many_requests_fit_and_what_is_left_unsent(grid_kwargs, anyfast_simulator):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=3, prices=PRICES, budget=0.40, run=False, **grid_kwargs)
    plan = grid.plan()
    # 3 x 0.01 + 2 x 0.17 = 0.37 fits in 0.40; the third high one would take it to 0.54.
    assert (plan.to_send, plan.fit, plan.left_unsent, plan.budget, plan.budget_left) == (6, 5, 1, 0.40, 0.40)
    assert "budget 0.40, 0.40 left: 5 fit, 1 left unsent" in str(plan)
    assert anyfast_simulator.request_count() == 0


def test_a_run_stops_before_a_request_would_take_it_over_the_budget(grid_kwargs, anyfast_simulator):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=3, prices=PRICES, budget=0.40, **grid_kwargs)
    assert anyfast_simulator.request_count() == 5
    assert [s.status for s in grid.cell(0, 1).slots] == ["done", "done", "over_budget"]
    assert grid.cell(0, 1).status == "over_budget"
    assert grid.budget.spent == pytest.approx(0.37) and grid.budget.reserved == 0
    assert "5 done, 1 over_budget; spent 0.37 of 0.40" in repr(grid)
    plan = grid.plan()
    assert (plan.to_send, plan.fit, plan.left_unsent) == (1, 0, 1)
    grid.run()  # nothing more fits: nothing more is sent
    assert anyfast_simulator.request_count() == 5


def test_many_requests_at_once_never_overrun_the_budget(grid_kwargs, anyfast_simulator):
    anyfast_simulator.configure(latency=0.2)  # all of them in flight together
    grid = compare("a fox", rows=prompts([f"a fox no. {i}" for i in range(12)]), quality="low", prices=PRICES,
                   budget=0.05, concurrency=12, **grid_kwargs)
    assert anyfast_simulator.request_count() == 5
    states = sorted(s.status for _, s in grid.slots())
    assert states == ["done"] * 5 + ["over_budget"] * 7


def test_the_budget_is_settled_with_what_each_result_cost(grid_kwargs, anyfast_simulator):
    grid = compare("a fox", quality="low", repeats=3, token_prices=GPT_IMAGE_1, budget=2.5 * LOW_FOX, **grid_kwargs)
    results = grid.cell().results
    assert len(results) == 2 and all(r.cost_source == "usage" for r in results)
    assert grid.budget.spent == pytest.approx(sum(r.cost for r in results)) == pytest.approx(2 * LOW_FOX)
    assert [s.status for s in grid.cell().slots] == ["done", "done", "over_budget"]


def test_the_grids_results_already_stored_count_so_a_resumed_run_gets_no_fresh_budget(grid_kwargs, anyfast_simulator):
    compare("a fox", cols={"quality": ["low", "high"]}, prices=PRICES, **grid_kwargs)  # 0.18 paid by an earlier run
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=2, prices=PRICES, budget=0.2, run=False, **grid_kwargs)
    assert grid.budget.spent == pytest.approx(0.18)
    plan = grid.plan()
    assert (plan.cached, plan.to_send, plan.fit, plan.left_unsent) == (2, 2, 1, 1)  # only the 0.01 fits in what is left
    grid.run()
    assert anyfast_simulator.request_count() == 3
    assert grid.budget.spent == pytest.approx(0.19)
    assert sorted(s.status for _, s in grid.slots()) == ["cached", "cached", "done", "over_budget"]
    # A bigger budget for the same grid sends only what is missing.
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=2, prices=PRICES, budget=0.4, **grid_kwargs)
    assert anyfast_simulator.request_count() == 4
    assert grid.budget.spent == pytest.approx(0.36)


def test_a_request_the_api_refused_gives_its_reservation_back(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next(500)

    async def main():
        async with AsyncClient(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir,
                               retry=RetryPolicy(max_retries=0), prices=PRICES) as client:
            # The grid prices its cells with the client's prices when it is given none.
            grid = compare("a fox", quality="low", repeats=3, budget=0.02, concurrency=1, client=client, run=False,
                           progress=False)
            await grid.run()
            return grid

    grid = asyncio.run(main())
    assert [s.status for s in grid.cell().slots] == ["error", "done", "done"]
    assert anyfast_simulator.request_count() == 3
    assert grid.budget.spent == pytest.approx(0.02)


def test_a_grid_without_a_budget_sends_everything(grid_kwargs, anyfast_simulator):
    grid = compare("a fox", quality="low", repeats=3, prices=PRICES, **grid_kwargs)
    assert grid.budget is None and "spent" not in repr(grid)
    assert anyfast_simulator.request_count() == 3
