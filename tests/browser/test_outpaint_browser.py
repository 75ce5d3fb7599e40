"""Outpainting, the sent mask, the gallery's pages and the run button's reasons, in a real browser (JupyterLab 4).

One JupyterLab page for the module (as in test_editor_browser.py): real pointer events
(Playwright's mouse) draw with every tool, the run goes to the stand-in server started in
the kernel, and the kernel compares what the studio holds with what the server received.
Screenshots land in tests/artifacts/outpaint-*.png.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from .jupyter import ConsoleLog, NotebookPage, artifact_path, settled_box, wait_until

pytestmark = pytest.mark.browser

W, H = 1536, 1024
BLUE = (20, 60, 230)
BLUE_BOX = (1000, 600, 1400, 900)  # x0, y0, x1, y1: a blue rectangle for colour select

SETUP = f"""\
import io, json, tempfile, time
import numpy as np
from PIL import Image
from anyfast_widget import ImageStudio, RunStore
from anyfast_widget.simulator import Simulator

sim = Simulator(latency=0.2).start()
y, x = np.mgrid[0:{H}, 0:{W}]
pixels = np.stack([60 + x * 180 // {W - 1}, 120 + y * 120 // {H - 1}, np.full_like(x, 40)], -1).astype(np.uint8)
x0, y0, x1, y1 = {BLUE_BOX}
pixels[y0:y1, x0:x1] = {BLUE}
photo = Image.fromarray(pixels)
studio = ImageStudio("a lighthouse at dusk", api_key=sim.api_key, base_url=sim.base_url, run_dir=tempfile.mkdtemp())
studio.sources = [photo]
studio"""

# The last request's mask (alpha 0 = may edit) against the studio's mask to send, and its size field.
SENT = """\
req = sim.api_requests[-1]
sent = [f for f in req.files if f.field == "mask"]
alpha = np.array(Image.open(io.BytesIO(sent[0].data)).convert("RGBA"))[..., 3] if sent else None
want = studio.mask_to_send.region
print(json.dumps({
    "path": req.path, "masks": len(sent), "size": req.fields.get("size"),
    "shape": None if alpha is None else list(alpha.shape), "want": list(want.shape),
    "differ": None if alpha is None or alpha.shape != want.shape else int(((alpha == 0) != want).sum()),
    "opaque_or_clear": None if alpha is None else bool(np.isin(alpha, (0, 255)).all()),
    "edit": int(want.sum()),
}))"""

GALLERY = """\
d = tempfile.mkdtemp()
store = RunStore(d)
from anyfast_widget.core._request import prepare_generation
for i in range(10):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (25 * i, 90, 200 - 15 * i)).save(buffer, "PNG")
    store.save(prepare_generation(f"old result {i}"), buffer.getvalue(), size=(64, 64),
               revised_prompt=None, request_id=None, timings={}, extras={})
    time.sleep(0.005)  # created_at has millisecond resolution: ties are ordered by the random id
store.close()
paged = ImageStudio("paged", api_key=sim.api_key, base_url=sim.base_url, run_dir=d, history=4)
paged"""

BLANK = """\
blank = ImageStudio(api_key=sim.api_key, base_url=sim.base_url, run_dir=tempfile.mkdtemp())
blank"""


@pytest.fixture(scope="module")
def lab(browser: Any, jupyter_server: Any) -> Iterator[NotebookPage]:
    """One JupyterLab page with the studio on a 1536x1024 source, for the whole module."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.console_log = ConsoleLog(page)
    jupyter_server.write_notebook("outpaint.ipynb", [SETUP])
    nb = NotebookPage(page, jupyter_server, "outpaint.ipynb", "lab", console=page.console_log, artifact_name="outpaint")
    try:
        nb.open()
        nb.run_all()
        nb.wait_for("[data-testid=studio]")
        yield nb
    finally:
        context.close()
        jupyter_server.shutdown_sessions()


def kernel(nb: NotebookPage, code: str) -> Any:
    """Run ``code`` in a new cell; its last output line as JSON."""
    nb.wait_for_kernel_idle()
    out = nb.add_cell(code)
    return json.loads(out.strip().splitlines()[-1])


def widget(nb: NotebookPage, cell: int = 0) -> Any:
    """The studio shown by cell ``cell``: every locator of a test is scoped to it."""
    return nb.cell(cell).locator("[data-testid=studio]").first


def stage_box(root: Any) -> dict[str, float]:
    """The stage's box on screen, scrolled into view first (running a cell scrolls the notebook away) and settled."""
    root.locator("[data-testid=viewport]").scroll_into_view_if_needed()
    return settled_box(root.locator("[data-testid=canvas]"))


def to_client(box: dict[str, float], sx: float, sy: float, size: tuple[int, int] = (W, H)) -> tuple[float, float]:
    return box["x"] + sx / size[0] * box["width"], box["y"] + sy / size[1] * box["height"]


def drag(page: Any, points: list[tuple[float, float]]) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=2)
    page.mouse.up()


