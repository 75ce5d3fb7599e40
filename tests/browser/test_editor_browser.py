"""The mask editor in a real browser (JupyterLab 4): zoom and pan, every tool, undo and redo.

Real pointer events (Playwright's mouse) on a 3840x2160 source; each test compares
``studio.mask.region`` (saved by the kernel to a file the test reads) with the region
the pointer path describes, computed here independently: pixel centres inside the
shape. One notebook is shared by the module (each test starts from an empty mask).
A screenshot per tool lands in tests/artifacts/editor-<tool>.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from .jupyter import ConsoleLog, NotebookPage, artifact_path, settled_box, wait_until

pytestmark = pytest.mark.browser

W, H = 3840, 2160
BLUE = (20, 60, 230)
# Two blue rectangles (not touching) on a smooth gradient that stays far from blue.
BLUE_A = (600, 300, 1400, 900)  # x0, y0, x1, y1
BLUE_B = (2400, 1200, 3300, 1900)

SETUP = f"""\
import tempfile
import numpy as np
from PIL import Image
from anyfast_widget import ImageStudio
from anyfast_widget.simulator import Simulator

sim = Simulator(latency=0.1).start()
y, x = np.mgrid[0:{H}, 0:{W}]
pixels = np.stack([60 + x * 180 // {W - 1}, 120 + y * 120 // {H - 1}, np.full_like(x, 40)], -1).astype(np.uint8)
for x0, y0, x1, y1 in [{BLUE_A}, {BLUE_B}]:
    pixels[y0:y1, x0:x1] = {BLUE}
photo = Image.fromarray(pixels)
studio = ImageStudio("a lighthouse", api_key=sim.api_key, base_url=sim.base_url, run_dir=tempfile.mkdtemp())
studio.sources = [photo]
studio"""

SAVE_MASK = """\
m = studio.mask
np.save('mask.npy', m.region if m is not None else np.zeros(({h}, {w}), bool))
print(studio.mask_history['undo'], studio.mask_history['redo'])"""


@pytest.fixture(scope="module")
def editor(browser: Any, jupyter_server: Any) -> Iterator[NotebookPage]:
    """One JupyterLab page with the studio on a 3840x2160 source, for the whole module."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.console_log = ConsoleLog(page)
    jupyter_server.write_notebook("editor.ipynb", [SETUP])
    nb = NotebookPage(page, jupyter_server, "editor.ipynb", "lab", console=page.console_log, artifact_name="editor")
    try:
        nb.open()
        nb.run_all()
        nb.wait_for("[data-testid=studio]")
        yield nb
    finally:
        context.close()
        jupyter_server.shutdown_sessions()


@pytest.fixture
def nb(editor: NotebookPage) -> NotebookPage:
    """The shared page with an empty mask, the brush tool, paint mode and the fitted view."""
    editor.add_cell("studio.mask = None\nstudio.brush = {**studio.brush, 'tool': 'brush', 'mode': 'paint', 'radius': 24}")
    page = editor.page
    page.locator("[data-testid=viewport]").scroll_into_view_if_needed()
    page.locator("[data-testid=zoom-fit]").click()
    expect(page.locator("[data-testid=coverage]")).to_be_hidden()
    return editor


def python_mask(nb: NotebookPage) -> tuple[np.ndarray, tuple[int, int]]:
    """studio.mask.region and (undo, redo) steps, read from the kernel."""
    nb.wait_for_kernel_idle()
    out = nb.add_cell(SAVE_MASK.format(w=W, h=H)).split()
    return np.load(nb.server.root / "mask.npy"), (int(out[0]), int(out[1]))


def stage_box(nb: NotebookPage) -> dict[str, float]:
    """The stage's box on screen, scrolled into view first (running a cell scrolls the notebook away) and settled."""
    nb.page.locator("[data-testid=viewport]").scroll_into_view_if_needed()
    return settled_box(nb.page.locator("[data-testid=canvas]"))


def to_source(box: dict[str, float], x: float, y: float) -> tuple[float, float]:
    """Client px -> source px through the stage's (transformed) box: what the editor must do too."""
    return (x - box["x"]) / box["width"] * W, (y - box["y"]) / box["height"] * H


def to_client(box: dict[str, float], sx: float, sy: float) -> tuple[float, float]:
    return box["x"] + sx / W * box["width"], box["y"] + sy / H * box["height"]


def centres(x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[y0:y1, x0:x1]
    return x + 0.5, y + 0.5


def within_polyline(points: list[tuple[float, float]], radius: float) -> np.ndarray:
    """Pixels whose centres lie within ``radius`` of the polyline (round caps and joins)."""
    region = np.zeros((H, W), bool)
    for (ax, ay), (bx, by) in zip(points, points[1:] or points):
        x0, y0 = max(0, int(min(ax, bx) - radius) - 1), max(0, int(min(ay, by) - radius) - 1)
        x1, y1 = min(W, int(max(ax, bx) + radius) + 2), min(H, int(max(ay, by) + radius) + 2)
        px, py = centres(x0, y0, x1, y1)
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0, 1) if length2 else 0
        region[y0:y1, x0:x1] |= np.hypot(px - (ax + t * dx), py - (ay + t * dy)) <= radius
    return region


def inside_polygon(points: list[tuple[float, float]]) -> np.ndarray:
    """Pixels whose centres lie inside the closed outline (even-odd)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0, x1, y1 = max(0, int(min(xs))), max(0, int(min(ys))), min(W, int(max(xs)) + 1), min(H, int(max(ys)) + 1)
    px, py = centres(x0, y0, x1, y1)
    inside = np.zeros(px.shape, bool)
    for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1]):
        crosses = (ay > py) != (by > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = ax + (py - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (px < at)
    region = np.zeros((H, W), bool)
    region[y0:y1, x0:x1] = inside
    return region


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def drag(page: Any, points: list[tuple[float, float]], *, before_up: Any = None) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=2)
    if before_up:
        before_up()
    page.mouse.up()


def wait_for_patch(nb: NotebookPage, version_before: str | None) -> None:
    """Until the preview has drawn a newer mask patch than ``version_before``."""
    preview = nb.page.locator("[data-testid=send-preview]")
    wait_until(lambda: preview.get_attribute("data-mask-version") != version_before, 30, "a mask patch")


def shot(nb: NotebookPage, tool: str) -> None:
    nb.page.locator("[data-testid=mask-editor]").screenshot(path=str(artifact_path(f"editor-{tool}")))


def test_a_stroke_at_400_percent_lands_where_the_pointer_went(nb):
    page = nb.page
    page.locator("[data-testid=zoom-100]").click()
    page.locator("[data-testid=studio]").focus()
    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(page.locator("[data-testid=zoom]")).to_have_attribute("data-zoom", "400")
    view = page.locator("[data-testid=viewport]").bounding_box()
    box = stage_box(nb)
    assert box["width"] == pytest.approx(4 * W, rel=1e-3)
    cx, cy = view["x"] + view["width"] / 2, view["y"] + view["height"] / 2
    path = [(cx - 200 + 8 * i, cy - 60 + 40 * np.sin(i / 6)) for i in range(50)]
    version = page.locator("[data-testid=send-preview]").get_attribute("data-mask-version")
    drag(page, path)
    wait_for_patch(nb, version)
    region, history = python_mask(nb)
    expected = within_polyline([to_source(box, x, y) for x, y in path], 24)
    assert history == (1, 0)
    assert expected.sum() > 5000
    assert iou(region, expected) >= 0.98, f"IoU {iou(region, expected):.4f}"

    # The sharp crop of the source shows over the stage: one image pixel per source pixel at least.
    crop = page.locator("[data-testid=view-crop]")
    expect(crop).to_be_visible(timeout=20_000)
    sharp = crop.evaluate("img => img.naturalWidth / parseFloat(img.style.width)")
    assert sharp >= 0.99, f"{sharp:.2f} image px per source px"
    shot(nb, "brush")
    page.locator("[data-testid=zoom-fit]").click()
    expect(crop).to_be_hidden()


def test_ctrl_wheel_zooms_around_the_pointer(nb):
    page = nb.page
    box = stage_box(nb)
    at = tuple(round(v) for v in to_client(box, 1000, 600))  # wheel events report whole CSS pixels
    page.mouse.move(*at)
    before = float(page.locator("[data-testid=zoom]").get_attribute("data-zoom"))
    page.keyboard.down("Control")
    for _ in range(4):
        page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    after = float(page.locator("[data-testid=zoom]").get_attribute("data-zoom"))
    assert after > 2 * before
    before_source = to_source(box, *at)
    sx, sy = to_source(nb.page.locator("[data-testid=canvas]").bounding_box(), *at)
    assert (sx, sy) == (pytest.approx(before_source[0], abs=0.5), pytest.approx(before_source[1], abs=0.5))


def test_rectangle_ellipse_and_modifiers(nb):
    page = nb.page
    page.locator("[data-testid=tool-rect]").click()
    box = stage_box(nb)
    a, b = to_client(box, 200, 200), to_client(box, 1800, 1200)
    drag(page, [a, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), b], before_up=lambda: shot(nb, "rect-drawing"))
    region, history = python_mask(nb)
    (x0, y0), (x1, y1) = to_source(box, *a), to_source(box, *b)
    px, py = centres(0, 0, W, H)
    rect = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
    assert history == (1, 0)
    assert iou(region, rect) >= 0.99
    shot(nb, "rect")

    # Alt subtracts an ellipse from the rectangle.
    page.locator("[data-testid=tool-ellipse]").click()
    box = stage_box(nb)
    c, d = to_client(box, 600, 400), to_client(box, 1400, 1000)
    page.keyboard.down("Alt")
    drag(page, [c, d])
    page.keyboard.up("Alt")
    region, history = python_mask(nb)
    (ex0, ey0), (ex1, ey1) = to_source(box, *c), to_source(box, *d)
    ellipse = ((px - (ex0 + ex1) / 2) / ((ex1 - ex0) / 2)) ** 2 + ((py - (ey0 + ey1) / 2) / ((ey1 - ey0) / 2)) ** 2 <= 1
    assert history == (2, 0)
    assert iou(region, rect & ~ellipse) >= 0.99
    shot(nb, "ellipse")


def test_lasso_is_a_freehand_closed_shape(nb):
    page = nb.page
    page.locator("[data-testid=tool-lasso]").click()
    box = stage_box(nb)
    centre, radius = (2000, 1000), 600
    path = [
        to_client(box, centre[0] + radius * np.cos(a) * (1 + 0.3 * np.sin(3 * a)), centre[1] + radius * np.sin(a))
        for a in np.linspace(0, 2 * np.pi, 90, endpoint=False)
    ]
    drag(page, path, before_up=lambda: shot(nb, "lasso-drawing"))
    region, history = python_mask(nb)
    expected = inside_polygon([to_source(box, x, y) for x, y in path])
    assert history == (1, 0)
    assert iou(region, expected) >= 0.98, f"IoU {iou(region, expected):.4f}"
    shot(nb, "lasso")


def test_polygon_closes_with_enter_or_a_double_click(nb):
    page = nb.page
    page.locator("[data-testid=tool-polygon]").click()
    box = stage_box(nb)
    triangle = [(300, 300), (1500, 400), (800, 1500)]
    for corner in triangle:
        page.mouse.click(*to_client(box, *corner))
    page.mouse.move(*to_client(box, 900, 900))
    shot(nb, "polygon-drawing")
    page.keyboard.press("Enter")
    square = [(2200, 300), (3400, 300), (3400, 1500), (2200, 1500)]
    for corner in square[:-1]:
        page.mouse.click(*to_client(box, *corner))
    page.mouse.dblclick(*to_client(box, *square[-1]))  # its first click is the last corner
    # Escape drops a polygon half clicked, Backspace its last corner: nothing more is sent.
    page.mouse.click(*to_client(box, 100, 1800))
    page.mouse.click(*to_client(box, 900, 1800))
    page.keyboard.press("Backspace")
    page.keyboard.press("Escape")
    region, history = python_mask(nb)
    to_src = lambda p: to_source(box, *to_client(box, *p))  # noqa: E731 - the clicked point, as the mouse could reach it
    expected = inside_polygon([to_src(p) for p in triangle]) | inside_polygon([to_src(p) for p in square])
    assert history == (2, 0)
    assert iou(region, expected) >= 0.99, f"IoU {iou(region, expected):.4f}"
    shot(nb, "polygon")


def test_colour_select_adds_with_shift_and_subtracts_with_alt(nb):
    page = nb.page
    page.locator("[data-testid=tool-color]").click()
    expect(page.locator("[data-testid=color-tolerance]")).to_have_value("32")
    expect(page.locator("[data-testid=color-contiguous]")).to_be_checked()
    box = stage_box(nb)
    px, py = centres(0, 0, W, H)
    blue = lambda r: (px >= r[0]) & (px < r[2]) & (py >= r[1]) & (py < r[3])  # noqa: E731
    page.mouse.click(*to_client(box, 1000, 600))
    region, _ = python_mask(nb)
    assert iou(region, blue(BLUE_A)) == 1.0  # contiguous: only the rectangle clicked
    box = stage_box(nb)
    page.keyboard.down("Shift")
    page.mouse.click(*to_client(box, 2800, 1500))
    page.keyboard.up("Shift")
    region, _ = python_mask(nb)
    assert iou(region, blue(BLUE_A) | blue(BLUE_B)) == 1.0
    box = stage_box(nb)
    page.keyboard.down("Alt")
    page.mouse.click(*to_client(box, 1000, 600))
    page.keyboard.up("Alt")
    region, history = python_mask(nb)
    assert iou(region, blue(BLUE_B)) == 1.0
    assert history == (3, 0)
    shot(nb, "color")

    # Not contiguous: one click takes every pixel of that colour.
    page.locator("[data-testid=color-contiguous]").uncheck()
    box = stage_box(nb)
    page.mouse.click(*to_client(box, 1000, 600))
    region, _ = python_mask(nb)
    assert iou(region, blue(BLUE_A) | blue(BLUE_B)) == 1.0


def test_undo_and_redo_step_through_the_edits(nb):
    page = nb.page
    page.locator("[data-testid=tool-rect]").click()
    box = stage_box(nb)
    drag(page, [to_client(box, 100, 100), to_client(box, 900, 900)])
    drag(page, [to_client(box, 2000, 1000), to_client(box, 3000, 2000)])
    both, history = python_mask(nb)
    assert history == (2, 0)
    undo, redo = page.locator("[data-testid=mask-undo]"), page.locator("[data-testid=mask-redo]")
    page.locator("[data-testid=studio]").focus()
    page.keyboard.press("Control+z")
    expect(redo).to_be_enabled()
    first, history = python_mask(nb)
    assert history == (1, 1)
    assert first.sum() < both.sum() and not (first & ~both).any()
    undo.click()
    expect(undo).to_be_disabled()
    none, history = python_mask(nb)
    assert history == (0, 2) and not none.any()
    page.locator("[data-testid=studio]").focus()
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+y")
    expect(redo).to_be_disabled()
    again, history = python_mask(nb)
    assert history == (2, 0) and (again == both).all()
    # The layer shows Python's mask: as many pixels as Python's mask at canvas size, give or take the edges.
    shown = page.evaluate(
        """() => { const c = document.querySelector('[data-testid=mask-layer]');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] >= 128; return n / (c.width * c.height); }"""
    )
    assert shown == pytest.approx(both.mean(), rel=0.02)
    nb.assert_no_console_errors()


def test_overlay_colour_and_outline(nb):
    page = nb.page
    page.locator("[data-testid=tool-ellipse]").click()
    box = stage_box(nb)
    drag(page, [to_client(box, 800, 400), to_client(box, 2800, 1800)])
    python_mask(nb)
    page.locator("[data-testid=overlay-colour]").select_option("#00e5ff")
    page.locator("[data-testid=overlay-outline]").check()
    outline = page.locator("[data-testid=mask-outline]")
    expect(outline).to_be_visible()
    counts = outline.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let edge = 0, cyan = 0;
                  for (let i = 0; i < d.length; i += 4) {
                    if (d[i + 3]) { edge++; cyan += d[i] === 0 && d[i + 1] === 229; }
                  }
                  return [edge, cyan, c.width * c.height]; }"""
    )
    edge, cyan, total = counts
    assert 0 < edge < total * 0.02 and cyan == edge  # a thin cyan line, not a filled area
    shot(nb, "outline")
    page.locator("[data-testid=overlay-outline]").uncheck()
    page.locator("[data-testid=overlay-colour]").select_option("#ff00ff")


