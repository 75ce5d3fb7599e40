"""ImageStudio's model, from Python: state, validation, masks, runs against the stand-in server.

The browser side is tested in tests/browser/; here the widget's messages are
delivered the way ipywidgets delivers them (``_handle_custom_msg``), and every
request goes over real HTTP to the simulator.
"""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import ImageStudio, Mask, RetryPolicy, ValidationError
from anyfast_widget.core import apply_ops

from ..conftest import encode, gradient
from .test_mask_editing import Sent, shown_layer

FAST_RETRY = RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.02)


@pytest.fixture
def studio(anyfast_simulator, run_dir):
    s = ImageStudio(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir, retry=FAST_RETRY)
    yield s
    s.close()


def state_json(widget) -> str:
    """The widget's state as it would be synced or saved in a notebook (buffers decoded as latin-1)."""
    state = widget.get_state()

    def plain(value):
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("latin-1")
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(state))


def stroke(points, radius=20.0, mode="paint"):
    return {"op": "stroke", "points": [float(v) for xy in points for v in xy], "radius": radius, "mode": mode}


def decode(data) -> Image.Image:
    return Image.open(io.BytesIO(bytes(data)))


# -- settings and validation ---------------------------------------------------------


def test_controls_follow_the_endpoint(studio):
    names = [c["name"] for c in studio.controls]
    assert studio.endpoint == "generations"
    assert names == ["size", "quality", "output_format", "moderation", "response_format"]
    studio.params = {**studio.params, "output_format": "jpeg"}
    assert "output_compression" in [c["name"] for c in studio.controls]

    studio.sources = [gradient(1024, 768)]
    names = [c["name"] for c in studio.controls]
    assert studio.endpoint == "edits"
    assert "quality" not in names and "moderation" not in names
    size = next(c for c in studio.controls if c["name"] == "size")
    assert size["auto"] == "1024x768"  # with no size chosen, an edit asks for the source's own


def test_empty_prompt_blocks_the_run_and_says_why(studio, anyfast_simulator):
    assert studio.violations == []  # nothing typed yet is no error to show in pink ...
    assert "prompt" in studio.run_blocked and "empty" in studio.run_blocked  # ... but the run button says why it waits
    with pytest.raises(ValidationError) as caught:
        studio.run()
    assert caught.value.field == "prompt"
    assert anyfast_simulator.request_count() == 0


def test_bad_size_is_explained_with_the_nearest_valid_sizes(studio):
    studio.prompt = "a lighthouse"
    studio.params = {**studio.params, "size": "1000x1000"}
    by_rule = {v["rule"]: v for v in studio.violations}
    assert set(by_rule) == {"multiple_of_16"}
    assert by_rule["multiple_of_16"]["field"] == "size"
    assert "1008x1008" in by_rule["multiple_of_16"]["fix"]
    assert studio.run_blocked.startswith("size:")


def test_variants_are_checked(studio):
    studio.prompt = "a lighthouse"
    studio.variants = 9
    assert [v["field"] for v in studio.violations] == ["variants"]
    studio.variants = 2
    assert studio.violations == [] and studio.run_blocked == ""


def test_without_a_key_the_studio_opens_but_cannot_run(run_dir, monkeypatch):
    monkeypatch.delenv("ANYFAST_API_KEY", raising=False)
    studio = ImageStudio("a lighthouse", run_dir=run_dir)
    assert "API key" in studio.run_blocked


def test_unknown_parameters_are_refused(run_dir):
    with pytest.raises(TypeError, match="n"):
        ImageStudio(api_key="k", base_url="http://127.0.0.1:9", run_dir=run_dir, n=4)


# -- sources -----------------------------------------------------------------------------


def test_sources_of_every_kind_become_cards_with_small_thumbnails(studio, tmp_path):
    path = tmp_path / "photo.webp"
    gradient(640, 480).save(path, "WEBP", lossless=True)
    studio.sources = [path, encode(gradient(300, 200), "PNG"), gradient(64, 64), np.zeros((32, 48, 3), np.uint8)]
    cards = studio.source_cards
    assert [c["name"] for c in cards] == ["photo.webp", "image 2", "image 3", "image 4"]
    assert cards[0]["format"] == "png" and "webp" in cards[0]["note"].lower()
    assert (cards[3]["width"], cards[3]["height"]) == (48, 32)
    for card in cards:
        assert max(decode(card["thumb"]).size) <= 256
    assert [s.format for s in studio.sources] == ["png", "png", "png", "png"]