def patched(root: Any, act: Any) -> None:
    """Do ``act`` and wait until the preview has drawn a newer mask patch than before it."""
    preview = root.locator("[data-testid=send-preview]")
    before = preview.get_attribute("data-mask-version")
    act()
    wait_until(lambda: preview.get_attribute("data-mask-version") != before, 30, "a mask patch")


def run_and_wait(root: Any) -> None:
    """Press the run button and wait for one more gallery item."""
    items = root.locator("[data-testid=gallery-item]")
    count = items.count()
    run = root.locator("[data-testid=run]")
    expect(run).to_be_enabled()
    run.click()
    expect(items).to_have_count(count + 1, timeout=60_000)


def shot(element: Any, name: str) -> None:
    """A screenshot of ``element``; the page is made tall enough for it first (the notebook scrolls inside the page)."""
    page = element.page
    size = page.viewport_size
    height = element.bounding_box()["height"]
    if height + 250 > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": int(height) + 250})
    try:
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(artifact_path(f"outpaint-{name}")))
    finally:
        page.set_viewport_size(size)


def test_every_tool_then_a_run_sends_exactly_the_mask_at_the_sources_size(lab):
    nb, page = lab, lab.page
    nb.add_cell("studio.mask = None\nstudio.brush = {**studio.brush, 'tool': 'brush', 'mode': 'paint', 'radius': 30}")
    root = widget(nb)
    expect(root.locator("[data-testid=param-size] option[value='']")).to_have_text(f"auto: {W}x{H}")
    root.locator("[data-testid=zoom-fit]").click()

    box = stage_box(root)
    patched(root, lambda: drag(page, [to_client(box, 100 + 20 * i, 120 + 30 * np.sin(i / 3)) for i in range(21)]))
    root.locator("[data-testid=tool-rect]").click()
    box = stage_box(root)
    patched(root, lambda: drag(page, [to_client(box, 100, 300), to_client(box, 250, 400), to_client(box, 400, 500)]))
    root.locator("[data-testid=tool-ellipse]").click()
    box = stage_box(root)
    patched(root, lambda: drag(page, [to_client(box, 500, 300), to_client(box, 800, 550)]))
    root.locator("[data-testid=tool-lasso]").click()
    box = stage_box(root)
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    circle = [to_client(box, 1100 + 150 * np.cos(a), 250 + 150 * np.sin(a)) for a in angles]
    patched(root, lambda: drag(page, circle))
    root.locator("[data-testid=tool-polygon]").click()
    box = stage_box(root)

    def polygon() -> None:
        for corner in [(100, 650), (450, 700), (250, 950)]:
            page.mouse.click(*to_client(box, *corner))
        page.keyboard.press("Enter")

    patched(root, polygon)
    root.locator("[data-testid=tool-color]").click()
    box = stage_box(root)
    patched(root, lambda: page.mouse.click(*to_client(box, 1200, 750)))
    shot(root.locator("[data-testid=mask-editor]"), "tools")

    # Every tool left its mark where it was used; the colour select took exactly the blue rectangle.
    marks = kernel(
        nb,
        "r = studio.mask.region\n"
        "print(json.dumps({'brush': bool(r[120, 300]), 'rect': bool(r[400, 250]), 'ellipse': bool(r[425, 650]),\n"
        "  'lasso': bool(r[250, 1100]), 'polygon': bool(r[770, 260]), 'blue': bool(r[600:900, 1000:1400].all()),\n"
        "  'blue_only': not r[595:905, 995:1405].sum() - r[600:900, 1000:1400].sum(), 'undo': studio.mask_history['undo']}))",
    )
    assert marks == {k: True for k in ("brush", "rect", "ellipse", "lasso", "polygon", "blue", "blue_only")} | {"undo": 6}

    run_and_wait(root)
    sent = kernel(nb, SENT)
    assert sent["path"].endswith("/images/edits") and sent["masks"] == 1
    assert sent["shape"] == [H, W] == sent["want"]
    assert sent["differ"] == 0, f"{sent['differ']} pixels of the sent mask differ from studio.mask_to_send"
    assert sent["opaque_or_clear"] and sent["edit"] > 0
    assert sent["size"] == f"{W}x{H}"
    shot(root.locator("[data-testid=results]"), "run")
    nb.assert_no_console_errors()


