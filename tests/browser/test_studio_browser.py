"""ImageStudio in a real browser, in JupyterLab 4 and Notebook 7: drawing, running, views, saving, labels.

Every notebook starts its own stand-in server in the kernel, so the studio talks
real HTTP; screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from playwright.sync_api import expect

from .jupyter import widget_state

pytestmark = pytest.mark.browser

SETUP = """\
import tempfile
import numpy as np
from PIL import Image
from anyfast_widget import ImageStudio
from anyfast_widget.simulator import Simulator

sim = Simulator(latency=0.5).start()
y, x = np.mgrid[0:2000, 0:3000]
photo = Image.fromarray(np.stack([x * 255 // 2999, y * 255 // 1999, (x // 50 % 2) * 200], -1).astype(np.uint8))
studio = ImageStudio("a lighthouse at dusk", api_key=sim.api_key, base_url=sim.base_url, run_dir=tempfile.mkdtemp())"""

# Python's mask, resampled to the canvas, as packed bits (what the browser test compares with the canvas).
PYTHON_MASK = """\
import base64
from anyfast_widget.core._previews import region_at
r = region_at(studio.mask.region, tuple(studio.canvas_size))
print(r.shape[1], r.shape[0], base64.b64encode(np.packbits(r).tobytes()).decode())"""

CANVAS_MASK = """() => {
  const c = document.querySelector('[data-testid=mask-layer]');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const bits = new Uint8Array(Math.ceil(c.width * c.height / 8));
  for (let i = 0; i < c.width * c.height; i++) if (d[4 * i + 3] >= 128) bits[i >> 3] |= 128 >> (i & 7);
  let s = ''; for (let i = 0; i < bits.length; i += 8192) s += String.fromCharCode(...bits.subarray(i, i + 8192));
  return {w: c.width, h: c.height, bits: btoa(s)};
}"""


def unpack(bits: str, width: int, height: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(base64.b64decode(bits), np.uint8))[: width * height].reshape(height, width).astype(bool)


def draw(page, box, points) -> None:
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
    page.mouse.up()


def mask_edit_counts(nb) -> tuple[int, int]:
    edits, undone = nb.add_cell("print(len(studio.mask_edits), len(studio.mask_redo))").split()
    return int(edits), int(undone)


def test_strokes_drawn_in_the_browser_are_the_mask_python_rasterizes(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook(f"draw-{ui}.ipynb", [SETUP, "studio.sources = [photo]\nstudio"])
    nb = open_notebook(f"draw-{ui}.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    canvas = page.locator("[data-testid=canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["width"] < 3000  # a 3000x2000 source is shown scaled

    draw(page, box, [(40 + 12 * i, 40 + 4 * i + 60 * (i % 5) / 5) for i in range(35)])
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)  # a dot
    page.click("[data-testid=brush-erase]")
    draw(page, box, [(100 + 3 * i, 10 + 12 * i) for i in range(20)])
    page.click("[data-testid=brush-paint]")
    expect(page.locator("[data-testid=coverage]")).not_to_have_text("", timeout=30_000)
    nb.wait_for_kernel_idle()
    assert mask_edit_counts(nb) == (3, 0)

    width, height, bits = nb.add_cell(PYTHON_MASK).split()
    python = unpack(bits, int(width), int(height))
    shown = page.evaluate(CANVAS_MASK)
    browser = unpack(shown["bits"], shown["w"], shown["h"])
    assert browser.shape == python.shape
    iou = (browser & python).sum() / (browser | python).sum()
    assert python.sum() > 1000 and iou >= 0.98, f"IoU {iou:.4f}"
    nb.screenshot(selector="[data-testid=studio]")
    nb.assert_no_console_errors()


def test_generate_fills_the_gallery(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook(f"generate-{ui}.ipynb", [SETUP, "studio.variants = 2\nstudio"])
    nb = open_notebook(f"generate-{ui}.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    run = page.locator("[data-testid=run]")
    expect(run).to_be_enabled()
    expect(run).to_have_text("Generate")
    run.click()
    expect(page.locator("[data-testid=job-row]")).to_have_count(2)
    expect(page.locator("[data-testid=gallery-item]")).to_have_count(2, timeout=60_000)
    assert nb.add_cell("print(len(studio.results), sum(1 for j in studio.jobs if j['status'] == 'done'))") == "2 2"
    nb.screenshot(selector="[data-testid=studio]")
    nb.assert_no_console_errors()


@pytest.mark.parametrize("ui", ["lab"])
def test_invalid_settings_are_explained_and_block_the_run(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook("invalid.ipynb", [SETUP, "studio"])
    nb = open_notebook("invalid.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    custom = page.locator("[data-testid=param-size-custom]")
    if not custom.is_visible():
        page.locator("[data-testid=param-size]").select_option(label="custom…")
    custom.fill("1000x1000")
    custom.press("Tab")
    expect(page.locator("[data-testid=violations-size]")).to_contain_text("multiple of 16", timeout=30_000)
    expect(page.locator("[data-testid=violations-size]")).to_contain_text("1008x1008")
    expect(page.locator("[data-testid=run]")).to_be_disabled()
    expect(page.locator("[data-testid=run-blocked]")).to_contain_text("size")
    assert "1000x1000" in nb.add_cell("print(studio.params['size'])")
    nb.screenshot(selector="[data-testid=studio]")


@pytest.mark.parametrize("ui", ["lab"])
def test_undo_redo_and_a_second_view_share_the_mask(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook("views.ipynb", [SETUP, "studio.sources = [photo]\nstudio", "studio"])
    nb = open_notebook("views.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    expect(page.locator("[data-testid=canvas]")).to_have_count(2)
    first = page.locator("[data-testid=canvas]").first
    first.scroll_into_view_if_needed()
    box = first.bounding_box()
    draw(page, box, [(60 + 10 * i, 60 + 5 * i) for i in range(30)])
    draw(page, box, [(300, 40 + 8 * i) for i in range(20)])
    nb.wait_for_kernel_idle()
    assert mask_edit_counts(nb) == (2, 0)

    page.locator("[data-testid=studio]").first.focus()
    page.keyboard.press("Control+z")
    expect(page.locator("[data-testid=mask-redo]").first).to_be_enabled()
    nb.wait_for_kernel_idle()
    assert mask_edit_counts(nb) == (1, 1)
    page.locator("[data-testid=studio]").first.focus()
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("[data-testid=mask-redo]").first).to_be_disabled()
    nb.wait_for_kernel_idle()
    assert mask_edit_counts(nb) == (2, 0)

    layers = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=mask-layer]')].map(c => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] >= 128; return n; })"""
    )
    assert len(layers) == 2 and layers[0] == layers[1] > 0
    nb.screenshot()


@pytest.mark.parametrize("ui", ["lab"])
def test_a_saved_notebook_keeps_the_widget_state_but_never_the_key(jupyter_server, open_notebook, ui, page):
    # The key leaves the kernel through a file, not an output that would itself be saved in the notebook.
    reveal = "from pathlib import Path\nPath('key.txt').write_text(sim.api_key)\nprint(len(sim.api_key))"
    jupyter_server.write_notebook("secret.ipynb", [SETUP, "studio.sources = [photo]\nstudio", reveal])
    nb = open_notebook("secret.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    page.locator("[data-testid=run]").click()
    expect(page.locator("[data-testid=gallery-item]")).to_have_count(1, timeout=60_000)
    key = (jupyter_server.root / "key.txt").read_text()
    assert key.startswith("sk-sim-")
    saved = nb.save()
    models = widget_state(saved)
    assert any("source_cards" in m["state"] for m in models.values()), "the studio's state was not saved"
    text = json.dumps(saved)
    assert key not in text
    assert key not in (jupyter_server.root / "secret.ipynb").read_text()


def test_every_control_has_a_label(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook(f"labels-{ui}.ipynb", [SETUP, "studio.sources = [photo]\nstudio"])
    nb = open_notebook(f"labels-{ui}.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('.anyfast-studio :is(button, input, select, textarea)')]
             .filter(el => el.type !== 'hidden' && el.getClientRects().length)
             .filter(el => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                             || (el.labels && el.labels.length) || el.textContent.trim() || el.title))
             .map(el => el.outerHTML.slice(0, 120))"""
    )
    assert unlabelled == []


@pytest.mark.parametrize("ui", ["lab"])
def test_upload_edit_enlarge_and_download(jupyter_server, open_notebook, ui, page, tmp_path):
    from PIL import Image

    files = []
    for i, size in enumerate([(1024, 1024), (640, 480)]):
        path = tmp_path / f"upload-{i}.png"
        Image.new("RGB", size, (40 * i, 120, 200)).save(path)
        files.append(str(path))
    jupyter_server.write_notebook("upload.ipynb", [SETUP, "studio"])
    nb = open_notebook("upload.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    page.set_input_files("[data-testid=source-input]", files)
    expect(page.locator("[data-testid=source-thumb]")).to_have_count(2, timeout=30_000)
    expect(page.locator("[data-testid=run]")).to_have_text("Edit")
    canvas = page.locator("[data-testid=canvas]")
    canvas.scroll_into_view_if_needed()
    draw(page, canvas.bounding_box(), [(50 + 8 * i, 80) for i in range(25)])
    nb.wait_for_kernel_idle()
    page.locator("[data-testid=run]").click()
    expect(page.locator("[data-testid=gallery-item]")).to_have_count(1, timeout=60_000)
    sent = nb.add_cell("r = sim.api_requests[-1]; print(r.path, sorted(f.field for f in r.files))")
    assert sent == "/v1/images/edits ['image[]', 'image[]', 'mask']"

    page.locator("[data-testid=result-enlarge]").first.click()
    expect(page.locator("[data-testid=enlarged]")).to_be_visible()
    nb.screenshot("enlarged")
    page.keyboard.press("Escape")
    expect(page.locator("[data-testid=enlarged]")).not_to_be_visible()
    with page.expect_download() as download:
        page.locator("[data-testid=result-download]").first.click()
    name = nb.add_cell("print(studio.last.path.name)")
    assert download.value.suggested_filename == name
    nb.screenshot(selector="[data-testid=studio]")


# A tiny PNG made in the page (canvas -> blob), wrapped in a DataTransfer as a drop or a paste delivers it.
DELIVER_FILE = """async ([kind, name, colour]) => {
  const c = document.createElement('canvas'); c.width = 64; c.height = 48;
  const g = c.getContext('2d'); g.fillStyle = colour; g.fillRect(0, 0, 64, 48);
  const blob = await new Promise((done) => c.toBlob(done, 'image/png'));
  const data = new DataTransfer();
  data.items.add(new File([blob], name, {type: 'image/png'}));
  const root = document.querySelector('[data-testid=studio]');
  const event = kind === 'drop'
    ? new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true})
    : new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true});
  root.dispatchEvent(event);
}"""


@pytest.mark.parametrize("ui", ["lab"])
def test_sources_by_drop_and_paste_reorder_and_remove(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook("drop.ipynb", [SETUP, "studio"])
    nb = open_notebook("drop.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    thumbs = page.locator("[data-testid=source-thumb]")
    page.evaluate(DELIVER_FILE, ["drop", "dropped.png", "#c00"])
    expect(thumbs).to_have_count(1, timeout=30_000)
    page.evaluate(DELIVER_FILE, ["paste", "pasted.png", "#0c0"])
    expect(thumbs).to_have_count(2, timeout=30_000)
    names = lambda: nb.add_cell("print([c['name'] for c in studio.source_cards])")  # noqa: E731
    assert names() == "['dropped.png', 'pasted.png']"

    thumbs.nth(1).locator("[data-testid=source-left]").click()
    expect(thumbs.first.locator("[data-testid=source-primary]")).to_have_count(1)
    nb.wait_for_kernel_idle()
    assert names() == "['pasted.png', 'dropped.png']"
    thumbs.first.locator("[data-testid=source-remove]").click()
    expect(thumbs).to_have_count(1)
    assert names() == "['dropped.png']"
    nb.screenshot(selector="[data-testid=studio]")