def test_a_4k_source_reaches_the_browser_display_sized(studio):
    studio.sources = [gradient(3840, 2160)]
    assert studio.canvas_size == [2048, 1152]
    assert decode(studio.canvas_image).size == (2048, 1152)
    assert studio.mask.size == (3840, 2160)  # the mask is at full resolution


def test_a_bad_upload_is_reported_and_the_rest_are_added(studio):
    studio._handle_custom_msg(
        {"type": "add_sources", "names": ["good.png", "notes.png"]}, [encode(gradient(), "PNG"), b"just some text"]
    )
    assert [c["name"] for c in studio.source_cards] == ["good.png"]
    assert studio.notice["kind"] == "error" and "notes.png" in studio.notice["message"]


def test_reorder_and_remove(studio):
    studio.sources = [gradient(64, 48), gradient(80, 48), gradient(96, 48)]
    ids = [c["id"] for c in studio.source_cards]
    studio._handle_custom_msg({"type": "move_source", "from": 2, "to": 0}, [])
    assert [c["id"] for c in studio.source_cards] == [ids[2], ids[0], ids[1]]
    assert studio.mask.size == (96, 48)  # the mask follows the new primary
    studio._handle_custom_msg({"type": "remove_source", "index": 0}, [])
    assert [c["id"] for c in studio.source_cards] == [ids[0], ids[1]]
    assert studio.mask.size == (64, 48)


def test_more_than_16_sources_are_refused(studio):
    studio.sources = [gradient(32, 32)] * 16
    with pytest.raises(ValidationError, match="16"):
        studio.add_source(gradient(32, 32))


# -- the mask ----------------------------------------------------------------------------


def test_strokes_become_the_full_resolution_mask(studio):
    studio.sources = [gradient(400, 300)]
    edits = [stroke([(50, 50), (200, 60)], 12), stroke([(100, 40)], 30, "erase")]
    studio.mask_edits = edits
    expected = apply_ops(edits, (400, 300))
    assert studio.mask == expected
    assert studio.mask.region[55, 150] and not studio.mask.region[40, 100]
    assert studio.coverage == pytest.approx(100 * expected.coverage, abs=1e-3)


def test_one_more_stroke_equals_redrawing_everything_and_undo_takes_it_back(studio):
    studio.sources = [gradient(300, 200)]
    first = [stroke([(20, 20), (120, 150), (280, 30)], 9)]
    studio.mask_edits = first
    before = studio.mask
    studio.edit_mask(stroke([(150, 100), (160, 190)], 25, "erase"))
    assert studio.mask == apply_ops(studio.mask_edits, (300, 200))
    assert studio.undo_mask()  # what the undo button does
    assert studio.mask == before and studio.mask_redo == [stroke([(150, 100), (160, 190)], 25, "erase")]


def test_clear_and_invert_are_mask_edits(studio):
    studio.sources = [gradient(100, 80)]
    studio.mask_edits = [stroke([(10, 10)], 5), {"op": "invert"}]
    assert studio.mask.coverage > 0.9
    studio.mask_edits = studio.mask_edits + [{"op": "clear"}]
    assert not studio.mask.region.any()


def test_a_malformed_op_from_python_raises_and_the_mask_is_kept(studio):
    studio.sources = [gradient(100, 80)]
    studio.mask_edits = [stroke([(10, 10)], 5)]
    kept = studio.mask
    with pytest.raises(ValueError, match="points"):
        studio.mask_edits = studio.mask_edits + [{"op": "stroke", "points": [1, "x"], "radius": 3}]
    assert studio.mask == kept and len(studio.mask_edits) == 1