def test_extending_the_canvas_through_the_panel_masks_exactly_the_new_area(lab):
    nb = lab
    nb.add_cell("studio.sources = [photo]\nstudio.notice = {}")
    root = widget(nb)
    panel = root.locator("[data-testid=extend-panel]")
    panel.scroll_into_view_if_needed()
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    root.locator("[data-testid=extend-right]").fill("512")
    root.locator("[data-testid=extend-overlap]").fill("0")
    root.locator("[data-testid=extend-apply]").click()
    expect(root.locator("[data-testid=canvas-image]")).to_have_js_property("naturalWidth", 2048, timeout=30_000)

    state = kernel(
        nb,
        "card, r = studio.source_cards[0], studio.mask.region\n"
        "new = np.zeros_like(r); new[:, 1536:] = True\n"
        "print(json.dumps({'size': [card['width'], card['height']], 'extended': card.get('extended'),\n"
        "  'shape': list(r.shape), 'exact': bool((r == new).all()), 'canvas': studio.canvas_size,\n"
        "  'auto': [c.get('auto') for c in studio.controls if c['name'] == 'size']}))",
    )
    assert state["size"] == [2048, 1024] and state["canvas"] == [2048, 1024]
    assert state["extended"]["original"] == [W, H] and state["extended"]["offset"] == [0, 0]
    assert state["shape"] == [1024, 2048] and state["exact"]
    assert state["auto"] == ["2048x1024"]

    # The browser shows the wider picture, and its mask layer is exactly the right quarter.
    image = root.locator("[data-testid=canvas-image]")
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [2048, 1024]
    box = stage_box(root)
    assert box["width"] / box["height"] == pytest.approx(2, rel=0.01)
    layer = root.locator("[data-testid=mask-layer]")
    wait_until(
        lambda: layer.evaluate(
            """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      let inside = 0, outside = 0;
                      for (let i = 0; i < c.width * c.height; i++) {
                        if (d[4 * i + 3] >= 128) (i % c.width >= 1536 ? inside++ : outside++);
                      }
                      return c.width === 2048 && inside === 512 * 1024 && outside === 0; }"""
        ),
        30,
        "the mask layer to show exactly the new area",
    )
    expect(root.locator("[data-testid=param-size] option[value='']")).to_have_text("auto: 2048x1024")
    shot(root.locator("[data-testid=mask-editor]"), "extended")

    run_and_wait(root)
    sent = kernel(nb, SENT)
    assert sent["shape"] == [1024, 2048] and sent["differ"] == 0 and sent["size"] == "2048x1024"
    recorded = kernel(nb, "print(json.dumps(studio.store.get(studio.last.id).annotations.get('extended')))")
    assert recorded is not None and recorded["original"] == [W, H] and recorded["size"] == [2048, 1024]
    shot(root.locator("[data-testid=results]"), "extended-run")

    # An aspect from a square source: the size is snapped to multiples of 16, and the notice says so.
    nb.add_cell("studio.sources = [photo.crop((0, 0, 1024, 1024))]\nstudio.notice = {}")
    panel.scroll_into_view_if_needed()
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    root.locator("[data-testid=extend-right]").fill("")
    root.locator("[data-testid=extend-aspect]").select_option("16:9")
    root.locator("[data-testid=extend-apply]").click()
    notice = root.locator("[data-testid=notice]")
    expect(notice).to_be_visible(timeout=30_000)
    expect(notice).to_have_attribute("data-kind", "info")
    expect(root.locator("[data-testid=notice-title]")).to_contain_text("adjusted")
    card = kernel(nb, "c = studio.source_cards[0]; print(json.dumps([c['width'], c['height'], c['extended']['original']]))")
    width, height, original = card
    assert original == [1024, 1024] and height == 1024 and width % 16 == 0
    assert width / height == pytest.approx(16 / 9, abs=0.01)
    expect(root.locator("[data-testid=notice-hint]")).to_contain_text(f"{width}x{height}")
    shot(root, "aspect-notice")
    nb.assert_no_console_errors()


