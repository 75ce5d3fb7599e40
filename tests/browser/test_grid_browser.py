"""The comparison grid's widget in Chromium inside JupyterLab 4 / Notebook 7, against the stand-in server.

A notebook starts a simulator (1 s per request) and shows a 2 x 3 grid with two
repeats per cell whose middle column is refused by moderation. The page must show
the cells filling in, the blocked cells as blocked, an A/B view with a difference
heatmap for two picked results, blind rating by keyboard, the measures table and
an export download. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SETUP = """\
import tempfile
from anyfast_widget import compare, prompts
from anyfast_widget.simulator import Simulator

sim = Simulator(latency=1.0).start()
run_dir = tempfile.mkdtemp(prefix="grid-browser-")"""

# compare(...) as the last line of a cell: the grid starts as a task and displays as its widget.
GRID = """\
compare(
    "a fox in the snow",
    rows={"quality": ["low", "high"]},
    cols=prompts(["a fox in the snow", "a blockme fox", "an owl in the snow"], labels=["fox", "blocked", "owl"]),
    repeats=2,
    concurrency=2,
    api_key=sim.api_key,
    base_url=sim.base_url,
    run_dir=run_dir,
)"""

KEEP = "grid = _"

LOADED = "(img) => !!img.getAttribute('src') && img.complete && img.naturalWidth > 0"


def cell(root, row: int, col: int):
    return root.locator(f'[data-testid="grid-cell"][data-row="{row}"][data-col="{col}"]')


@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_grid_fills_in_shows_blocked_cells_and_compares_two_results(jupyter_server, open_notebook, ui):
    jupyter_server.write_notebook(f"grid-{ui}.ipynb", [SETUP, GRID, KEEP])
    nb = open_notebook(f"grid-{ui}.ipynb")
    nb.run_all()
    root = nb.wait_for(".anyfast-grid")
    timeout = nb.timeout * 1000

    # Labels, then cells filling in while the grid runs (2 at a time, 1 s each).
    expect(root.get_by_test_id("grid-col-label")).to_have_text(["fox", "blocked", "owl"])
    expect(root.get_by_test_id("grid-row-label")).to_have_text(["low", "high"])
    expect(root.locator('[data-testid="grid-cell"][data-status="running"]').first).to_be_visible(timeout=timeout)
    expect(root.get_by_test_id("grid-cancel")).to_be_visible()
    nb.screenshot("filling-in", selector=".jp-OutputArea-output:has(.anyfast-grid)")

    # Every cell finishes: four with two pictures each, the two blocked ones shown as blocked.
    expect(root.locator('[data-testid="grid-cell"][data-status="done"]')).to_have_count(4, timeout=timeout)
    expect(root.locator('[data-testid="grid-cell"][data-status="blocked"]')).to_have_count(2, timeout=timeout)
    blocked = cell(root, 0, 1)
    expect(blocked.get_by_test_id("grid-cell-status")).to_have_text("blocked by moderation")
    expect(blocked.get_by_test_id("grid-cell-error")).to_contain_text("Blocked by moderation")
    expect(blocked.get_by_test_id("grid-cell-retry")).to_be_enabled(timeout=timeout)
    expect(blocked.get_by_test_id("grid-slot-placeholder")).to_have_count(2)
    thumbs = root.locator('[data-testid="grid-cell"] img[data-thumb-id]')
    expect(thumbs).to_have_count(8)
    for i in range(8):
        nb.page.wait_for_function(LOADED, arg=thumbs.nth(i).element_handle(), timeout=timeout)
    expect(cell(root, 1, 2).get_by_test_id("grid-cell-spread")).to_have_text(re.compile(r"spread \d+\.\d %"), timeout=timeout)
    expect(root.get_by_test_id("grid-plan")).to_contain_text("12 requests")
    expect(root.get_by_test_id("grid-plan")).to_contain_text("4 blocked by moderation")
    expect(root.get_by_test_id("grid-cancel")).to_be_hidden(timeout=timeout)
    nb.screenshot("done", selector=".jp-OutputArea-output:has(.anyfast-grid)")

    # Click a picture: it opens enlarged.
    cell(root, 0, 0).get_by_test_id("grid-thumb").first.click()
    dialog = nb.page.get_by_test_id("grid-enlarged")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("data-state", "full", timeout=timeout)
    expect(dialog.get_by_test_id("grid-enlarged-caption")).to_contain_text("low · fox")
    nb.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Pick two results of different cells: the A/B view opens with Python's difference heatmap.
    ab = root.get_by_test_id("grid-ab")
    expect(ab).to_be_hidden()
    cell(root, 0, 0).get_by_test_id("grid-pick").first.click()
    cell(root, 0, 2).get_by_test_id("grid-pick").first.click()
    expect(ab).to_be_visible()
    expect(ab.get_by_test_id("grid-ab-names")).to_contain_text("low · fox")
    expect(ab.get_by_test_id("grid-ab-names")).to_contain_text("low · owl")
    heatmap = ab.get_by_test_id("grid-ab-heatmap")
    nb.page.wait_for_function(LOADED, arg=heatmap.element_handle(), timeout=timeout)
    expect(ab.get_by_test_id("grid-ab-mean")).to_have_text(re.compile(r"mean absolute difference \d+\.\d %"))
    for testid in ("grid-ab-a", "grid-ab-b"):
        nb.page.wait_for_function(LOADED, arg=ab.get_by_test_id(testid).element_handle(), timeout=timeout)
    ab.get_by_test_id("grid-ab-wipe").fill("25")
    expect(ab.get_by_test_id("grid-ab-b")).to_have_attribute("style", re.compile(r"inset\(0(px)? 0(px)? 0(px)? 25%\)"))
    ab.scroll_into_view_if_needed()
    nb.screenshot("ab", selector='[data-testid="grid-ab"]')
    flicker = ab.get_by_test_id("grid-ab-flicker")
    flicker.click()
    expect(flicker).to_have_attribute("aria-pressed", "true")
    expect(ab.get_by_test_id("grid-ab-showing")).to_have_text(re.compile("^[AB]$"))
    flicker.click()
    expect(ab.get_by_test_id("grid-ab-wipe")).to_be_enabled()

    # Blind rating by keyboard: the ratings reach Python and come back as win rates.
    rating = root.get_by_test_id("grid-rating")
    rating.locator("summary").click()
    left = rating.get_by_test_id("grid-rate-left")
    nb.page.wait_for_function(LOADED, arg=left.element_handle(), timeout=timeout)
    rating.get_by_test_id("grid-rate-stage").focus()
    nb.page.keyboard.press("ArrowLeft")
    expect(rating.get_by_test_id("grid-rate-count")).to_have_text("(1 rated)", timeout=timeout)
    nb.page.keyboard.press("t")
    expect(rating.get_by_test_id("grid-rate-count")).to_have_text("(2 rated)", timeout=timeout)
    expect(rating.get_by_test_id("grid-winrate").first).to_be_visible()
    rating.scroll_into_view_if_needed()
    nb.screenshot("rating", selector='[data-testid="grid-rating"]')

    # The measures table sorts by latency.
    measures = root.get_by_test_id("grid-measures-panel")
    measures.locator("summary").click()
    expect(root.get_by_test_id("grid-measure")).to_have_count(12)
    measures.locator('[data-testid="grid-measures-sort"][data-key="latency_s"]').click()
    expect(measures.locator('th[aria-sort="ascending"]')).to_have_count(1)

    # Export: Python writes the file into the run directory, and the browser downloads it.
    with nb.page.expect_download(timeout=timeout) as caught:
        root.get_by_test_id("grid-export-csv").click()
    assert re.fullmatch(r"grid-[0-9a-f]{16}\.csv", caught.value.suggested_filename)
    expect(root.get_by_test_id("grid-notice")).to_contain_text("Saved grid-")

    check = "import os; print(len(grid.ratings), grid.view.running, sorted(os.listdir(grid.store.root / 'exports')))"
    out = nb.add_cell(check)
    assert out.startswith("2 False ['grid-") and out.endswith(".csv']"), out

    # A blocked cell is sent again only by its own Retry button (and is blocked again).
    cell(root, 1, 1).get_by_test_id("grid-cell-retry").click()
    expect(cell(root, 1, 1)).to_have_attribute("data-status", "blocked", timeout=timeout)
    assert nb.add_cell("print(sim.request_count())") == "14"

    # A second display is a second view of the same widget: its pictures come from the model's cache.
    nb.add_cell("grid")
    second = nb.panel.locator(".jp-OutputArea-output .anyfast-grid").nth(1)
    again = second.locator('[data-testid="grid-cell"] img[data-thumb-id]')
    expect(again).to_have_count(8, timeout=timeout)
    first_id = thumbs.first.get_attribute("data-thumb-id")
    expect(second.locator(f'img[data-thumb-id="{first_id}"]')).to_have_attribute("src", thumbs.first.get_attribute("src"))
    nb.screenshot()
    nb.assert_no_console_errors()


PAGES = """\
from anyfast_widget import compare, prompts
from anyfast_widget.simulator import Simulator
import tempfile

