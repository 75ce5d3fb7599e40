"""A big grid's widget, from Python: a window of cells in view, every result listed compactly, updates that do not grow.

The browser side (the pager, the pictures held) is tested in
tests/browser/test_grid_scale_browser.py; here the browser's updates are delivered
the way ipywidgets delivers them (``set_state``) and the traits are read back.
"""

from __future__ import annotations

import json

import pytest

from anyfast_widget import compare, prompts, replace

WORDS = [f"w{i}" for i in range(32)]


@pytest.fixture
def grid_kwargs(anyfast_simulator, run_dir):
    return {"api_key": anyfast_simulator.api_key, "base_url": anyfast_simulator.base_url, "run_dir": run_dir, "progress": False}


def square(n: int, grid_kwargs, **options):
    """An n x n grid not yet run: rows are n prompts, columns n words replacing "fox"."""
    return compare(
        rows=prompts([f"a fox number {i}" for i in range(n)], labels=[f"p{i}" for i in range(n)]),
        cols=replace("fox", WORDS[:n]),
        run=False,
        **grid_kwargs,
        **options,
    )


def places(view) -> list[tuple[int, int, int]]:
    return [(c["page"], c["row"], c["col"]) for c in view.cells]


def test_a_1024_cell_grid_describes_the_8_by_8_cells_in_view(grid_kwargs):
    view = square(32, grid_kwargs).view
    assert view.shape == [1, 32, 32] and view.window == [0, 0] and view.window_shape == [8, 8]
    assert places(view) == [(0, r, c) for r in range(8) for c in range(8)]
    assert [c["index"] for c in view.cells[:9]] == [0, 1, 2, 3, 4, 5, 6, 7, 32]  # the grid's own indices
    assert view.cells[9]["labels"] == ["", "p1", "w1"] and {c["status"] for c in view.cells} == {"pending"}
    assert view.plan["requests"] == 1024 and view.results == []


def test_a_window_from_the_browser_gets_its_cells_at_once(grid_kwargs):
    view = square(32, grid_kwargs).view
    view.set_state({"window": [8, 24]})  # what ipywidgets does with the browser's update
    assert view.notice == {} and view.window == [8, 24]
    assert places(view) == [(0, r, c) for r in range(8, 16) for c in range(24, 32)]
    assert view.cells[0]["labels"] == ["", "p8", "w24"]


def test_a_window_past_the_edge_holds_what_is_left(grid_kwargs):
    view = square(12, grid_kwargs).view
    view.window = [8, 8]
    assert places(view) == [(0, r, c) for r in range(8, 12) for c in range(8, 12)]


def test_a_refused_window_changes_nothing(grid_kwargs):
    view = square(32, grid_kwargs).view
    before = list(view.cells)
    view.set_state({"window": [32, 0]})
    assert view.window == [0, 0] and view.cells == before
    assert view.notice["kind"] == "error" and view.notice["message"].startswith("window[0]: 32 is outside 0..31")


def test_repeats_narrow_the_window_to_8_pictures_a_row(grid_kwargs):
    view = square(12, grid_kwargs, repeats=2).view
    assert view.window_shape == [8, 4] and len(view.cells) == 32


def test_a_grid_that_fits_is_all_in_view(grid_kwargs):
    view = square(3, grid_kwargs, repeats=2).view
    assert view.window_shape == [3, 3] and len(view.cells) == 9


def test_an_update_of_a_1024_cell_grid_carries_no_more_than_one_of_64(grid_kwargs):
    small, big = square(8, grid_kwargs).view, square(32, grid_kwargs).view
    sizes = [len(json.dumps(v.cells)) for v in (small, big)]
    assert len(big.cells) == len(small.cells) == 64
    assert sizes[1] <= sizes[0] * 1.1, sizes  # only the labels' lengths differ


def test_every_result_is_listed_in_view_or_not(grid_kwargs):
    grid = compare(
        rows=prompts([f"a fox number {i}" for i in range(9)]), cols=replace("fox", ["fox", "owl"]), **grid_kwargs
    )
    view = grid.view
    assert view.window_shape == [8, 2] and len(view.cells) == 16  # row 8 is out of view
    expected = [[grid.cells[i].slots[0].result.id, i, 0] for i in range(18)]
    assert view.results == expected
    assert len(view.measures) == 18
    out_of_view = grid.cell(8, 1).results[0].id
    assert out_of_view not in {s["result_id"] for c in view.cells for s in c["slots"]}
    assert view.thumbnail(out_of_view, 128)[1] == "image/jpeg"  # the A/B and rating panels may still ask for it


def test_another_page_brings_its_window(grid_kwargs):
    grid = compare(
        rows=prompts([f"a fox number {i}" for i in range(10)]),
        cols=replace("fox", WORDS[:10]),
        pages={"quality": ["low", "high"]},
        run=False,
        **grid_kwargs,
    )
    view = grid.view
    view.window = [8, 8]
    view.set_state({"page": 1})
    assert view.page == 1 and places(view) == [(1, r, c) for r in (8, 9) for c in (8, 9)]


def test_a_big_grids_static_copy_shows_its_first_window_and_says_so(grid_kwargs):
    grid = square(32, grid_kwargs)
    html = grid.view._repr_mimebundle_()
    html = (html[0] if isinstance(html, tuple) else html)["text/html"]
    assert html.count(">pending<") == 64 and "The first 8 rows and 8 columns of 32 x 32" in html
    assert ">w7<" in html and ">w8<" not in html and len(html.encode()) < 60_000