def test_the_gallery_shows_its_history_a_page_at_a_time(lab):
    nb = lab
    nb.add_cell(GALLERY)
    cell = nb.cells.count() - 1
    root = widget(nb, cell)
    items, more = root.locator("[data-testid=gallery-item]"), root.locator("[data-testid=gallery-more]")
    expect(items).to_have_count(4, timeout=30_000)
    expect(more).to_be_visible()
    height4 = root.locator("[data-testid=gallery]").bounding_box()["height"]
    shot(root.locator("[data-testid=results]"), "gallery-4")
    more.click()
    expect(items).to_have_count(8)
    expect(more).to_be_visible()
    more.click()
    expect(items).to_have_count(10)
    expect(more).to_be_hidden()
    assert root.locator("[data-testid=gallery]").bounding_box()["height"] >= height4
    prompts = root.locator("[data-testid=result-prompt]").all_inner_texts()
    assert [p.strip() for p in prompts] == [f"old result {i}" for i in range(9, -1, -1)]  # newest first, none twice
    shot(root.locator("[data-testid=results]"), "gallery-10")
    nb.assert_no_console_errors()


def test_an_empty_prompt_waits_quietly_and_running_is_not_an_error(lab):
    nb, page = lab, lab.page
    nb.add_cell(BLANK)
    cell = nb.cells.count() - 1
    root = widget(nb, cell)
    blocked = root.locator("[data-testid=run-blocked]")
    expect(blocked).to_be_visible(timeout=30_000)
    expect(blocked).to_have_attribute("data-state", "blocked")
    expect(blocked).to_contain_text("prompt")
    expect(root.locator("[data-testid=run]")).to_be_disabled()
    expect(root.locator("[data-testid=violation]")).to_have_count(0)
    shot(root.locator("[data-testid=controls]"), "empty-prompt")

    # A real violation, to read the error colour it is drawn in.
    nb.add_cell("blank.params = {**blank.params, 'quality': 'ultra'}")
    violation = root.locator("[data-testid=violation]").first
    expect(violation).to_be_visible(timeout=30_000)
    error = violation.evaluate("e => getComputedStyle(e).borderLeftColor")
    blocked_colour = blocked.evaluate("e => getComputedStyle(e).color")
    nb.add_cell("blank.params = {**blank.params, 'quality': 'medium'}\nsim.configure(latency=3)")
    expect(root.locator("[data-testid=violation]")).to_have_count(0)

    prompt = root.locator("[data-testid=prompt]")
    prompt.scroll_into_view_if_needed()
    prompt.click()
    page.keyboard.type("a quiet harbour")
    prompt.blur()  # the prompt reaches Python on change
    run = root.locator("[data-testid=run]")
    expect(run).to_be_enabled(timeout=30_000)
    run.click()
    expect(blocked).to_have_attribute("data-state", "running", timeout=10_000)
    expect(blocked).to_be_visible()
    running = blocked.evaluate("e => getComputedStyle(e).color")
    shot(root.locator("[data-testid=controls]"), "running")
    assert running != error, f"'Running…' is drawn in the violations' error colour {error}"
    assert blocked_colour != error, f"the blocked reason is drawn in the violations' error colour {error}"
    expect(root.locator("[data-testid=gallery-item]")).to_have_count(1, timeout=60_000)
    expect(blocked).to_be_hidden()
    nb.add_cell("sim.configure(latency=0.2)")
    nb.assert_no_console_errors()