sim = Simulator(latency=0.5).start()
grid = compare(
    "a fox",
    cols={"quality": ["low", "high"]},
    pages=prompts(["a fox", "an owl"], labels=["fox", "owl"]),
    run=False,
    api_key=sim.api_key,
    base_url=sim.base_url,
    run_dir=tempfile.mkdtemp(prefix="grid-pages-"),
)
grid"""


@pytest.mark.parametrize("ui", ["lab"])
def test_a_grid_not_yet_run_shows_its_plan_runs_from_its_button_and_switches_pages(jupyter_server, open_notebook, ui):
    jupyter_server.write_notebook(f"grid-pages-{ui}.ipynb", [PAGES])
    nb = open_notebook(f"grid-pages-{ui}.ipynb")
    nb.run_all()
    root = nb.wait_for(".anyfast-grid")
    timeout = nb.timeout * 1000

    expect(root.get_by_test_id("grid-plan")).to_contain_text("4 requests")
    expect(root.get_by_test_id("grid-plan")).to_contain_text("4 to send")
    expect(root.locator('[data-testid="grid-cell"][data-status="pending"]')).to_have_count(2)
    pages = root.get_by_test_id("grid-page")
    expect(pages).to_have_text(["fox", "owl"])
    expect(pages.nth(0)).to_have_attribute("aria-selected", "true")

    root.get_by_test_id("grid-run").click()
    expect(root.locator('[data-testid="grid-cell"][data-status="done"]')).to_have_count(2, timeout=timeout)
    pages.nth(1).click()
    expect(pages.nth(1)).to_have_attribute("aria-selected", "true")
    expect(root.locator('[data-testid="grid-cell"][data-page="1"]')).to_have_count(2)
    expect(root.locator('[data-testid="grid-cell"][data-status="done"]')).to_have_count(2, timeout=timeout)
    expect(root.get_by_test_id("grid-plan")).to_contain_text("0 to send", timeout=timeout)
    assert nb.add_cell("print(grid.view.page, [c.status for c in grid.cells])") == "1 ['done', 'done', 'done', 'done']"
    nb.screenshot("page-2", selector=".jp-OutputArea-output:has(.anyfast-grid)")
    nb.assert_no_console_errors()


CANCEL = """\
from anyfast_widget import compare, replace
from anyfast_widget.simulator import Simulator
import tempfile

