"""No public function changes what it was given: numpy arrays, PIL images and lists come back as they went in.

The walk covers every function in ``anyfast_widget.__all__``, every public method of :class:`Mask`, and the
cheap methods of ``Client`` and ``RunStore``; a new public function without a recipe here fails the walk, so it
is not forgotten. Each input is compared with a copy taken before the call: an array's values, shape, dtype,
strides and ``flags.writeable``; an image's mode, size, pixels (``tobytes()``), info and frame; a list's length,
items (by identity) and, recursively, their contents.
"""

from __future__ import annotations

import inspect
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import anyfast_widget
from anyfast_widget import (
    Client,
    Mask,
    apply_ops,
    axis,
    compare,
    edit_size,
    extend_image,
    extension_mask,
    keep_outside,
    load_spec,
    mask_change,
    masks,
    nearest_sizes,
    open_grid,
    plan_extension,
    prepare_edit,
    prepare_generation,
    prompts,
    replace,
    sources,
)
from anyfast_widget.core import difference, encode_source, load_image

from .conftest import gradient

H, W = 48, 64


# -- inputs, fresh for every call ----------------------------------------------------------------


def rgb_array() -> np.ndarray:
    return np.asarray(gradient(W, H)).copy()


def read_only(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.flags.writeable = False
    return array


def region() -> np.ndarray:
    out = np.zeros((H, W), bool)
    out[10:30, 20:50] = True
    return out


def rgba_mask_array() -> np.ndarray:
    out = np.full((H, W, 4), 255, np.uint8)
    out[..., 3] = np.where(region(), 0, 255)
    return out


def animated() -> Image.Image:
    """A two-frame GIF, opened and left at its second frame."""
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (W, H), c) for c in ("red", "blue")]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    image = Image.open(io.BytesIO(buffer.getvalue()))
    image.seek(1)
    return image


def exif_rotated() -> Image.Image:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    gradient(W, H).save(buffer, "JPEG", exif=exif)
    return Image.open(io.BytesIO(buffer.getvalue()))  # lazy: not loaded yet


SOURCES = {
    "uint8 RGB array": rgb_array,
    "read-only array": lambda: read_only(rgb_array()),
    "Fortran-order array": lambda: np.asfortranarray(rgb_array()),
    "strided view": lambda: np.asarray(gradient(2 * W, 2 * H)).copy()[::2, ::2],
    "HxWx1 array": lambda: rgb_array()[..., :1].copy(),
    "RGBA array": lambda: np.dstack([rgb_array(), np.full((H, W), 200, np.uint8)]),
    "float array": lambda: rgb_array() / 255.0,
    "uint16 array": lambda: rgb_array().astype(np.uint16) * 257,
    "big-endian array": lambda: rgb_array().astype(">u2") * 257,
    "bool array": region,
    "RGB image": lambda: gradient(W, H),
    "RGBA image": lambda: gradient(W, H).convert("RGBA"),
    "palette image": lambda: gradient(W, H).convert("P"),
    "16-bit image": lambda: Image.fromarray(rgb_array()[..., 0].astype(np.uint16) * 257),
    "animated GIF at frame 1": animated,
    "EXIF-rotated JPEG": exif_rotated,
}
MASKS = {
    "bool array": region,
    "read-only bool array": lambda: read_only(region()),
    "Fortran-order bool array": lambda: np.asfortranarray(region()),
    "RGBA array": rgba_mask_array,
    "RGBA image": lambda: Image.fromarray(rgba_mask_array(), "RGBA"),
    "LA image": lambda: Image.fromarray(rgba_mask_array(), "RGBA").convert("LA"),
    "Mask": lambda: Mask(region()),
}


# -- snapshots -----------------------------------------------------------------------------------


def snapshot(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.copy(), value.shape, value.dtype, value.strides, value.flags.writeable, value.flags.f_contiguous)
    if isinstance(value, Image.Image):
        frame = value.tell() if hasattr(value, "tell") else 0
        return ("image", value.mode, value.size, value.tobytes(), dict(value.info), frame)
    if isinstance(value, Mask):
        return ("mask", value.region.copy(), value.size)
    if isinstance(value, (list, tuple)):
        return (type(value), [id(v) for v in value], [snapshot(v) for v in value])
    if isinstance(value, dict):
        return ("dict", list(value), [id(v) for v in value.values()], [snapshot(v) for v in value.values()])
    return ("value", value)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def assert_unchanged(call, *args: Any, **kwargs: Any) -> Any:
    """Call, and check that no argument changed; whatever the call raised or returned is returned."""
    before = snapshot([args, kwargs])
    try:
        out = call(*args, **kwargs)
    except anyfast_widget.ValidationError as exc:
        out = exc
    after = snapshot([args, kwargs])
    assert same(before, after), f"{getattr(call, '__qualname__', call)} changed its input"
    return out