def test_assigning_a_mask_shows_it_on_the_canvas_and_the_brush_edits_it(studio):
    studio.sources = [gradient(400, 200)]
    region = np.zeros((200, 400), bool)
    region[50:150, 100:300] = True
    studio.mask_edits = [stroke([(10, 10)], 5)]
    studio.mask = region
    assert studio.mask_edits == [] and studio.mask == Mask.from_region(region)
    with Sent(studio) as sent:
        studio._handle_custom_msg({"type": "mask_sync"}, [])
    shown = shown_layer(studio, sent.masks())
    assert shown.shape == (200, 400) and (shown == region).all()
    studio.mask_edits = [stroke([(200, 100)], 30, "erase")]
    assert not studio.mask.region[100, 200] and studio.mask.region[60, 110]


def test_mask_conventions_are_explicit(studio):
    studio.sources = [gradient(64, 48)]
    gray = np.zeros((48, 64), np.uint8)
    gray[:, :32] = 255
    with pytest.raises(ValidationError, match="ambiguous|from_white_is_edit"):
        studio.mask = Image.fromarray(gray, "L")
    studio.mask = Mask.from_white_is_edit(Image.fromarray(gray, "L"))
    assert studio.mask.region[:, :32].all() and not studio.mask.region[:, 32:].any()
    with pytest.raises(ValidationError, match="64x48"):
        studio.mask = np.ones((10, 10), bool)


def test_the_send_preview_is_the_mask_as_sent_after_growing(studio):
    studio.sources = [gradient(200, 100)]
    studio.mask_edits = [stroke([(100, 50)], 10)]
    small = studio.coverage
    studio.mask_tools = {**studio.mask_tools, "grow": 5}
    assert studio.coverage > small
    with Sent(studio) as sent:
        studio._handle_custom_msg({"type": "mask_sync"}, [])
    [(content, (painted, send))] = sent.masks()
    rows = np.unpackbits(np.frombuffer(send, np.uint8).reshape(100, -1), axis=1, count=200).astype(bool)
    assert np.array_equal(rows, studio.mask_to_send.region) and rows.sum() > studio.mask.region.sum()
    assert {c["label"]: c["ok"] for c in studio.mask_checks}["Marks something to edit"]


def test_a_mask_that_edits_everything_blocks_the_run(studio):
    studio.prompt = "make it night"
    studio.sources = [gradient(64, 48)]
    studio.mask_edits = [{"op": "invert"}]
    assert any(v["rule"] == "keeps_nothing" for v in studio.violations)
    assert not {c["label"]: c["ok"] for c in studio.mask_checks}["Keeps something (otherwise use no mask)"]
    assert studio.run_blocked


# -- running -----------------------------------------------------------------------------


def test_generate_variants_in_one_run(studio, anyfast_simulator):
    studio.prompt = "a red fox in snow"
    studio.variants = 3
    results = studio.run()  # outside an event loop, run() blocks
    assert len(results) == 3 and anyfast_simulator.request_count() == 3
    assert studio.last is studio.results[0]
    assert all(job["status"] == "done" and job["finished_at"] >= job["started_at"] for job in studio.jobs)
    assert {job["result_id"] for job in studio.jobs} == {r.id for r in results}
    entry = studio.gallery[0]
    assert entry["prompt"] == "a red fox in snow" and max(decode(entry["preview"]).size) <= 768
    assert all(r.path.is_file() for r in results)
    assert studio.running is False and studio.run_blocked == ""


def test_an_edit_with_a_mask_measures_the_change_outside_it(studio, anyfast_simulator):
    anyfast_simulator.configure(leak=0.3)
    studio.prompt = "a boat on the lake"
    studio.sources = [gradient(1024, 1024)]
    studio.mask_edits = [stroke([(300, 300), (700, 700)], 80)]
    studio.params = {**studio.params, "size": "1024x1024"}
    (result,) = studio.run()
    sent = anyfast_simulator.api_requests[-1]
    mask_file = next(f for f in sent.files if f.field == "mask")
    alpha = np.asarray(Image.open(io.BytesIO(mask_file.data)))[..., 3]
    assert ((alpha == 0) == studio.mask.region).all()
    assert studio.gallery[0]["change_outside"] > 0
    assert result.annotations["mask_change"]["changed_outside"] > 0


