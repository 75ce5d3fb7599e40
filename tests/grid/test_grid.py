"""Comparison grids against the stand-in server: expansion, checks, concurrency, resume, blocked cells, records."""

from __future__ import annotations

import asyncio
import csv
import json

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import (
    AsyncClient,
    ConfirmationRequired,
    RetryPolicy,
    ValidationError,
    axis,
    compare,
    masks,
    prompts,
    replace,
)

from ..conftest import gradient


@pytest.fixture
def grid_kwargs(anyfast_simulator, run_dir):
    return {
        "api_key": anyfast_simulator.api_key,
        "base_url": anyfast_simulator.base_url,
        "run_dir": run_dir,
        "progress": False,
    }


def test_axes_expand_into_labelled_cells(grid_kwargs, anyfast_simulator):
    grid = compare(
        "a fox in the snow", rows={"quality": ["low", "high"]}, cols=replace("fox", ["fox", "wolf", "owl"]), **grid_kwargs
    )
    assert grid.shape == (1, 2, 3)
    assert grid.cell(1, 2).labels == ("", "high", "owl")
    assert grid.cell(1, 2).prompt == "a owl in the snow"
    assert grid.cell(0, 1).prepared.params["quality"] == "low"
    assert [c.status for c in grid.cells] == ["done"] * 6
    assert anyfast_simulator.request_count() == 6
    records = grid.to_records()
    assert [(r["row"], r["column"]) for r in records][:3] == [("low", "fox"), ("low", "wolf"), ("low", "owl")]
    assert all(r["result_id"] and r["latency_s"] > 0 and r["request_id"] for r in records)


def test_every_cell_is_checked_before_anything_is_sent(grid_kwargs, anyfast_simulator):
    with pytest.raises(ValidationError) as caught:
        compare("a fox", cols={"size": ["1024x1024", "1000x1000", "5000x1000"]}, **grid_kwargs)
    messages = [v.message for v in caught.value.violations]
    assert any(m.startswith("[1000x1000]") for m in messages) and any(m.startswith("[5000x1000]") for m in messages)
    assert anyfast_simulator.request_count() == 0


def test_a_replace_axis_needs_the_word_in_the_prompt(grid_kwargs):
    with pytest.raises(ValidationError, match="'cat' does not occur"):
        compare("a fox", cols=replace("cat", ["dog"]), **grid_kwargs)


def test_edit_only_fields_are_checked_per_endpoint(grid_kwargs):
    with pytest.raises(ValidationError, match="quality"):
        compare("make it night", sources=[gradient(64, 48)], cols={"quality": ["low", "high"]}, **grid_kwargs)


def test_running_the_same_grid_again_sends_nothing(grid_kwargs, anyfast_simulator):
    first = compare("a fox", rows=prompts(["a fox", "a wolf"]), cols={"quality": ["low", "high"]}, repeats=2, **grid_kwargs)
    assert anyfast_simulator.request_count() == 8
    axes = {"rows": prompts(["a fox", "a wolf"]), "cols": {"quality": ["low", "high"]}}
    again = compare("a fox", **axes, repeats=2, run=False, **grid_kwargs)
    plan = again.plan()
    assert (plan.requests, plan.cached, plan.to_send) == (8, 8, 0)
    again.run()
    assert anyfast_simulator.request_count() == 8
    assert {r.id for c in again.cells for r in c.results} == {r.id for c in first.cells for r in c.results}


def test_a_larger_grid_reuses_what_is_there_and_sends_the_rest(grid_kwargs, anyfast_simulator):
    compare("a fox", cols={"quality": ["low", "high"]}, **grid_kwargs)
    bigger = compare("a fox", cols={"quality": ["low", "medium", "high"]}, repeats=2, **grid_kwargs)
    assert anyfast_simulator.request_count() == 2 + 4
    assert all(c.status == "done" and len(c.results) == 2 for c in bigger.cells)


def test_failed_cells_show_their_error_and_retry_alone(anyfast_simulator, run_dir):
    anyfast_simulator.fail_next(500, count=2)  # the first cell's try and its one retry

    async def scenario():
        retry = RetryPolicy(max_retries=1, initial_backoff=0.01)
        sim = anyfast_simulator
        async with AsyncClient(sim.api_key, base_url=sim.base_url, run_dir=run_dir, retry=retry) as client:
            grid = compare("a fox", cols={"quality": ["low", "high"]}, client=client, concurrency=1, progress=False)
            await grid
            assert [c.status for c in grid.cells] == ["error", "done"]
            assert grid.cells[0].slots[0].error.status == 500
            sent = anyfast_simulator.request_count()
            await grid.retry(0, 0)
            assert [c.status for c in grid.cells] == ["done", "done"]
            assert anyfast_simulator.request_count() == sent + 1

    asyncio.run(scenario())