# -- the walk ------------------------------------------------------------------------------------

EDIT = {"size": "1024x640"}


def _compare(**kwargs):
    return compare(run=False, api_key="sk-test", base_url="http://127.0.0.1:9", **kwargs)


def _saved_spec(sources: list, mask: Any) -> Path:
    """A grid of in-memory sources and mask written out as a spec (save_spec must not change them either)."""
    return _compare(prompt="x", sources=sources, mask=mask, cols={"size": ["1024x640", "1024x1024"]}).save_spec("spec.toml")


def _spec() -> Path:
    return _saved_spec([rgb_array(), gradient(W, H)], region())


# Each public function of the package: calls with every kind of input it takes.
FUNCTION_CALLS = {
    "prepare_generation": lambda: [assert_unchanged(prepare_generation, "x", size=[1536, 1024])],
    "prepare_edit": lambda: [
        assert_unchanged(prepare_edit, "x", [make() for make in SOURCES.values()][:16], mask=mask(), **EDIT)
        for mask in MASKS.values()
    ]
    + [assert_unchanged(prepare_edit, "x", make(), **EDIT) for make in SOURCES.values()],
    "keep_outside": lambda: [assert_unchanged(keep_outside, make(), rgb_array(), mask()) for make in SOURCES.values()
                             for mask in MASKS.values()],  # fmt: skip
    "mask_change": lambda: [assert_unchanged(mask_change, gradient(W, H), make(), mask()) for make in SOURCES.values()
                            for mask in MASKS.values()],  # fmt: skip
    "nearest_sizes": lambda: [assert_unchanged(nearest_sizes, 1000, 1000)],
    "edit_size": lambda: [assert_unchanged(edit_size, 1000, 700)],
    "apply_ops": lambda: [
        assert_unchanged(apply_ops, [{"op": "color", "point": [3, 3], "tolerance": 9, "contiguous": True}], (W, H), image=make())
        for make in (rgb_array, lambda: gradient(W, H))
    ]
    + [assert_unchanged(apply_ops, [{"op": "polygon", "points": [1, 1, 40, 5, 20, 30]}], [W, H], base=Mask(region()))],
    "plan_extension": lambda: [assert_unchanged(plan_extension, [W * 16, H * 16], right=64)],
    "extend_image": lambda: [
        assert_unchanged(extend_image, gradient(W * 16, H * 16), plan_extension((W * 16, H * 16), right=256), fill)
        for fill in ("transparent", "edge")
    ],
    "extension_mask": lambda: [assert_unchanged(extension_mask, plan_extension((W * 16, H * 16), bottom=64), 8)],
    "axis": lambda: [assert_unchanged(axis, "quality", ["low", "high"]), assert_unchanged(axis, "mask", [region(), None])],
    "prompts": lambda: [assert_unchanged(prompts, ["a", "b"], labels=["A", "B"])],
    "replace": lambda: [assert_unchanged(replace, "cat", ["dog", "fox"])],
    "sources": lambda: [assert_unchanged(sources, [[rgb_array(), gradient(W, H)], rgb_array()])],
    "masks": lambda: [assert_unchanged(masks, [make() for make in MASKS.values()] + [None])],
    "compare": lambda: [
        assert_unchanged(_compare, prompt="x", rows=masks([region(), rgba_mask_array()]), cols={"size": ["1024x640"]},
                         sources=[rgb_array(), gradient(W, H)]),  # fmt: skip
        assert_unchanged(_compare, prompt="x", sources=[make() for make in SOURCES.values()][:16], mask=region(),
                         size="1024x640"),
        assert_unchanged(_compare, prompt="x", cols={"quality": ["low", "high"]}, size=[1024, 640]),
    ],
    "load_spec": lambda: [
        assert_unchanged(_saved_spec, [make() for make in SOURCES.values()][:16], mask()) for mask in MASKS.values()
    ]
    + [assert_unchanged(load_spec, _spec()), assert_unchanged(load_spec, str(_spec()))],
    "open_grid": lambda: [
        assert_unchanged(open_grid, "anyfast-runs", _spec(), follow=False, progress=False),
        assert_unchanged(open_grid, Path("anyfast-runs"), str(_spec()), follow=False, progress=False),
    ],
}
# Not functions to call with inputs: classes (their methods are walked below) and values.
CLASSES_WALKED_ELSEWHERE = {"Mask", "Client", "AsyncClient", "RunStore", "ImageStudio", "Grid", "Plan", "Axis", "RetryPolicy",
                            "ImageResult", "PreparedRequest", "MaskChange", "Violation", "Extension"}  # fmt: skip


