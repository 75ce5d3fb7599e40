"""The grid view's display bundle carries a labelled table of thumbnails beside the live view, for notebooks without a kernel."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
from PIL import Image

from anyfast_widget import compare, prompts
from anyfast_widget.grid import _progress

from ..studio.test_static import decoded

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Table(HTMLParser):
    """The header cells (``th``) of an HTML fragment in order, its ``img`` tags, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.images: list[dict[str, str]] = []
        self.text: list[str] = []
        self._in_th = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "th":
            self._in_th = True
            self.headers.append("")
        elif tag == "img":
            self.images.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_th = False

    def handle_data(self, data):
        if self._in_th:
            self.headers[-1] += data
        self.text.append(data)


def data_of(bundle):
    return bundle[0] if isinstance(bundle, tuple) else bundle


def grid_kwargs(simulator, run_dir):
    return {"api_key": simulator.api_key, "base_url": simulator.base_url, "run_dir": run_dir, "progress": False}


def test_the_bundle_keeps_the_live_view_and_adds_a_labelled_table_of_thumbnails(anyfast_simulator, run_dir):
    grid = compare(
        "a fox",
        rows={"quality": ["low", "high"]},
        cols=prompts(["a fox", "a blockme fox", "an owl"], labels=["fox", "blocked", "owl"]),
        repeats=2,
        **grid_kwargs(anyfast_simulator, run_dir),
    )
    data = data_of(grid.view._repr_mimebundle_())
    assert data[WIDGET_VIEW]["model_id"] == grid.view.model_id

    table = Table(data["text/html"])
    assert table.headers == ["quality \\ prompt", "fox", "blocked", "owl", "low", "high"]
    done = [slot.result for cell in grid.cells for slot in cell.slots if slot.result is not None]
    assert len(done) == 8 and len(table.images) == 8  # the blocked column has no picture ...
    assert table.text.count("blocked") == 1 + 4  # ... but says so in each of its 4 slots (and the label says it too)
    assert [img["alt"] for img in table.images[:2]] == ["a fox (low, fox)"] * 2
    for img, result in zip(table.images, done, strict=True):  # in reading order: row by row, repeats side by side
        thumb = decoded(img["src"])
        assert max(thumb.size) == 128
        expected = np.asarray(result.image.convert("RGB").resize(thumb.size, Image.Resampling.BILINEAR), float)
        assert np.abs(np.asarray(thumb.convert("RGB"), float) - expected).mean() < 12
    assert f"grid {grid.id} · 1x2x3 x2 repeats · rows: quality · columns: prompt" in data["text/plain"]
    assert "low / blocked: blocked, blocked" in data["text/plain"]


def test_a_grid_shown_in_a_kernel_carries_the_static_table_too(anyfast_simulator, run_dir, monkeypatch):
    grid = compare("a fox", cols={"quality": ["low", "high"]}, **grid_kwargs(anyfast_simulator, run_dir))
    monkeypatch.setattr(_progress, "get_ipython", lambda: type("Shell", (), {"kernel": object()})())
    data = data_of(grid._repr_mimebundle_())
    assert data[WIDGET_VIEW]["model_id"] == grid.view.model_id
    assert len(Table(data["text/html"]).images) == 2


def test_a_grid_not_yet_run_shows_its_labels_and_states(anyfast_simulator, run_dir):
    grid = compare(
        "a fox",
        cols={"quality": ["low", "high"]},
        pages=prompts(["a fox", "an owl"]),
        run=False,
        **grid_kwargs(anyfast_simulator, run_dir),
    )
    table = Table(data_of(grid.view._repr_mimebundle_())["text/html"])
    assert table.images == []
    assert table.headers == ["low", "high", "low", "high"]  # one table per page
    assert "page a fox" in table.text and "page an owl" in table.text
    assert table.text.count("pending") == 4  # one box per request


def test_a_big_grid_inlines_at_most_36_pictures_and_stays_small(anyfast_simulator, run_dir):
    grid = compare(
        "a fox",
        rows={"quality": ["low", "medium", "high"]},
        cols={"size": ["1024x1024", "1536x1024", "1024x1536"]},
        repeats=5,
        **grid_kwargs(anyfast_simulator, run_dir),
    )
    html = data_of(grid.view._repr_mimebundle_())["text/html"]
    table = Table(html)
    assert len(table.images) == 36
    assert "9 more pictures not inlined" in html and "grid.save_contact_sheets" in html
    assert len(html.encode()) < 300_000


def test_the_static_table_never_holds_the_key_or_the_servers_address(anyfast_simulator, run_dir):
    kwargs = {**grid_kwargs(anyfast_simulator, run_dir), "base_url": anyfast_simulator.base_url + "?token=s3cr3t-query"}
    grid = compare("a fox", cols={"quality": ["low", "high"]}, **kwargs)
    bundle = json.dumps(data_of(grid.view._repr_mimebundle_()))
    host = re.sub(r"^https?://", "", anyfast_simulator.base_url).split("/")[0]
    assert anyfast_simulator.api_key not in bundle and "s3cr3t-query" not in bundle and host not in bundle
    assert str(run_dir) not in bundle
