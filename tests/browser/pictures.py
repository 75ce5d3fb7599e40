"""The README's pictures of the studio and the grid: ``python -m tests.browser.pictures``.

Made as the browser tests make theirs: a real ``jupyter lab`` on 127.0.0.1, Debian's
Chromium through Playwright, and the stand-in server in the kernel. A mask is drawn
with the mouse and the runs are started from the widgets' buttons. The pictures are
written to ``docs/`` (palette PNGs, to keep the repository small).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PIL import Image

from .jupyter import CHROMIUM, CHROMIUM_ARGS, ConsoleLog, JupyterServer, NotebookPage

DOCS = Path(__file__).resolve().parents[2] / "docs"

STUDIO = """\
import tempfile
from anyfast_widget import Client, ImageStudio
from anyfast_widget.simulator import Simulator
sim = Simulator(latency=0.5).start()
run_dir = tempfile.mkdtemp()
with Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir) as client:
    first = client.generate("a lighthouse on a cliff at dusk", size="1536x1024")
studio = ImageStudio("add a green aurora to the sky", sources=[first.path], variants=2,
                     api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir)
studio"""

GRID = """\
import tempfile
from anyfast_widget import compare, prompts, replace
from anyfast_widget.simulator import Simulator
sim = Simulator(latency=0.5).start()
styles = ["watercolour", "woodcut", "photo"]
grid = compare(
    rows=prompts([f"a {style} of a fox" for style in styles], labels=styles),
    cols=replace("fox", ["fox", "owl", "hare"]),
    repeats=2, quality="low", api_key=sim.api_key, base_url=sim.base_url, run_dir=tempfile.mkdtemp(), run=False,
)
grid"""


def _save(element, name: str) -> Path:
    """A screenshot of ``element`` as docs/<name>.png, reduced to a palette of 256 colours."""
    path = DOCS / f"{name}.png"
    element.screenshot(path=str(path))
    with Image.open(path) as shot:
        shot.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def _shown(page, server: JupyterServer, name: str, source: str, selector: str):
    """A notebook of one cell, ``source``, run in JupyterLab; the widget it shows (``selector``)."""
    server.write_notebook(f"{name}.ipynb", [source])
    notebook = NotebookPage(page, server, f"{name}.ipynb", "lab", console=ConsoleLog(page), timeout=180)
    notebook.open()
    notebook.run_all()
    return notebook.wait_for(selector)


def _studio(page, server: JupyterServer) -> Path:
    studio = _shown(page, server, "studio", STUDIO, "[data-testid=studio]")
    canvas = page.locator("[data-testid=canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # the sky, in a few sweeps of the brush
    for row in (0.12, 0.22, 0.32):
        page.mouse.move(box["x"] + box["width"] * 0.06, box["y"] + box["height"] * row)
        page.mouse.down()
        for step in range(1, 25):
            x, y = 0.06 + 0.88 * step / 24, row + 0.03 * (step % 2)  # a wave across the picture
            page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=3)
        page.mouse.up()
    page.locator("[data-testid=run]").click()
    page.locator("[data-testid=gallery-item]").nth(1).wait_for(state="visible", timeout=120_000)
    page.wait_for_timeout(1500)  # the previews decode
    return _save(studio, "studio")


def _grid(page, server: JupyterServer) -> Path:
    root = _shown(page, server, "grid", GRID, ".anyfast-grid")
    root.get_by_test_id("grid-run").click()
    root.get_by_test_id("grid-plan").filter(has_text="18 done").wait_for(timeout=120_000)
    root.locator('[data-testid="grid-cell"][data-row="0"][data-col="0"] [data-testid="grid-pick"]').first.click()
    root.locator('[data-testid="grid-cell"][data-row="0"][data-col="1"] [data-testid="grid-pick"]').first.click()
    root.get_by_test_id("grid-ab").wait_for(state="visible")
    page.wait_for_timeout(1500)  # the A/B view's pictures and heatmap
    return _save(root, "grid")


def main() -> None:
    from playwright.sync_api import sync_playwright

    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as base, JupyterServer(Path(base)) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        # tall enough that each widget is on screen whole
        page = browser.new_context(viewport={"width": 1280, "height": 2400}).new_page()
        for path in (_studio(page, server), _grid(page, server)):
            print(f"{path} ({path.stat().st_size // 1024} KB)")
        browser.close()


if __name__ == "__main__":
    main()