def test_a_moderation_blocked_cell_is_never_sent_again_by_itself(grid_kwargs, anyfast_simulator):
    grid = compare("a fox", cols=prompts(["a fox", "a blockme fox"]), **grid_kwargs)
    assert [c.status for c in grid.cells] == ["done", "blocked"]
    sent = anyfast_simulator.request_count()
    again = compare("a fox", cols=prompts(["a fox", "a blockme fox"]), **grid_kwargs)
    assert [c.status for c in again.cells] == ["done", "blocked"]
    assert again.plan().blocked == 1 and anyfast_simulator.request_count() == sent
    again.retry(0, 1)  # by hand it is sent (and blocked again)
    assert anyfast_simulator.request_count() == sent + 1


def test_over_50_requests_need_confirmation(grid_kwargs, anyfast_simulator):
    with pytest.raises(ConfirmationRequired, match="51 requests"):
        cols = replace("fox", [f"fox{i}" for i in range(17)])
        compare("a fox", rows={"quality": ["low", "medium", "high"]}, cols=cols, **grid_kwargs)
    assert anyfast_simulator.request_count() == 0


def test_the_plan_prices_what_will_be_sent(grid_kwargs):
    prices = {"low": 0.01, "medium": 0.04, "high": 0.17}
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=3, prices=prices, run=False, **grid_kwargs)
    plan = grid.plan()
    assert plan.to_send == 6 and plan.cost_to_send == pytest.approx(3 * 0.01 + 3 * 0.17)
    assert "to send" in str(plan)


def test_concurrency_bounds_the_requests_at_the_api(grid_kwargs, anyfast_simulator):
    # A third request under way at once would be answered 429 (saving a result takes no place: see test_pacing).
    anyfast_simulator.configure(latency=0.3, max_concurrent=2)
    grid = compare("a fox", cols=replace("fox", ["a", "b", "c", "d", "e", "f"]), concurrency=2, **grid_kwargs)
    assert [slot.status for _, slot in grid.slots()] == ["done"] * 6
    assert [r.status for r in anyfast_simulator.api_requests] == [200] * 6
    arrivals = sorted(r.time for r in anyfast_simulator.api_requests)
    assert all(arrivals[i + 1] - arrivals[i] < 0.2 for i in (0, 2, 4))  # two at a time ...
    assert all(arrivals[i + 2] - arrivals[i] >= 0.25 for i in (0, 2))  # ... each pair once the last was answered


def test_an_edit_grid_over_masks_measures_inside_and_outside(grid_kwargs, anyfast_simulator):
    anyfast_simulator.configure(leak=0.4)
    top = np.zeros((1024, 1024), bool)
    top[:300] = True
    left = np.zeros((1024, 1024), bool)
    left[:, :300] = True
    cols = masks([top, left], labels=["top", "left"])
    grid = compare("make it night", sources=[gradient(1024, 1024)], cols=cols, **grid_kwargs)
    records = grid.to_records()
    assert [r["column"] for r in records] == ["top", "left"]
    assert all(r["change_inside"] > 0.5 and 0 < r["change_outside"] < r["change_inside"] for r in records)


def test_repeats_and_their_spread(grid_kwargs):
    grid = compare("a fox", repeats=3, **grid_kwargs)
    cell = grid.cell()
    assert len(cell.results) == 3 and cell.spread() is not None and cell.spread() >= 0


def test_blind_ratings_become_win_rates(grid_kwargs):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, **grid_kwargs)
    low, high = grid.cell(0, 0).results[0], grid.cell(0, 1).results[0]
    grid.rate(low, high, "b")
    grid.rate(high, low, "a")
    grid.rate(low, high, "tie")
    rates = {r["label"]: r["win_rate"] for r in grid.win_rates()}
    assert rates == {"high": pytest.approx(2.5 / 3), "low": pytest.approx(0.5 / 3)}
    assert len(compare("a fox", cols={"quality": ["low", "high"]}, run=False, **grid_kwargs).ratings) == 3  # kept on disk


