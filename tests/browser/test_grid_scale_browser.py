"""A 1,024-cell grid's widget in Chromium inside JupyterLab 4: a window at a time, and only its pictures.

A notebook shows a 32 x 32 grid (rows: 32 prompts; columns: 32 animals replacing
"fox") against the stand-in server's fast path, sends it from the widget's Run
button (confirmed: more than 50 requests), and waits for every cell. The page must
show 8 x 8 cells at a time with a pager ("rows 1–8 of 32"), ask Python for the
pictures of the cells in view and no others (the ``thumbs`` messages in the page's
websocket frames), let go of them when paged away (their ``blob:`` URLs no longer
answer), page by buttons and by keyboard, and compare two results picked in
different windows. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ANIMALS = (
    "fox owl hare lynx wolf bear deer otter badger heron crane swan eagle hawk raven crow "
    "moose bison seal whale shark trout salmon frog toad newt snake lizard tortoise beetle moth bee"
).split()
STYLES = (
    "watercolour photo woodcut pixel-art etching sketch mosaic tapestry fresco linocut collage pastel charcoal oil "
    "ink stencil papercut embroidery origami sculpture poster blueprint cartoon anime comic stained-glass lithograph "
    "gouache silhouette neon chalk clay"
).split()

SETUP = f"""\
import json, tempfile
from anyfast_widget import compare, prompts, replace
from anyfast_widget.simulator import Simulator

