"""ImageStudio in marimo: ``mo.ui.anywidget(ImageStudio(...))`` in a headless ``marimo run`` app, driven in Chromium.

The test writes a one-cell marimo app into a temporary directory: it starts the
stand-in server inside the app's kernel, gives the studio a prompt and one source
image (so the run is an edit), and shows ``mo.ui.anywidget(studio)``. Then, with
real pointer events, it draws a stroke on the mask editor, checks the mask
changed (coverage, undo), presses Edit and waits for the result in the gallery,
and asks the stand-in server (its admin endpoint; the app wrote its URL to a
file) what reached it. Screenshot: tests/artifacts/marimo-studio.png.

Only the package's ``browser`` fixture is used (no Jupyter server is started).
The marimo process runs in its own session and is stopped, with its children,
however the test ends.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .jupyter import artifact_path, wait_until

pytestmark = pytest.mark.browser

APP = textwrap.dedent(
    """\
    import marimo

    app = marimo.App(width="full")


    @app.cell
    def _():
        import json
        import pathlib

        import marimo as mo
        import numpy as np
        from PIL import Image

        from anyfast_widget import ImageStudio
        from anyfast_widget.simulator import Simulator

        here = pathlib.Path(__file__).resolve().parent
        sim = Simulator(latency=0.2).start()
        y, x = np.mgrid[0:768, 0:1024]
        photo = Image.fromarray(np.stack([x * 255 // 1023, y * 255 // 767, (x // 64 % 2) * 200], -1).astype(np.uint8))
        studio = ImageStudio(
            "replace the sky with green aurora", api_key=sim.api_key, base_url=sim.base_url, run_dir=here / "runs"
        )
        studio.sources = [photo]
        (here / "simulator.json").write_text(json.dumps({"base_url": sim.base_url}))
        widget = mo.ui.anywidget(studio)
        widget
        return


    if __name__ == "__main__":
        app.run()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the marimo process and its children (its own process group), politely first."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever of the group is left (a kernel that ignored SIGTERM)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


class MarimoApp:
    def __init__(self, directory: Path, process: subprocess.Popen[bytes], url: str, log: Path):
        self.directory, self.process, self.url, self.log = directory, process, url, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def simulator_requests(self) -> list[dict[str, Any]]:
        base_url = json.loads((self.directory / "simulator.json").read_text())["base_url"]
        with urllib.request.urlopen(base_url + "/_simulator/requests", timeout=10) as response:
            return json.load(response)["requests"]


@pytest.fixture
def marimo_app(tmp_path: Path) -> Iterator[MarimoApp]:
    """``marimo run app.py --headless`` on a free port of 127.0.0.1, isolated from the user's marimo config."""
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARIMO_")}
    env.update(
        {
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "MARIMO_SKIP_UPDATE_CHECK": "1",  # nothing phones home
            "PYTHONNOUSERSITE": "1",
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
    )
    log = tmp_path / "marimo.log"
    argv = [sys.executable, "-m", "marimo", "run", "app.py", "--headless", "--port", str(port), "--host", "127.0.0.1"]
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            argv,
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends it and its children
        )
    app = MarimoApp(tmp_path, process, f"http://127.0.0.1:{port}/", log)
    try:

        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"marimo exited with {process.returncode}:\n{app.log_text()}")
            return answers(app.url)

        wait_until(up, 30, f"marimo at {app.url}", interval=0.2)
        yield app
    finally:
        stop(process)


def test_a_stroke_and_an_edit_in_a_marimo_app(browser: Any, marimo_app: MarimoApp) -> None:
    # Tall enough for the whole studio: marimo scrolls an inner box, and an element screenshot shows only what is in view.
    context = browser.new_context(viewport={"width": 1280, "height": 1700})
    context.set_default_timeout(30_000)
    # Only the app's own server and the stand-in server: nothing from the internet (fonts, CDNs).
    context.route(
        lambda url: not url.startswith(("http://127.0.0.1", "http://localhost", "ws://", "data:", "blob:")),
        lambda route: route.abort(),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console.error: {message.text}"))
    shot = artifact_path("marimo-studio")
    try:
        page.goto(marimo_app.url)
        studio = page.locator("[data-testid=studio]")  # inside marimo's shadow DOM: Playwright's CSS pierces it
        expect(studio).to_be_visible(timeout=45_000)
        run = page.locator("[data-testid=run]")
        expect(run).to_have_text("Edit")
        expect(run).to_be_enabled()
        undo = page.locator("[data-testid=mask-undo]")
        expect(undo).to_be_disabled()
        coverage = page.locator("[data-testid=coverage]")
        coverage_before = coverage.inner_text()

        canvas = page.locator("[data-testid=canvas]")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 150, box
        points = [
            (box["x"] + box["width"] * (0.15 + 0.02 * i), box["y"] + box["height"] * (0.25 + 0.01 * (i % 5))) for i in range(30)
        ]
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y, steps=2)
        page.mouse.up()

        # Python answered the stroke: a coverage percentage, one undo step, a patch in "what will be sent".
        expect(coverage).to_contain_text("%", timeout=20_000)
        expect(undo).to_be_enabled(timeout=20_000)
        preview = page.locator("[data-testid=send-preview]")
        wait_until(lambda: preview.get_attribute("data-mask-version") not in (None, "", "0"), 20, "a mask patch")
        percent = float(coverage.inner_text().split("%")[0].split()[-1])
        assert 0 < percent < 50, (coverage_before, coverage.inner_text())

        run.click()
        item = page.locator("[data-testid=gallery-item]")
        expect(item).to_have_count(1, timeout=30_000)
        expect(item.first).to_have_attribute("data-endpoint", "edits")
        studio.screenshot(path=str(shot))

        edits = [r for r in marimo_app.simulator_requests() if r["path"].endswith("/images/edits")]
        assert len(edits) == 1, edits
        fields = sorted(f["field"] for f in edits[0]["files"])
        assert "mask" in fields and any(f.startswith("image") for f in fields), fields
        assert edits[0]["fields"].get("prompt") == "replace the sky with green aurora"
        assert edits[0]["fields"].get("size") == "1024x768"  # no size chosen: the edit asks for the source's own
        assert list((marimo_app.directory / "runs").rglob("*.png")), "no result in the run store"
        assert not errors, errors
    except BaseException:
        try:
            page.screenshot(path=str(shot), full_page=True)
        except Exception as error:  # the page may be gone; the failure itself matters more
            print(f"no failure screenshot: {error}")
        print(marimo_app.log_text())
        raise
    finally:
        context.close()