def test_unknown_axis_fields_are_refused():
    with pytest.raises(ValidationError, match="n"):
        axis("n", [1, 2])


def test_the_studio_compares_from_its_own_settings(anyfast_simulator, run_dir):
    from anyfast_widget import ImageStudio

    sim = anyfast_simulator
    studio = ImageStudio("a fox", api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, size="1536x1024")
    grid = studio.compare(cols={"quality": ["low", "high"]}, progress=False)
    assert [c.prepared.params["size"] for c in grid.cells] == ["1536x1024", "1536x1024"]
    assert grid.store.root == studio.store.root and all(c.status == "done" for c in grid.cells)


# -- export ---------------------------------------------------------------------------


def test_the_contact_sheet_layout_matches_the_grid(grid_kwargs, tmp_path):
    cols = replace("fox", ["fox", "owl", "hare"])
    grid = compare("a fox", rows={"quality": ["low", "high"]}, cols=cols, repeats=2, **grid_kwargs)
    (sheet,) = grid.contact_sheets(cell_size=128)
    assert len(sheet.boxes) == 2 * 3 * 2
    for (page, row, col, repeat), (x0, y0, x1, y1) in sheet.boxes.items():
        expected = grid.cell(row, col, page).slots[repeat].result.image.convert("RGB")
        expected.thumbnail((128, 128))
        shown = np.asarray(sheet.image.crop((x0, y0, x1, y1)), np.float32)
        assert np.abs(shown - np.asarray(expected, np.float32)).mean() < 1.0
    # columns left to right, rows top to bottom, repeats side by side
    assert sheet.boxes[(0, 0, 0, 0)][0] < sheet.boxes[(0, 0, 0, 1)][0] < sheet.boxes[(0, 0, 1, 0)][0]
    assert sheet.boxes[(0, 0, 0, 0)][1] < sheet.boxes[(0, 1, 0, 0)][1]
    (path,) = grid.save_contact_sheets(tmp_path / "sheet.png", cell_size=128)
    assert Image.open(path).size == sheet.image.size


def test_large_grids_split_into_sheets_instead_of_shrinking(grid_kwargs, tmp_path):
    cols = replace("fox", [f"fox {i}" for i in range(8)])
    grid = compare("a fox", cols=cols, pages={"quality": ["low", "high"]}, **grid_kwargs)
    sheets = grid.contact_sheets(cell_size=64, max_cols=6)
    first_six = [0, 1, 2, 3, 4, 5]
    assert [(s.page, list(s.cols)) for s in sheets] == [(0, first_six), (0, [6, 7]), (1, first_six), (1, [6, 7])]
    paths = grid.save_contact_sheets(tmp_path / "sheet.png", cell_size=64, max_cols=6)
    assert [p.name for p in paths] == ["sheet-1.png", "sheet-2.png", "sheet-3.png", "sheet-4.png"]


def test_failed_cells_show_their_state_on_the_sheet(grid_kwargs):
    grid = compare("a fox", cols=prompts(["a fox", "a blockme fox"]), **grid_kwargs)
    (sheet,) = grid.contact_sheets(cell_size=96)
    assert (0, 0, 0, 0) in sheet.boxes and (0, 0, 1, 0) not in sheet.boxes


def test_html_report_is_self_contained_and_names_each_request(grid_kwargs, tmp_path):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, prices={"low": 0.01, "high": 0.17}, **grid_kwargs)
    text = grid.save_html(tmp_path / "report.html").read_text()
    assert text.count("data:image/") == 2 and "http://" not in text and "https://" not in text
    for cell in grid.cells:
        assert cell.results[0].request_id in text
    assert "cost 0.170" in text


def test_json_and_csv_hold_one_record_per_request(grid_kwargs, tmp_path):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, repeats=2, **grid_kwargs)
    data = json.loads(grid.save_json(tmp_path / "grid.json").read_text())
    assert len(data["records"]) == 4 and data["axes"]["cols"]["labels"] == ["low", "high"]
    rows = list(csv.DictReader(grid.save_csv(tmp_path / "grid.csv").open()))
    assert [r["column"] for r in rows] == ["low", "low", "high", "high"] and all(r["result_id"] for r in rows)


def test_outside_a_notebook_a_grid_shows_a_progress_bar(anyfast_simulator, run_dir, capsys):
    sim = anyfast_simulator
    compare("a fox", cols={"quality": ["low", "high"]}, api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir)
    err = capsys.readouterr().err
    assert "grid" in err and "2/2" in err