sim = Simulator(fast=True, latency=0.05, workers=32).start()
grid = compare(
    rows=prompts([f"a {{s}} of a fox" for s in {STYLES!r}], labels={STYLES!r}),
    cols=replace("fox", {ANIMALS!r}),
    quality="low",
    concurrency=64,
    run=False,
    api_key=sim.api_key,
    base_url=sim.base_url,
    run_dir=tempfile.mkdtemp(prefix="grid-scale-"),
)
grid"""

# The result ids of the cells of a window, as Python has them.
WINDOW_IDS = "print(json.dumps([grid.cell(r, c).results[0].id for r in range({r}, {r} + 8) for c in range({c}, {c} + 8)]))"

LOADED = """(grid) => {
  const imgs = [...grid.querySelectorAll('[data-testid="grid-cell"] img[data-thumb-id]')];
  return imgs.length === 64 && imgs.every((img) => img.complete && img.naturalWidth > 0 && img.src.startsWith("blob:"));
}"""

# How many of these blob: URLs still answer (a picture the page holds).
ANSWERING = """async (urls) => {
  let n = 0;
  for (const url of urls) {
    try { await (await fetch(url)).arrayBuffer(); n += 1; } catch (e) { /* revoked */ }
  }
  return n;
}"""


# how many lines an element's text takes on screen
LINES = "(el) => { const range = document.createRange(); range.selectNodeContents(el); return range.getClientRects().length; }"


def asked_for(frames: list) -> list[tuple[str, int]]:
    """(result id, edge) of every picture the page asked Python for, from the websocket frames it sent."""
    asked = []
    for payload in frames:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
        for ids, edge in re.findall(r'"type":"thumbs","ids":\[([^\]]*)\],"edge":(\d+)', text):
            asked += [(i, int(edge)) for i in re.findall(r'"([^"]+)"', ids)]
    return asked


def shown(root) -> tuple[list[str], list[str]]:
    """The result ids of the pictures in the table, and their blob: URLs, once all 64 have loaded."""
    root.page.wait_for_function(LOADED, arg=root.element_handle(), timeout=120_000)
    imgs = root.locator('[data-testid="grid-cell"] img[data-thumb-id]')
    return imgs.evaluate_all("(els) => els.map((e) => e.dataset.thumbId)"), imgs.evaluate_all("(els) => els.map((e) => e.src)")


@pytest.mark.parametrize("ui", ["lab"])
def test_a_1024_cell_grid_shows_a_window_at_a_time_and_holds_only_its_pictures(jupyter_server, open_notebook, page, ui):
    page.set_viewport_size({"width": 1280, "height": 1500})  # the whole window of 8 x 8 cells in one screenshot
    frames: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(payload)))
    jupyter_server.write_notebook(f"grid-scale-{ui}.ipynb", [SETUP])
    nb = open_notebook(f"grid-scale-{ui}.ipynb")
    nb.run_all()
    root = nb.wait_for(".anyfast-grid")

    # The first window: 8 x 8 cells of the 32 x 32, labelled, with a pager.
    cells = root.get_by_test_id("grid-cell")
    expect(cells).to_have_count(64)
    expect(root.get_by_test_id("grid-col-label")).to_have_text(ANIMALS[:8])
    expect(root.get_by_test_id("grid-row-label")).to_have_text(STYLES[:8])
    expect(root.get_by_test_id("grid-window-rows")).to_have_text("rows 1–8 of 32")
    expect(root.get_by_test_id("grid-window-cols")).to_have_text("columns 1–8 of 32")
    expect(root.get_by_test_id("grid-rows-prev")).to_be_disabled()
    expect(root.get_by_test_id("grid-plan")).to_contain_text("1024 requests")

    # Run from the widget: above 50 requests it asks first.
    root.get_by_test_id("grid-run").click()
    expect(root.get_by_test_id("grid-notice")).to_have_attribute("data-kind", "confirm")
    root.get_by_test_id("grid-notice-confirm").click()
    expect(root.get_by_test_id("grid-plan")).to_contain_text("1024 done", timeout=300_000)
    expect(root.get_by_test_id("grid-cancel")).to_be_hidden(timeout=60_000)

    # Only the pictures of the cells in view were asked for, and the table holds just those.
    first_ids, first_urls = shown(root)
    expected = json.loads(nb.add_cell(WINDOW_IDS.format(r=0, c=0)))
    assert sorted(first_ids) == sorted(expected)
    table_edge = {edge for _, edge in asked_for(frames)}
    assert len(table_edge) == 1, table_edge
    assert sorted({i for i, _ in asked_for(frames)}) == sorted(expected)
    assert nb.page.evaluate(ANSWERING, first_urls) == 64
    # The window fits the notebook's width (no sideways scrolling), and its labels are whole words:
    # "watercolour" on one line, not "waterc / olour".
    wrap = root.get_by_label("Cells of the grid")
    assert wrap.evaluate("(el) => el.scrollWidth <= el.clientWidth"), "the window's 8 columns should fit"
    label = root.get_by_test_id("grid-row-label").first
    lines = label.evaluate(LINES)
    assert lines == 1, f"the label {STYLES[0]!r} is broken over {lines} lines"
    nb.screenshot("first-window", selector=".jp-OutputArea-output:has(.anyfast-grid)")

    # The next rows, by button: their pictures come, the first window's are let go.
    root.get_by_test_id("grid-rows-next").click()
    expect(root.get_by_test_id("grid-window-rows")).to_have_text("rows 9–16 of 32")
    expect(root.get_by_test_id("grid-row-label")).to_have_text(STYLES[8:16])
    second_ids, second_urls = shown(root)
    assert sorted(second_ids) == sorted(json.loads(nb.add_cell(WINDOW_IDS.format(r=8, c=0))))
    assert nb.page.evaluate(ANSWERING, first_urls) == 0
    assert nb.page.evaluate(ANSWERING, second_urls) == 64
    assert nb.add_cell("print(grid.view.window, len(grid.view.cells), len(grid.view.results))") == "[8, 0] 64 1024"

    # The next columns, by keyboard (Shift+Page Down with focus in the table).
    root.get_by_label("Cells of the grid").focus()
    nb.page.keyboard.press("Shift+PageDown")
    expect(root.get_by_test_id("grid-window-cols")).to_have_text("columns 9–16 of 32")
    expect(root.get_by_test_id("grid-col-label")).to_have_text(ANIMALS[8:16])
    expect(cells.first).to_have_attribute("data-col", "8")
    third_ids, third_urls = shown(root)
    assert nb.page.evaluate(ANSWERING, second_urls) == 0
    nb.screenshot("paged", selector=".jp-OutputArea-output:has(.anyfast-grid)")

    # Two results picked in different windows make an A/B pair.
    cells.first.get_by_test_id("grid-pick").click()  # row 8 x column 8
    nb.page.keyboard.press("PageUp")
    expect(root.get_by_test_id("grid-window-rows")).to_have_text("rows 1–8 of 32")
    cells.first.get_by_test_id("grid-pick").click()  # row 0 x column 8
    ab = root.get_by_test_id("grid-ab")
    expect(ab).to_be_visible()
    expect(ab.get_by_test_id("grid-ab-names")).to_contain_text(f"{STYLES[8]} · {ANIMALS[8]}")
    expect(ab.get_by_test_id("grid-ab-names")).to_contain_text(f"{STYLES[0]} · {ANIMALS[8]}")
    expect(ab).to_have_attribute("data-state", "ready", timeout=60_000)

    # The measures of 1,024 requests: the first 256 in the order chosen, and a note saying so.
    measures = root.get_by_test_id("grid-measures-panel")
    measures.locator("summary").click()
    expect(measures).to_contain_text("(1024 requests: timings)")
    expect(root.get_by_test_id("grid-measure")).to_have_count(256)
    expect(root.get_by_test_id("grid-measures-more")).to_have_text(re.compile(r"^The first 256 of 1,024 requests in this order"))
    measures.locator('[data-testid="grid-measures-sort"][data-key="latency_s"]').click()
    expect(measures.locator('th[aria-sort="ascending"]')).to_have_count(1)
    measures.locator("summary").click()

    # The table asked for the pictures of the four windows it showed, each picture once: 256 of the 1,024.
    table_asks = [i for i, edge in asked_for(frames) if edge in table_edge]
    fourth = json.loads(nb.add_cell(WINDOW_IDS.format(r=0, c=8)))
    assert sorted(table_asks) == sorted({*first_ids, *second_ids, *third_ids, *fourth}) and len(table_asks) == 256
    ab.scroll_into_view_if_needed()
    nb.screenshot("ab-across-windows", selector='[data-testid="grid-ab"]')
    # The only errors are this test's own fetches of the 128 pictures let go (a revoked blob: URL does not load).
    revoked = [e for e in nb.console.errors if e.endswith("Failed to load resource: net::ERR_FILE_NOT_FOUND")]
    assert len(revoked) == 128, revoked
    nb.assert_no_console_errors(ignore=[r"Failed to load resource: net::ERR_FILE_NOT_FOUND$"])
