"""A saved notebook still shows its pictures without a kernel: executed with nbclient, exported by nbconvert, opened in Chromium.

The notebook is saved as JupyterLab saves it by default, without widget state. For
such a notebook nbconvert's HTML exporter skips the widget view (its
``WidgetsDataTypeFilter`` passes over ``application/vnd.jupyter.widget-view+json``
when the view's model is not in ``metadata.widgets``) and takes the next mime in
its priority, the ``text/html`` the widgets put beside their view. When the widget
state is saved (nbclient's default, or JupyterLab's "Save Widget State
Automatically"), nbconvert draws the view instead, with the widget manager it loads
from a CDN, and the static copy is not used: the last test pins that down.
Screenshot: tests/artifacts/static-notebook.png.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from playwright.sync_api import expect
from traitlets.config import Config

from .jupyter import ARTIFACTS, JupyterServer, NotebookPage, wait_until

pytestmark = pytest.mark.browser

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PROMPTS = ("a lighthouse at dusk, watercolour", "a red kite over a grey sea")
CELLS = [
    f"""\
from anyfast_widget import ImageStudio, compare
studio = ImageStudio({PROMPTS[0]!r}, run_dir="anyfast-runs")
await studio.run()
studio.prompt = {PROMPTS[1]!r}
await studio.run()
studio""",
    """\
grid = compare("a fox in the snow", rows={"quality": ["low", "high"]}, cols={"size": ["1024x1024", "1536x1024"]},
               run_dir="anyfast-runs")
_ = await grid""",
    "grid",
]


def executed(tmp_path, simulator, monkeypatch, *, store_widget_state: bool) -> nbformat.NotebookNode:
    """The notebook of CELLS, run top to bottom against the stand-in server, as it would be saved."""
    monkeypatch.setenv("ANYFAST_BASE_URL", simulator.base_url)
    monkeypatch.setenv("ANYFAST_API_KEY", simulator.api_key)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        store_widget_state=store_widget_state,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return notebook


def offline_page(browser):
    """A page that may load files and data: URIs only (nbconvert's page asks CDNs for MathJax and require.js)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    return context, context.new_page()


def test_an_exported_notebook_shows_the_studios_results_and_the_grid_without_a_kernel(
    tmp_path, anyfast_simulator, monkeypatch, browser
):
    notebook = executed(tmp_path, anyfast_simulator, monkeypatch, store_widget_state=False)
    outputs = [output for cell in notebook.cells for output in cell.outputs]
    # Each widget's output, then its static copy as an output of its own.
    view, copy = [WIDGET_VIEW, "text/html", "text/plain"], ["text/html", "text/plain"]
    assert [sorted(o.get("data", {})) for o in outputs] == [view, copy] * 2
    assert "widgets" not in notebook.metadata  # saved as JupyterLab saves by default: no widget state
    body, _ = HTMLExporter().from_notebook_node(notebook)
    assert WIDGET_VIEW not in body  # nbconvert took the text/html, not the view it cannot draw
    assert anyfast_simulator.api_key not in body and anyfast_simulator.base_url not in body
    path = tmp_path / "static-notebook.html"
    path.write_text(body)

    context, page = offline_page(browser)
    try:
        page.goto(path.as_uri())
        studio = page.locator(".anyfast-static-copy .anyfast-static-studio")
        grid = page.locator(".anyfast-static-copy .anyfast-static-grid-view")
        assert studio.count() == 1 and grid.count() == 1
        thumbs = studio.locator("img.anyfast-static-thumb")
        assert thumbs.count() == 2
        for i in range(2):
            thumbs.nth(i).scroll_into_view_if_needed()
            assert thumbs.nth(i).is_visible()
            assert thumbs.nth(i).evaluate("img => img.complete && img.naturalWidth") == 192
        assert [thumbs.nth(i).get_attribute("alt") for i in range(2)] == [PROMPTS[1], PROMPTS[0]]  # newest first
        shown = studio.inner_text()
        assert PROMPTS[0] in shown and PROMPTS[1] in shown and "ImageStudio · generations · 0 sources · 2 results" in shown
        grid_thumbs = grid.locator("img.anyfast-static-thumb")
        assert grid_thumbs.count() == 4
        assert all(grid_thumbs.nth(i).evaluate("img => img.naturalWidth") == 128 for i in range(4))
        headers = grid.locator("th").all_inner_texts()
        assert [h.strip() for h in headers] == ["quality \\ size", "1024x1024", "1536x1024", "low", "high"]
        assert "Error displaying widget" not in page.inner_text("body")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "static-notebook.png"), full_page=True)
    finally:
        context.close()


