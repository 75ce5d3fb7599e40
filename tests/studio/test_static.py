"""The studio's display bundle carries a static copy beside the live view: what a notebook opened without a kernel shows."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import ImageStudio, RetryPolicy, RunStore
from anyfast_widget.core import prepare_generation

from ..conftest import gradient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FAST_RETRY = RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.02)


class Pictures(HTMLParser):
    """The ``<img>`` tags of an HTML fragment and its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def decoded(src: str) -> Image.Image:
    head, _, payload = src.partition(",")
    assert head == "data:image/jpeg;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert image.format == "JPEG"
    return image


def data_of(bundle):
    return bundle[0] if isinstance(bundle, tuple) else bundle


@pytest.fixture
def studio(anyfast_simulator, run_dir):
    s = ImageStudio(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, retry=FAST_RETRY)
    yield s
    s.close()


def test_the_bundle_keeps_the_live_view_and_adds_the_results_as_thumbnails_with_their_prompts(studio):
    studio.prompt = "a lighthouse at dusk, watercolour"
    studio.variants = 2
    studio.run()
    studio.prompt, studio.variants = "a red & blue <kite> over the sea", 1
    studio.run()
    data = data_of(studio._repr_mimebundle_())

    assert data[WIDGET_VIEW]["model_id"] == studio.model_id  # the live view is still there for a kernel
    page = Pictures(data["text/html"])
    assert len(page.images) == 3 == len(studio.results)
    assert [img["alt"] for img in page.images] == ["a red & blue <kite> over the sea"] + ["a lighthouse at dusk, watercolour"] * 2
    text = " ".join(page.text)
    assert "a red & blue <kite> over the sea" in text and "<kite>" not in data["text/html"]  # escaped, not markup
    assert "ImageStudio · generations · 0 sources · 3 results" in text
    for img, result in zip(page.images, studio.results, strict=True):
        thumb = decoded(img["src"])
        assert max(thumb.size) <= 192 and max(thumb.size) >= 190
        # the thumbnail is this result's picture: compared with a plain resize of the original
        expected = np.asarray(result.image.convert("RGB").resize(thumb.size, Image.Resampling.BILINEAR), float)
        assert np.abs(np.asarray(thumb.convert("RGB"), float) - expected).mean() < 12
    assert data["text/plain"].splitlines()[0] == repr(studio)  # the widget's own text form comes first
    assert data["text/plain"].splitlines()[1] == "ImageStudio · generations · 0 sources · 3 results"
    assert studio.results[0].id in data["text/plain"]


def test_the_line_says_what_the_studio_is_edits_and_sources(studio):
    studio.sources = [gradient(512, 512), gradient(256, 256)]
    text = data_of(studio._repr_mimebundle_())["text/plain"]
    assert text.splitlines()[1] == "ImageStudio · edits · 2 sources · 0 results"


def test_the_line_says_when_the_pictures_are_synthetic(run_dir):
    s = ImageStudio(offline=True, run_dir=run_dir)
    try:
        text = data_of(s._repr_mimebundle_())["text/plain"]
    finally:
        s.close()
    assert (
        text.splitlines()[1]
        == "ImageStudio · generations · 0 sources · 0 results · offline (built-in stand-in, synthetic images)"
    )


def test_a_studio_with_no_results_says_so_and_shows_no_picture(studio):
    data = data_of(studio._repr_mimebundle_())
    assert Pictures(data["text/html"]).images == []
    assert "No results yet" in data["text/html"]


def test_the_static_copy_never_holds_the_key_or_the_servers_address(anyfast_simulator, run_dir):
    base_url = anyfast_simulator.base_url + "?token=s3cr3t-query"
    s = ImageStudio("a fox", api_key=anyfast_simulator.api_key, base_url=base_url, run_dir=run_dir, retry=FAST_RETRY)
    try:
        s.run()
        data = data_of(s._repr_mimebundle_())
    finally:
        s.close()
    bundle = json.dumps(data)
    host = re.sub(r"^https?://", "", anyfast_simulator.base_url).split("/")[0]
    assert anyfast_simulator.api_key not in bundle
    assert "s3cr3t-query" not in bundle and host not in bundle
    assert str(run_dir) not in data["text/html"]  # the text form starts with the repr, which names the run directory


def noisy_history(run_dir, count: int) -> None:
    """``count`` results whose pictures are noise (the worst case for JPEG), saved in the run store."""
    store = RunStore(run_dir)
    rng = np.random.default_rng(7)
    for i in range(count):
        buffer = io.BytesIO()
        noise = Image.fromarray(rng.integers(0, 256, (128, 192, 3), dtype=np.uint8), "RGB")  # noise at the thumbnail's scale
        noise.resize((1536, 1024), Image.Resampling.NEAREST).save(buffer, "PNG", compress_level=1)
        store.save(
            prepare_generation(f"noise {i} " + "with a long prompt " * 20, size="1536x1024"),
            buffer.getvalue(),
            size=(1536, 1024),
            revised_prompt=None,
            request_id=None,
            timings={},
            extras={},
        )
        time.sleep(0.005)  # created_at has millisecond resolution
    store.close()


def test_at_most_eight_results_and_the_copy_stays_small_even_for_noise(anyfast_simulator, run_dir):
    noisy_history(run_dir, 11)
    s = ImageStudio(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir)
    try:
        data = data_of(s._repr_mimebundle_())
    finally:
        s.close()
    page = Pictures(data["text/html"])
    assert len(page.images) == 8  # the 8 newest of 11
    assert [img["alt"].split()[1] for img in page.images] == [str(i) for i in range(10, 2, -1)]
    assert all(decoded(img["src"]).size == (192, 128) for img in page.images)
    assert "11 results" in data["text/plain"] and "the 8 latest shown" in data["text/html"]
    assert len(data["text/html"].encode()) < 300_000
    assert len(data["text/plain"].splitlines()) == 1 + 1 + 8


def test_a_result_whose_file_is_gone_keeps_its_caption(studio):
    studio.prompt = "a vanished picture"
    studio.run()
    result = studio.results[0]
    result.release()
    result.path.unlink()
    html = data_of(studio._repr_mimebundle_())["text/html"]
    assert Pictures(html).images == [] and "a vanished picture" in html and "cannot be read" in html
