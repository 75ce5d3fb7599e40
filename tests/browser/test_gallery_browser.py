"""The studio's history in JupyterLab: older results come as placeholders of their pictures' shapes, then the pictures.

The kernel starts a stand-in server, a client saves results of four shapes into a run
store (no previews kept), and a studio opens on it showing 12; "Show more" brings 12
older ones, whose previews Python makes after the entries are shown. A recorder in the
page notes every state each picture's ``<img>`` takes. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("ui", ["lab"])]

SIZES = ["2048x1152", "1152x2048", "2304x768", "1536x1536"]  # landscape, portrait, 3:1, square
SETUP = f"""\
import tempfile
from anyfast_widget import Client, ImageStudio
from anyfast_widget.simulator import Simulator

sim = Simulator().start()
run_dir = tempfile.mkdtemp()
sizes = {SIZES!r}
with Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir) as client:
    made = [client.generate(f"picture {{i}}", size=sizes[i % 4], quality="low") for i in range(24)]
studio = ImageStudio(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, history=12)"""

# Every state each result's picture takes, in order, with the placeholder's URL when it waits.
RECORDER = """() => {
  window.pictureStates = {};
  const note = (img) => {
    const id = img.closest('[data-testid=gallery-item]').dataset.id;
    const seen = (window.pictureStates[id] = window.pictureStates[id] || []);
    const state = img.dataset.state;
    if (!seen.length || seen[seen.length - 1].state !== state) seen.push({state, src: state === 'pending' ? img.src : ''});
  };
  const gallery = document.querySelector('[data-testid=gallery]');
  gallery.querySelectorAll('[data-testid=result-picture]').forEach(note);
  new MutationObserver((changes) => {
    for (const change of changes) {
      const pictures = () => [...gallery.querySelectorAll('[data-testid=result-picture]')];
      const found = change.type === 'attributes' ? [change.target] : pictures();
      found.filter((el) => el.matches('[data-testid=result-picture]')).forEach(note);
    }
  }).observe(gallery, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-state']});
}"""


def placeholder_size(src: str) -> tuple[int, int]:
    svg = unquote(src.removeprefix("data:image/svg+xml,"))
    width, height = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups()
    return int(width), int(height)


def test_older_results_wait_as_placeholders_of_their_shape_then_show(jupyter_server, open_notebook, ui, page):
    jupyter_server.write_notebook(f"history-{ui}.ipynb", [SETUP, "studio"])
    nb = open_notebook(f"history-{ui}.ipynb")
    nb.run_all()
    nb.wait_for("[data-testid=studio]")
    items = page.locator("[data-testid=gallery-item]")
    expect(items).to_have_count(12, timeout=60_000)
    expect(page.locator("[data-testid=result-picture][data-state=shown]")).to_have_count(12, timeout=60_000)
    page.evaluate(RECORDER)

    page.locator("[data-testid=gallery-more]").click()
    expect(items).to_have_count(24, timeout=60_000)
    page.locator("[data-testid=gallery-item]").nth(12).scroll_into_view_if_needed()
    if page.locator("[data-testid=result-picture][data-state=pending]").count():
        nb.screenshot("waiting")  # (as often as not, some are still on their way)
    expect(page.locator("[data-testid=result-picture][data-state=shown]")).to_have_count(24, timeout=60_000)
    nb.screenshot("shown")

    ids = items.evaluate_all("els => els.map(el => el.dataset.id)")
    states = page.evaluate("() => window.pictureStates")
    sizes = nb.add_cell("print(' '.join(f'{r.id}:{r.width}x{r.height}' for r in studio.results))").split()
    shape = dict(entry.split(":") for entry in sizes)
    for result_id in ids[12:]:  # the older page: each waited, shaped like its picture, then showed
        seen = states[result_id]
        assert [s["state"] for s in seen] == ["pending", "shown"], (result_id, seen)
        width, height = map(int, shape[result_id].split("x"))
        assert placeholder_size(seen[0]["src"]) == (width, height)
    assert {shape[i] for i in ids[12:]} == set(SIZES)
    # Each picture has its result's shape, in the box its placeholder took (the same <img>, object-fit: contain).
    # (Pictures far below the fold are loaded lazily: those are left out.)
    shown = page.locator("[data-testid=result-picture]").evaluate_all(
        "els => els.map(el => [el.naturalWidth, el.naturalHeight, el.getBoundingClientRect().height])"
    )
    loaded = [(result_id, *picture) for result_id, picture in zip(ids, shown) if picture[0]]
    assert len(loaded) >= 6
    for result_id, width, height, box in loaded:
        expected = tuple(map(int, shape[result_id].split("x")))
        assert max(width, height) == 768 and abs(width / height - expected[0] / expected[1]) < 0.01
    assert {box for *_, box in shown} == {shown[0][2]}
    nb.assert_no_console_errors()
