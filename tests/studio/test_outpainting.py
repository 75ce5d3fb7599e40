"""Outpainting and edits shaped like their source, from Python, against the stand-in server over real HTTP."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import ImageStudio, Mask, RetryPolicy, ValidationError

from ..conftest import gradient


@pytest.fixture
def studio(anyfast_simulator, run_dir):
    s = ImageStudio(
        api_key=anyfast_simulator.api_key,
        base_url=anyfast_simulator.base_url,
        run_dir=run_dir,
        retry=RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.02),
    )
    yield s
    s.close()


def sent_field(simulator, name):
    return simulator.api_requests[-1].fields[name]


def test_an_edit_with_no_size_asks_for_the_sources_own_size(studio, anyfast_simulator):
    studio.prompt = "make it dusk"
    studio.sources = [gradient(1536, 1024)]
    assert next(c for c in studio.controls if c["name"] == "size")["auto"] == "1536x1024"
    (result,) = studio.run()
    assert sent_field(anyfast_simulator, "size") == "1536x1024" and result.size == (1536, 1024)


def test_a_source_of_no_valid_size_asks_for_the_nearest_of_its_shape_and_masks_still_work(studio, anyfast_simulator):
    anyfast_simulator.configure(leak=0.4)
    original = gradient(1000, 700)  # edges not multiples of 16
    studio.prompt = "a boat"
    studio.sources = [original]
    auto = next(c for c in studio.controls if c["name"] == "size")["auto"]
    width, height = map(int, auto.split("x"))
    assert width % 16 == height % 16 == 0 and abs(width / height - 1000 / 700) < 0.02
    studio.edit_mask({"op": "rect", "box": [300, 200, 700, 500], "mode": "paint"})
    studio.mask_tools = {"grow": 0, "feather": 2, "keep_outside": True}
    (shown,) = studio.run()
    assert sent_field(anyfast_simulator, "size") == auto
    raw = studio.store.get(shown.annotations["derived_from"])
    assert raw.size == (width, height)  # the API's answer, at the size asked for
    assert shown.annotations["mask_change"]["changed_outside"] > 0  # measured although the sizes differ
    assert studio.gallery[0]["change_outside"] is not None


def test_extend_canvas_places_the_original_and_masks_exactly_the_new_area(studio):
    original = gradient(1024, 768)
    studio.sources = [original]
    plan = studio.extend_canvas(right=512, overlap=0)
    assert plan.size == (1536, 768) and plan.offset == (0, 0) and plan.snapped == ()
    assert studio.sources[0].size == (1536, 768)
    card = studio.source_cards[0]
    assert card["extended"]["offset"] == [0, 0] and card["extended"]["original"] == [1024, 768]
    image = np.asarray(Image.open(io.BytesIO(studio.sources[0].data)).convert("RGBA"))
    assert (image[:, :1024, :3] == np.asarray(original)).all() and (image[:, 1024:, 3] == 0).all()
    expected = np.zeros((768, 1536), bool)
    expected[:, 1024:] = True
    assert np.array_equal(studio.mask.region, expected)
    studio.undo_mask()  # the new area's mask is where the history starts: nothing to undo
    assert np.array_equal(studio.mask.region, expected)


def test_an_aspect_is_snapped_to_the_rules_and_the_studio_says_so(studio):
    studio.sources = [gradient(1000, 1000)]
    plan = studio.extend_canvas(aspect="16:9", overlap=8)
    width, height = plan.size
    assert width % 16 == height % 16 == 0 and width / height == pytest.approx(16 / 9, rel=0.02)
    assert plan.snapped and studio.notice["kind"] == "info" and f"{width}x{height}" in studio.notice["hint"]
    x, y = plan.offset
    assert studio.mask.region[y + 500, x + 500] == np.False_  # the original's middle is kept
    assert studio.mask.region[y + 500, x + 3]  # its edge is overlapped by 8 px, so the seam blends
    with pytest.raises(ValidationError, match="aspect"):
        studio.extend_canvas(aspect="10:1")


def test_an_outpainted_edit_keeps_its_provenance_and_keep_outside_pastes_the_original_back(studio, anyfast_simulator):
    anyfast_simulator.configure(leak=0.5)
    original = gradient(1024, 1024)
    studio.prompt = "more of the landscape"
    studio.sources = [original]
    plan = studio.extend_canvas(left=256, right=256, overlap=16, fill="edge")
    studio.mask_tools = {"grow": 0, "feather": 2, "keep_outside": True}
    (shown,) = studio.run()
    assert sent_field(anyfast_simulator, "size") == "1536x1024"
    assert shown.annotations["extended"]["offset"] == list(plan.offset) == [256, 0]
    raw = studio.store.get(shown.annotations["derived_from"])
    assert raw.annotations["extended"]["original"] == [1024, 1024]
    keep = ~Mask.from_region(studio.mask.region).grow(7).region
    pasted = np.asarray(shown.image.convert("RGB"))
    extended = np.asarray(Image.open(io.BytesIO(studio.sources[0].data)).convert("RGB"))
    assert (pasted[keep] == extended[keep]).all()
    inner = pasted[:, 256 + 30 : 256 + 1024 - 30]
    assert (inner == np.asarray(original)[:, 30:-30]).all()  # the original, exactly, away from the seams


def test_the_extend_message_does_what_the_method_does(studio):
    studio.sources = [gradient(1024, 1024)]
    studio._handle_custom_msg({"type": "extend", "top": 256, "fill": "transparent", "overlap": 0}, [])
    assert studio.sources[0].size == (1024, 1280) and studio.mask.region[:256].all() and not studio.mask.region[256:].any()
    studio._handle_custom_msg({"type": "extend", "aspect": "50:1"}, [])
    assert studio.notice["kind"] == "error" and studio.sources[0].size == (1024, 1280)