def test_a_long_wide_stroke_on_a_4k_source_reaches_python_and_the_preview(nb):
    # How long the page is busy while drawing is a benchmark's question (bench/editor_browser.py:
    # frame times and long tasks over 50 strokes), not this test's.
    page = nb.page
    page.locator("[data-testid=brush-size]").fill("120")
    box = stage_box(nb)
    preview = page.locator("[data-testid=send-preview]")
    path = [to_client(box, 300 + 30 * i, 1000 + 500 * np.sin(i / 10)) for i in range(110)]
    version = preview.get_attribute("data-mask-version")
    drag(page, path)
    wait_for_patch(nb, version)
    region, history = python_mask(nb)
    radius = float(nb.add_cell("print(studio.brush['radius'])"))
    assert radius > 24  # the slider reached Python
    expected = within_polyline([to_source(box, x, y) for x, y in path], radius)
    assert history == (1, 0)
    assert iou(region, expected) >= 0.97, f"IoU {iou(region, expected):.4f}"


def test_two_finger_pinch_zooms_and_draws_nothing(nb):
    page = nb.page
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 2})
    view = page.locator("[data-testid=viewport]").bounding_box()
    cx, cy = view["x"] + view["width"] / 2, view["y"] + view["height"] / 2
    before = float(page.locator("[data-testid=zoom]").get_attribute("data-zoom"))

    def touch(kind: str, spread: float) -> None:
        points = [{"x": cx - spread, "y": cy, "id": 1}, {"x": cx + spread, "y": cy, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [] if kind == "touchEnd" else points})

    touch("touchStart", 20)
    for spread in range(25, 120, 5):
        touch("touchMove", spread)
    touch("touchEnd", 0)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})
    after = float(page.locator("[data-testid=zoom]").get_attribute("data-zoom"))
    assert after > 3 * before
    region, history = python_mask(nb)
    assert history == (0, 0) and not region.any()
