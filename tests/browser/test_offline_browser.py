"""A studio without a key, in JupyterLab: it says so before any run, "Try offline" switches to the built-in stand-in,
a badge says the pictures are synthetic, and a run then works. Screenshots in tests/artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NO_KEY = """\
import os, tempfile
os.environ.pop("ANYFAST_API_KEY", None)
os.environ.pop("ANYFAST_BASE_URL", None)
from anyfast_widget import ImageStudio
studio = ImageStudio("a lighthouse at dusk", run_dir=tempfile.mkdtemp())
studio"""


@pytest.mark.parametrize("ui", ["lab"])
def test_without_a_key_the_studio_offers_the_stand_in_and_says_when_it_uses_it(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook("offline.ipynb", [NO_KEY])
    nb = open_notebook("offline.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    expect(page.locator("[data-testid=notice-title]")).to_have_text("No API key")
    expect(page.locator("[data-testid=notice-hint]")).to_contain_text("offline=True")
    expect(page.locator("[data-testid=run]")).to_be_disabled()
    expect(page.locator("[data-testid=offline-badge]")).to_be_hidden()
    nb.screenshot("offline-no-key", selector="[data-testid=studio]")

    page.click("[data-testid=try-offline]")
    expect(page.locator("[data-testid=offline-badge]")).to_be_visible()
    expect(page.locator("[data-testid=offline-badge]")).to_contain_text("nothing is paid")
    expect(page.locator("[data-testid=try-offline]")).to_be_hidden()
    expect(page.locator("[data-testid=notice]")).to_be_hidden()
    run = page.locator("[data-testid=run]")
    expect(run).to_be_enabled()
    run.click()
    expect(page.locator("[data-testid=gallery-item]")).to_have_count(1, timeout=60_000)
    assert nb.add_cell("print(studio.offline, len(studio.results))") == "True 1"
    nb.screenshot("offline-badge", selector="[data-testid=studio]")
    nb.assert_no_console_errors()
