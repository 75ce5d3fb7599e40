"""The studio's session spend in JupyterLab: the widget shows Python's count, and a run over the budget is refused,
with its reason, before anything is sent. Screenshots in tests/artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

STUDIO = """\
import tempfile
from anyfast_widget import ImageStudio
studio = ImageStudio("a lighthouse at dusk", offline=True, run_dir=tempfile.mkdtemp(), quality="high",
                     prices={"low": 0.1, "medium": 0.4, "high": 1.7}, budget=2.0)
studio"""


@pytest.mark.parametrize("ui", ["lab"])
def test_the_studio_shows_its_spend_and_refuses_a_run_over_the_budget(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook("spend.ipynb", [STUDIO])
    nb = open_notebook("spend.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    expect(page.locator("[data-testid=spend-text]")).to_have_text("spent 0.00 of 2.00 \u00b7 this run about 1.70")
    run = page.locator("[data-testid=run]")
    expect(run).to_be_enabled()
    run.click()
    expect(page.locator("[data-testid=gallery-item]")).to_have_count(1, timeout=60_000)
    expect(page.locator("[data-testid=spend-text]")).to_contain_text("spent 1.70 of 2.00")
    expect(page.locator("[data-testid=spend-bar]")).to_be_visible()
    # 0.30 left: another high-quality run does not fit, and the widget says why before anything is sent.
    expect(run).to_be_disabled()
    expect(page.locator("[data-testid=violations-general]")).to_contain_text("0.30 of the 2.00 budget is left")
    # Said once, right below the button (the button's title keeps the reason), not twice.
    expect(page.locator("[data-testid=run-blocked]")).to_be_hidden()
    expect(run).to_have_attribute("title", "budget: this run would cost about 1.70; 0.30 of the 2.00 budget is left.")
    nb.screenshot("spend-over-budget", selector="[data-testid=studio]")
    assert nb.add_cell("print(len(studio.results), round(studio.spent, 2))") == "1 1.7"
    nb.assert_no_console_errors()