sim = Simulator(latency=1.5).start()
compare(
    "a fox",
    cols=replace("fox", ["fox", "owl", "hare", "wolf"]),
    concurrency=1,
    api_key=sim.api_key,
    base_url=sim.base_url,
    run_dir=tempfile.mkdtemp(prefix="grid-cancel-"),
)"""


@pytest.mark.parametrize("ui", ["lab"])
def test_cancel_stops_the_requests_not_yet_started(jupyter_server, open_notebook, ui):
    jupyter_server.write_notebook(f"grid-cancel-{ui}.ipynb", [CANCEL])
    nb = open_notebook(f"grid-cancel-{ui}.ipynb")
    nb.run_all()
    root = nb.wait_for(".anyfast-grid")
    timeout = nb.timeout * 1000
    expect(root.locator('[data-testid="grid-cell"][data-status="running"]')).to_have_count(1, timeout=timeout)
    root.get_by_test_id("grid-cancel").click()
    expect(root.locator('[data-testid="grid-cell"][data-status="cancelled"]')).to_have_count(3, timeout=timeout)
    expect(root.locator('[data-testid="grid-cell"][data-status="done"]')).to_have_count(1, timeout=timeout)
    expect(root.get_by_test_id("grid-cell-retry")).to_have_count(3)
    expect(root.get_by_test_id("grid-run")).to_have_text("Send 3 requests")
    expect(root.get_by_test_id("grid-notice")).to_contain_text("3 requests not sent")
    assert nb.add_cell("print(sim.request_count())") == "1"
    nb.screenshot("cancelled", selector=".jp-OutputArea-output:has(.anyfast-grid)")
    nb.assert_no_console_errors()
