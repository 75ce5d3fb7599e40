"""The studio's mask editor, from Python: every tool as an edit, undo and redo as patches, what the browser is sent.

The browser sends one edit per message (``mask_edit``), and ``mask_undo`` / ``mask_redo``;
Python answers each change with one ``mask`` message: the changed box of the display-sized
mask, one bit per pixel. Messages are delivered as ipywidgets delivers them
(``_handle_custom_msg``), and what goes back is read off the widget's comm output.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import ImageStudio
from anyfast_widget.core import apply_ops, region_at
from anyfast_widget.studio._mask_state import region_in_box

from ..conftest import gradient


def stroke(points, radius=10.0, mode="paint"):
    return {"op": "stroke", "points": [float(v) for xy in points for v in xy], "radius": float(radius), "mode": mode}


@pytest.fixture
def studio(run_dir):
    s = ImageStudio(api_key="sk-test", base_url="http://127.0.0.1:9", run_dir=run_dir)
    yield s
    s.close()


class Sent:
    """The messages the widget sends to the browser while in use (its comm's output)."""

    def __init__(self, widget):
        self.messages: list[tuple[dict, list[bytes]]] = []
        self._widget = widget

    def __enter__(self):
        self._widget._send = lambda msg, buffers=None: self.messages.append((msg, [bytes(b) for b in buffers or []]))
        return self

    def __exit__(self, *_):
        del self._widget._send

    def masks(self):
        """The ``mask`` messages sent, in order: (content, buffers)."""
        return [(m["content"], b) for m, b in self._custom() if m["content"].get("type") == "mask"]

    def _custom(self):
        return [(m, b) for m, b in self.messages if m.get("method") == "custom"]


def shown_layer(studio, messages) -> np.ndarray:
    """The display-sized mask the browser holds after drawing ``messages``' patches in order."""
    width, height = studio.canvas_size
    layer = np.zeros((height, width), bool)
    for content, buffers in messages:
        x, y, w, h = content["box"]
        rows = np.frombuffer(buffers[0], np.uint8).reshape(h, -1)
        layer[y : y + h, x : x + w] = np.unpackbits(rows, axis=1, count=w).astype(bool)
    return layer


def test_each_tool_is_one_edit_and_the_mask_is_what_the_core_draws(studio):
    studio.sources = [gradient(400, 300)]
    edits = [
        {"op": "rect", "box": [300, 40, 120, 200], "mode": "paint"},
        {"op": "ellipse", "box": [10, 10, 110, 90], "mode": "paint"},
        {"op": "polygon", "points": [200, 250, 390, 290, 300, 150], "mode": "paint"},
        stroke([(150, 100), (250, 110)], 12, "erase"),
    ]
    for i, edit in enumerate(edits):
        studio.edit_mask(edit)
        assert studio.mask == apply_ops(edits[: i + 1], (400, 300))
        assert studio.mask_history == {"undo": i + 1, "redo": 0}
    assert studio.mask_edits == edits
    assert studio.mask.region[100, 200] is np.False_ and studio.mask.region[50, 60] and studio.mask.region[180, 130]


def test_colour_select_works_on_the_full_resolution_source(studio):
    image = np.zeros((200, 300, 3), np.uint8)
    image[:, :] = (200, 30, 30)
    image[:, 150] = (0, 0, 255)  # a blue line splits the red in two
    image[20:40, 20:40] = (205, 35, 28)  # near enough to red for a tolerance of 10
    studio.sources = [Image.fromarray(image)]
    studio.edit_mask({"op": "color", "point": [10, 10], "tolerance": 10, "contiguous": True, "mode": "paint"})
    region = studio.mask.region
    assert region[:, :150].all() and not region[:, 150:].any()
    studio.undo_mask()
    studio.edit_mask({"op": "color", "point": [10, 10], "tolerance": 10, "contiguous": False, "mode": "paint"})
    assert studio.mask.region.sum() == 200 * 299
    studio.edit_mask({"op": "color", "point": [30, 30], "tolerance": 0, "contiguous": True, "mode": "erase"})
    assert studio.mask.region.sum() == 200 * 299 - 400


def test_undo_and_redo_walk_the_history_exactly(studio):
    studio.sources = [gradient(320, 240)]
    rng = np.random.default_rng(7)
    states = [studio.mask.region.copy()]
    for _ in range(30):
        x, y = rng.uniform(0, 320), rng.uniform(0, 240)
        kind = rng.choice(["stroke", "rect", "invert", "erase"])
        if kind == "stroke":
            studio.edit_mask(stroke([(x, y), (x + 40, y + 10)], rng.uniform(2, 30)))
        elif kind == "rect":
            studio.edit_mask({"op": "rect", "box": [x, y, x + 50, y + 30], "mode": "paint"})
        elif kind == "erase":
            studio.edit_mask(stroke([(x, y)], 25, "erase"))
        else:
            studio.edit_mask({"op": "invert"})
        states.append(studio.mask.region.copy())
    for expected in reversed(states[:-1]):
        assert studio.undo_mask()
        assert np.array_equal(studio.mask.region, expected)
    assert not studio.undo_mask() and studio.mask_history == {"undo": 0, "redo": 30}
    for expected in states[1:]:
        assert studio.redo_mask()
        assert np.array_equal(studio.mask.region, expected)
    assert not studio.redo_mask()
    studio.undo_mask()
    studio.edit_mask({"op": "clear"})  # a new edit drops what could be redone
    assert studio.mask_redo == [] and not studio.mask.region.any()


def test_the_browser_is_sent_only_the_changed_box_and_ends_equal_to_python(studio):
    studio.sources = [gradient(3000, 2000)]  # shown at 2048 x 1365: a canvas pixel covers ~1.46 source pixels
    with Sent(studio) as sent:
        studio._handle_custom_msg({"type": "mask_sync"}, [])
        for edit in [
            stroke([(500, 500), (900, 700)], 40),
            {"op": "rect", "box": [1000, 100, 1400, 300]},
            stroke([(600, 560)], 30, "erase"),
            {"op": "polygon", "points": [2000, 1900, 2900, 1000, 2990, 1990]},
        ]:
            studio._handle_custom_msg({"type": "mask_edit", "edit": edit}, [])
        studio._handle_custom_msg({"type": "mask_undo"}, [])
    patches = sent.masks()
    assert len(patches) == 6 and patches[0][0]["full"]
    versions = [c["version"] for c, _ in patches]
    assert versions == sorted(versions) and len(set(versions)) == 6
    stroke_patch = patches[1]
    x, y, w, h = stroke_patch[0]["box"]
    assert w * h < 0.1 * 2048 * 1365 and len(stroke_patch[1][0]) == h * ((w + 7) // 8)
    assert np.array_equal(shown_layer(studio, patches), region_at(studio.mask.region, tuple(studio.canvas_size)))


def test_a_stroke_message_does_not_grow_with_the_history(studio):
    studio.sources = [gradient(1600, 900)]
    with Sent(studio) as sent:
        for i in range(50):
            studio._handle_custom_msg({"type": "mask_edit", "edit": stroke([(100 + 20 * i, 300), (140 + 20 * i, 330)], 15)}, [])
    sizes = [len(b[0]) for _, b in sent.masks()]
    assert len(sizes) == 50 and max(sizes) == min(sizes)  # the same stroke shape: the same bytes, first or fiftieth


def test_the_box_patch_equals_the_whole_mask_resampled(studio):
    rng = np.random.default_rng(3)
    region = rng.random((1234, 2345)) > 0.6
    canvas = (2048, 1078)
    whole = region_at(region, canvas)
    for box in [(0, 0, 2048, 1078), (17, 33, 200, 91), (2000, 1000, 48, 78), (1, 1, 1, 1)]:
        x, y, w, h = box
        assert np.array_equal(region_in_box(region, canvas, box), whole[y : y + h, x : x + w]), box


def test_grow_is_kept_up_to_date_in_the_changed_box(studio):
    studio.sources = [gradient(500, 400)]
    studio.mask_tools = {**studio.mask_tools, "grow": 6}
    for edit in [
        stroke([(100, 100), (300, 120)], 10),
        {"op": "rect", "box": [200, 200, 260, 390]},
        stroke([(250, 300)], 9, "erase"),
    ]:
        studio.edit_mask(edit)
        expected = studio.mask.grow(6)
        assert studio.mask_to_send == expected
        assert studio.coverage == pytest.approx(100 * expected.coverage, abs=1e-3)
    studio.undo_mask()
    assert studio.mask_to_send == studio.mask.grow(6)
    studio.mask_tools = {**studio.mask_tools, "grow": -3}
    studio.edit_mask({"op": "rect", "box": [10, 10, 60, 60]})
    assert studio.mask_to_send == studio.mask.shrink(3)


def test_a_bad_edit_from_the_browser_is_refused_and_from_python_raises(studio):
    studio.sources = [gradient(100, 80)]
    studio.edit_mask(stroke([(10, 10)], 5))
    kept = studio.mask
    studio._handle_custom_msg({"type": "mask_edit", "edit": {"op": "stroke", "points": [1, "x"], "radius": 3}}, [])
    assert studio.mask == kept and len(studio.mask_edits) == 1
    assert studio.notice["kind"] == "error" and "mask_edit.edit.points" in studio.notice["message"]
    with pytest.raises(ValueError, match="points"):
        studio.edit_mask({"op": "polygon", "points": [1, 2, 3, 4]})
    studio._handle_custom_msg(
        {"type": "mask_edit", "edit": {"op": "color", "point": [500, 5], "tolerance": 3, "contiguous": True}}, []
    )
    assert studio.mask == kept and studio.notice["title"] == "A mask edit was not applied"


def test_the_history_folds_its_oldest_steps_into_the_base(studio):
    studio.sources = [gradient(200, 100)]
    studio._mask.history.max_steps = 5
    for i in range(8):
        studio.edit_mask({"op": "rect", "box": [20 * i, 0, 20 * i + 10, 50]})
    assert studio.mask_history == {"undo": 5, "redo": 0}
    while studio.undo_mask():
        pass
    assert studio.mask.region[:50, :60].sum() == 3 * 10 * 50 and not studio.mask.region[:, 60:].any()


def test_the_sharp_view_is_the_source_itself(studio):
    stripes = np.where((np.arange(3840) // 2) % 2 == 0, 230, 20).astype(np.uint8)  # 2 px wide: the preview blurs them
    image = np.repeat(np.broadcast_to(stripes, (2160, 3840))[..., None], 3, axis=2).copy()
    studio.sources = [Image.fromarray(image)]
    with Sent(studio) as sent:
        studio._handle_custom_msg({"type": "view", "box": [1000.5, 500, 1400, 700], "width": 800, "height": 400}, [])
        studio._handle_custom_msg({"type": "view", "box": [0, 0, 5000, 5000], "width": 100, "height": 4096}, [])
    (first, data), (second, _) = [(m["content"], b[0]) for m, b in sent._custom()]
    assert first["box"] == [1000, 500, 1400, 700] and second["box"] == [0, 0, 3840, 2160]
    crop = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.int16)
    assert crop.shape == (200, 400, 3)
    assert np.abs(crop - image[500:700, 1000:1400]).mean() < 12  # JPEG, at full resolution: not an upscaled preview
    preview = np.asarray(Image.open(io.BytesIO(studio.canvas_image)).convert("RGB").resize((3840, 2160)), np.int16)
    assert np.abs(preview[500:700, 1000:1400] - image[500:700, 1000:1400]).mean() > 40  # what upscaling would show
    studio._handle_custom_msg({"type": "view", "box": [0, 0, 10, 10], "width": 100_000, "height": 5}, [])
    assert "view.width" in studio.notice["message"]