def test_keep_outside_pastes_the_original_back(studio, anyfast_simulator):
    anyfast_simulator.configure(leak=0.5)
    original = gradient(1024, 1024)
    studio.prompt = "a boat on the lake"
    studio.sources = [original]
    studio.mask_edits = [stroke([(512, 512)], 150)]
    studio.mask_tools = {"grow": 0, "feather": 4, "keep_outside": True}
    (shown,) = studio.run()
    assert shown.annotations["derived_from"] != shown.id
    raw = studio.store.get(shown.annotations["derived_from"])
    far = ~Mask.from_region(studio.mask.region).grow(13).region
    assert (np.asarray(shown.image.convert("RGB"))[far] == np.asarray(original)[far]).all()
    assert not (np.asarray(raw.image.convert("RGB"))[far] == np.asarray(original)[far]).all()
    assert studio.gallery[0]["kept_outside"] and studio.gallery[0]["change_outside"] > 0


def test_errors_show_in_the_job_and_other_variants_finish(studio, anyfast_simulator):
    anyfast_simulator.fail_next(500, count=3)  # both first tries fail, then one retry (the studio allows one)
    studio.prompt = "a lighthouse"
    studio.variants = 2
    results = studio.run()
    assert len(results) == 1
    failed = [job for job in studio.jobs if job["status"] == "error"]
    assert len(failed) == 1 and failed[0]["error"]["title"] == "ServerError"
    assert "500" in failed[0]["error"]["message"] or failed[0]["error"]["hint"]


async def test_in_a_running_loop_run_returns_a_task_and_cancel_stops_it(studio, anyfast_simulator):
    anyfast_simulator.configure(latency=5.0)
    studio.prompt = "a slow picture"
    studio.variants = 2
    task = studio.run()
    assert isinstance(task, asyncio.Task)
    await asyncio.sleep(0.3)
    assert studio.running and all(job["status"] == "running" for job in studio.jobs)
    studio._handle_custom_msg({"type": "cancel"}, [])
    assert await task == []
    assert [job["status"] for job in studio.jobs] == ["cancelled", "cancelled"]
    assert not studio.running and len(studio.store) == 0


async def test_the_run_button_starts_a_run(studio, anyfast_simulator):
    studio.prompt = "a lighthouse"
    studio._handle_custom_msg({"type": "run"}, [])
    await studio._runner.task
    assert len(studio.results) == 1 and anyfast_simulator.request_count() == 1


def test_use_as_source_keeps_the_mask_for_the_same_size(studio):
    studio.prompt = "a boat"
    studio.sources = [gradient(1024, 1024)]
    studio.mask_edits = [stroke([(500, 500)], 100)]
    painted = studio.mask
    (result,) = studio.run()
    studio._handle_custom_msg({"type": "use_as_source", "id": result.id}, [])
    assert len(studio.sources) == 2 and studio.source_cards[0]["name"] == result.path.name
    assert studio.mask == painted


def test_fetch_sends_the_file_back(studio):
    studio.prompt = "a boat"
    (result,) = studio.run()
    sent = []
    studio.send = lambda content, buffers=None: sent.append((content, buffers))
    studio._handle_custom_msg({"type": "fetch", "id": result.id, "purpose": "download"}, [])
    content, buffers = sent[0]
    assert content["name"] == result.path.name and bytes(buffers[0]) == result.data


def test_history_comes_back_from_the_run_store(anyfast_simulator, run_dir, studio):
    studio.prompt = "first"
    studio.run()
    studio.prompt = "second"
    studio.run()
    again = ImageStudio(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir)
    assert [e["prompt"] for e in again.gallery] == ["second", "first"]
    assert [r.id for r in again.results] == [r.id for r in studio.results]


def test_the_key_is_nowhere_in_the_widget_state(studio, anyfast_simulator):
    studio.prompt = "a lighthouse"
    studio.sources = [gradient(64, 48)]
    studio.run()
    key = anyfast_simulator.api_key
    assert key not in state_json(studio)
    assert key not in repr(studio)


def test_a_readable_size_is_tidied_and_the_rest_judged(studio):
    studio.prompt = "a lighthouse"
    studio.params = {**studio.params, "size": " 1536 × 1024 "}
    assert studio.params["size"] == "1536x1024" and studio.violations == []
    studio.params = {**studio.params, "size": "1024X0768"}
    assert studio.params["size"] == "1024x768"
    studio.params = {**studio.params, "size": "big"}
    assert studio.params["size"] == "big" and [v["rule"] for v in studio.violations] == ["format"]
