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

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from traitlets.config import Config

from .jupyter import ARTIFACTS

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
    assert [sorted(o.get("data", {})) for o in outputs] == [[WIDGET_VIEW, "text/html", "text/plain"]] * 2
    assert "widgets" not in notebook.metadata  # saved as JupyterLab saves by default: no widget state
    body, _ = HTMLExporter().from_notebook_node(notebook)
    assert WIDGET_VIEW not in body  # nbconvert took the text/html, not the view it cannot draw
    assert anyfast_simulator.api_key not in body and anyfast_simulator.base_url not in body
    path = tmp_path / "static-notebook.html"
    path.write_text(body)

    context, page = offline_page(browser)
    try:
        page.goto(path.as_uri())
        studio = page.locator(".anyfast-static-studio")
        grid = page.locator(".anyfast-static-grid-view")
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


def test_with_widget_state_saved_nbconvert_draws_the_view_and_drops_the_static_copy(tmp_path, anyfast_simulator, monkeypatch):
    notebook = executed(tmp_path, anyfast_simulator, monkeypatch, store_widget_state=True)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    view = f'<script type="{WIDGET_VIEW}">'  # an output drawn as the view (by the widget manager nbconvert's page loads)
    assert body.count(view) == 2 and "anyfast-static-thumb" not in body
    # Exported without the view in the priority, the saved output's static copy is what shows.
    priority = [mime for mime in HTMLExporter().default_config.NbConvertBase.display_data_priority if mime != WIDGET_VIEW]
    body, _ = HTMLExporter(config=Config({"NbConvertBase": {"display_data_priority": priority}})).from_notebook_node(notebook)
    assert view not in body and body.count("anyfast-static-thumb") == 2 + 4