def test_with_widget_state_saved_nbconvert_draws_the_view_and_the_widgets_stylesheet_hides_the_copy(
    tmp_path, anyfast_simulator, monkeypatch
):
    notebook = executed(tmp_path, anyfast_simulator, monkeypatch, store_widget_state=True)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    view = f'<script type="{WIDGET_VIEW}">'  # an output drawn as the view (by the widget manager nbconvert's page loads)
    assert body.count(view) == 2
    # The copies are there for a page that cannot load the widget; a page that draws it gets its stylesheet, which
    # hides them (the saved state carries that stylesheet: it reaches the page only with the widget).
    assert body.count('class="anyfast-static-copy"') == 2 and body.count("anyfast-static-thumb") == 2 + 4
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    sheets = [m["state"]["_css"] for m in states if "_css" in m.get("state", {})]
    hides = re.compile(r"\.anyfast-static-copy\s*\{\s*display:\s*none\s*!important")
    assert len(sheets) == 2 and all(hides.search(css) for css in sheets)
    # Exported without the view in the priority, each widget's own output adds nothing beside its copy.
    priority = [mime for mime in HTMLExporter().default_config.NbConvertBase.display_data_priority if mime != WIDGET_VIEW]
    body, _ = HTMLExporter(config=Config({"NbConvertBase": {"display_data_priority": priority}})).from_notebook_node(notebook)
    assert view not in body and body.count("anyfast-static-thumb") == 2 + 4


REOPENED = [
    f"""\
from anyfast_widget import ImageStudio, compare
studio = ImageStudio({PROMPTS[0]!r}, offline=True, run_dir="reopened-runs")
studio""",
    "_ = await studio.run()",
    """\
grid = compare("a fox in the snow", rows={"quality": ["low", "high"]}, cols={"size": ["1024x1024", "1536x1024"]},
               offline=True, run_dir="reopened-runs")
grid""",
    "_ = await grid",
]


def static_copies(saved: nbformat.NotebookNode) -> list[str]:
    """The HTML of every static copy in a saved notebook, in order."""
    outputs = [o for cell in saved.cells for o in cell.get("outputs", [])]
    return [o["data"]["text/html"] for o in outputs if "anyfast-static-copy" in o.get("data", {}).get("text/html", "")]


@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_a_notebook_reopened_without_widget_state_still_shows_its_pictures(tmp_path, browser, ui):
    """JupyterLab's and Notebook 7's default: no widget state saved. The widget's output then says "model not found";
    its static copy, an output of its own kept up to date while the widget ran, shows the pictures instead."""
    with JupyterServer(tmp_path / "jupyter", save_widget_state=False) as server:
        server.write_notebook("reopened.ipynb", REOPENED)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        try:
            nb = NotebookPage(page, server, "reopened.ipynb", ui, timeout=120).open()
            nb.run_all()
            studio = nb.wait_for(".anyfast-studio")
            nb.wait_for(".anyfast-grid")
            expect(studio.get_by_test_id("gallery-item")).to_have_count(1)
            # Live: the copies are on the page but hidden, and so are the output rows around them (no blank gaps).
            copies = page.locator(".anyfast-static-copy")
            expect(copies).to_have_count(2)
            rows = page.locator(".jp-OutputArea-child:has(.anyfast-static-copy)")
            assert [rows.nth(i).is_visible() for i in range(2)] == [False, False]
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"live-with-hidden-copies-{ui}.png"))
            # The studio was shown before its run and the grid before its cells filled: both copies were renewed since.
            held = [copies.nth(i).locator("img.anyfast-static-thumb") for i in range(2)]
            wait_until(lambda: [h.count() for h in held] == [1, 4], 60, "the copies to hold the pictures made since")
            saved = nb.save()
            assert [c.count("anyfast-static-thumb") for c in static_copies(saved)] == [1, 4]
            assert "widgets" not in saved.metadata

            server.shutdown_sessions()
            nb = NotebookPage(page, server, "reopened.ipynb", ui, timeout=120).open()  # a fresh kernel: no models
            expect(page.get_by_text("Error displaying widget: model not found")).to_have_count(2)
            thumbs = page.locator(".anyfast-static-copy img.anyfast-static-thumb")
            expect(thumbs).to_have_count(1 + 4)
            for i in range(5):
                thumbs.nth(i).scroll_into_view_if_needed()
                expect(thumbs.nth(i)).to_be_visible()
                assert thumbs.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
            assert thumbs.first.get_attribute("alt") == PROMPTS[0]
            page.locator(".anyfast-static-copy").first.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"reopened-without-state-{ui}.png"))
        finally:
            context.close()


def test_copies_shown_before_the_runs_hold_their_pictures_in_a_notebook_run_headless(tmp_path):
    """nbclient (``jupyter nbconvert --execute``, papermill) keeps a copy renewed by a later cell."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in REOPENED])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert [c.count("anyfast-static-thumb") for c in static_copies(notebook)] == [1, 4]
    assert "No results yet" not in static_copies(notebook)[0]
