"""Fixtures for widget tests in a real browser inside real JupyterLab 4 and Notebook 7.

One Jupyter server and one Chromium for all of tests/browser; a fresh browser
context and page per test. Both are package-scoped, not session-scoped: while
Playwright's sync API is started it leaves its event loop marked as running in
the main thread, which breaks the pytest-asyncio tests that run after this
package, so they must be stopped when the last browser test is done (keep
browser tests in tests/browser).

A widget test looks like this (it runs once per UI, because ``open_notebook``
depends on the parametrized ``ui`` fixture)::

    import pytest

    pytestmark = pytest.mark.browser

    def test_studio_renders(jupyter_server, open_notebook):
        jupyter_server.write_notebook("studio.ipynb", ["from anyfast_widget import ImageStudio", "ImageStudio()"])
        nb = open_notebook("studio.ipynb")      # waits until the kernel is idle
        nb.run_all()                            # Run > Run All Cells, waits for every cell
        root = nb.wait_for(".anyfast-studio")   # a CSS selector inside the outputs
        root.locator("button").first.click()
        assert "..." in nb.add_cell("print(...)")
        saved = nb.save()                        # Ctrl+S, the .ipynb read back from disk
        assert widget_state(saved)               # widget state is saved (see jupyter.py)
        nb.screenshot()                          # tests/artifacts/<test name>.png
        nb.assert_no_console_errors()

Only one UI: ``@pytest.mark.parametrize("ui", ["lab"])``. A failing test leaves
tests/artifacts/<test name>.png behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .jupyter import CHROMIUM, CHROMIUM_ARGS, UIS, ConsoleLog, JupyterServer, NotebookPage, artifact_path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item (``item.rep_setup``, ``rep_call``) for the page fixture."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A running ``jupyter lab`` (JupyterLab 4 + Notebook 7) on 127.0.0.1, isolated, stopped after tests/browser."""
    with JupyterServer(tmp_path_factory.mktemp("jupyter")) as server:
        yield server


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser), one for tests/browser."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(params=UIS)
def ui(request: pytest.FixtureRequest) -> str:
    """Which UI a test drives: "lab" (JupyterLab 4) or "notebook7" (Notebook 7)."""
    return request.param


@pytest.fixture
def page(browser: Any, jupyter_server: JupyterServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page in a fresh browser context (1280x800). Its console errors are in ``page.console_log``.

    Afterwards: a screenshot tests/artifacts/<test name>.png if the test failed,
    and every kernel the test started is shut down.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(90_000)
    page = context.new_page()
    page.console_log = ConsoleLog(page)
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            try:
                page.screenshot(path=str(artifact_path(request.node.name)))
            except Exception as error:  # the page may be gone; the failure itself matters more
                print(f"no failure screenshot: {error}")
        context.close()
        jupyter_server.shutdown_sessions()


@pytest.fixture
def console_log(page: Any) -> ConsoleLog:
    """The console errors of ``page``; ``console_log.assert_clean()`` fails if there are unexpected ones."""
    return page.console_log


@pytest.fixture
def open_notebook(
    page: Any, jupyter_server: JupyterServer, ui: str, request: pytest.FixtureRequest
) -> Callable[..., NotebookPage]:
    """``open_notebook(name)``: open notebook ``name`` (under the server's root) in this test's ``ui``.

    Returns a :class:`NotebookPage` once its cells show and its kernel is idle.
    """

    def open_(name: str | Path, *, timeout: float = 90.0) -> NotebookPage:
        notebook = NotebookPage(
            page, jupyter_server, name, ui, console=page.console_log, artifact_name=request.node.name, timeout=timeout
        )
        return notebook.open()

    return open_