def test_every_public_function_has_a_recipe():
    functions = {
        name
        for name in anyfast_widget.__all__
        if inspect.isfunction(getattr(anyfast_widget, name)) and name not in CLASSES_WALKED_ELSEWHERE
    }
    assert functions == set(FUNCTION_CALLS), "give each public function a recipe in FUNCTION_CALLS"


@pytest.mark.parametrize("name", sorted(FUNCTION_CALLS))
def test_no_public_function_changes_its_inputs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # compare() opens a run store in ./anyfast-runs
    FUNCTION_CALLS[name]()


def test_the_core_readers_change_no_input():
    for make in SOURCES.values():
        assert_unchanged(load_image, make())
        assert_unchanged(encode_source, make())
        assert_unchanged(difference, make(), rgb_array())
        assert_unchanged(difference, gradient(W, H), make(), edge=32)


MASK_METHODS = {
    "from_region": lambda: [assert_unchanged(Mask.from_region, region())],
    "empty": lambda: [assert_unchanged(Mask.empty, [W, H])],
    "from_rgba": lambda: [assert_unchanged(Mask.from_rgba, rgba_mask_array()),
                          assert_unchanged(Mask.from_rgba, Image.fromarray(rgba_mask_array()))],  # fmt: skip
    "from_alpha_is_edit": lambda: [assert_unchanged(Mask.from_alpha_is_edit, rgba_mask_array()),
                                   assert_unchanged(Mask.from_alpha_is_edit, Image.fromarray(rgba_mask_array()))],  # fmt: skip
    "from_white_is_edit": lambda: [assert_unchanged(Mask.from_white_is_edit, make()) for make in SOURCES.values()],
    "from_black_is_edit": lambda: [assert_unchanged(Mask.from_black_is_edit, make()) for make in SOURCES.values()],
    "from_png": lambda: [assert_unchanged(Mask.from_png, Mask(region()).to_png())],
    "coerce": lambda: [assert_unchanged(Mask.coerce, make()) for make in (*MASKS.values(), *SOURCES.values())],
    "resize": lambda: [assert_unchanged(Mask(region()).resize, [32, 24])],
    "grow": lambda: [assert_unchanged(Mask(region()).grow, 3)],
    "shrink": lambda: [assert_unchanged(Mask(region()).shrink, 3)],
    "feathered": lambda: [assert_unchanged(Mask(region()).feathered, 2.5)],
    "invert": lambda: [assert_unchanged(Mask(region()).invert)],
    "to_image": lambda: [assert_unchanged(Mask(region()).to_image)],
    "to_png": lambda: [assert_unchanged(Mask(region()).to_png)],
}


def test_every_public_method_of_mask_has_a_recipe():
    methods = {name for name, member in vars(Mask).items() if not name.startswith("_") and not isinstance(member, property)}
    assert methods == set(MASK_METHODS)


@pytest.mark.parametrize("name", sorted(MASK_METHODS))
def test_no_method_of_mask_changes_its_inputs_or_its_mask(name):
    mask = Mask(region())
    before = mask.region.copy()
    MASK_METHODS[name]()
    for view in (mask.region, mask.rgba, mask.feathered(2)):
        view.copy()  # reading
    assert np.array_equal(mask.region, before) and not mask.region.flags.writeable


def test_a_mask_keeps_no_hold_on_what_it_was_made_from():
    given = region()
    mask = Mask.coerce(given)
    given[:] = ~given
    assert np.array_equal(mask.region, region()), "the mask shares the caller's array"
    rgba = rgba_mask_array()
    mask = Mask.coerce(rgba)
    rgba[..., 3] = 0
    assert np.array_equal(mask.region, region())
    assert mask.rgba is not mask.rgba, "rgba is a fresh array each time"


def test_client_and_run_store_change_no_input(anyfast_simulator, run_dir):
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
        for mask in MASKS.values():
            images = [rgb_array(), gradient(W, H), read_only(rgb_array())]
            result = assert_unchanged(client.edit, "a door", images, mask=mask(), output_format="jpeg", **EDIT)
            assert not isinstance(result, Exception), result
        result = assert_unchanged(client.generate, "a kite", size=[1024, 640], output_format="jpeg")
        store = client.store
        original = gradient(1024, 640)
        for mask in (np.zeros((640, 1024), bool), Mask(np.ones((640, 1024), bool))):
            assert_unchanged(store.record_mask_change, result, original, mask)
        assert_unchanged(store.annotate, result, tags=["a", "b"], scores={"x": [1, 2]})
        prepared = prepare_edit("x", [rgb_array()], mask=region(), **EDIT)
        assert_unchanged(client.send, prepared)
