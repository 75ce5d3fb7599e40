"""Bad inputs end in a clear ValidationError (or a documented conversion), never another exception, never a request.

Every call goes through a real client to the stand-in server over HTTP, so "nothing was sent" is what the
server saw. Whether a call is allowed is decided by oracles written here from the API's README, not by
``anyfast_widget.core._rules``. Conversions are checked on the file the server received: it must look like what a
viewer shows for the input (EXIF orientation applied, first frame of an animation, 16-bit scaled to 8).
"""

from __future__ import annotations

import asyncio
import io
import re
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, scalar_dtypes
from PIL import Image, ImageOps

from anyfast_widget import AsyncClient, Client, Mask, ValidationError

from .conftest import encode, gradient

# One simulator and one client per test function, shared by its examples: counts are compared before and after.
FIXTURES = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
# Edits that pass: the smallest area the API allows, as JPEG, which the stand-in renders and encodes fastest.
EDIT = {"size": "1024x640", "output_format": "jpeg"}
sides = st.integers(1, 24)  # edges of the small pictures most tests draw

# The API's rules, restated from ../shared/api/README.md (independent of anyfast_widget.core._rules).
QUALITIES = ("low", "medium", "high")
OUTPUT_FORMATS = ("png", "jpeg")
MODERATIONS = ("auto", "low")
RESPONSE_FORMATS = ("url", "b64_json")
MAX_SOURCES = 16
MAX_FILE_BYTES = 50_000_000  # "under 50 MB"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def sim(anyfast_simulator):
    return anyfast_simulator


@pytest.fixture
def client(anyfast_simulator, tmp_path):
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=tmp_path / "runs") as c:
        yield c


def refused(sim, call, field: str) -> ValidationError:
    """``call()`` must raise a ValidationError naming ``field``, with a fix, and send nothing."""
    before = sim.request_count()
    with pytest.raises(ValidationError) as info:
        call()
    error = info.value
    assert sim.request_count() == before, "a refused request reached the server"
    assert_clear(error, field)
    return error


def assert_clear(error: ValidationError, field: str) -> None:
    """What a user reads: the field by name, what is wrong and how to fix it, in a message of sensible length."""
    assert type(error) is ValidationError
    assert field in {v.field for v in error.violations}, (field, error.violations)
    text = str(error)
    assert field in text and "Fix:" in text and len(text) < 2000, text
    for violation in error.violations:
        assert violation.message.strip() and violation.fix.strip() and violation.rule


def sent(sim):
    """The last request the server received."""
    return sim.api_requests[-1]


def rgba(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA")).astype(int)


def noise(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    channels = len(mode)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


def chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


# -- sizes, enums, parameters, prompts ----------------------------------------------------------


def readme_size(value: object) -> tuple[int, int] | None:
    """The (width, height) the README allows for ``value``, or None.

    In Python the client also takes a (w, h) pair of ints and a string with spaces around the numbers or an
    upper-case X or ×, and sends ``WxH`` (``_rules``' documented conversion); anything else is refused.
    """
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(type(v) is int for v in value):
        width, height = value
    elif isinstance(value, str):
        parts = re.split("[xX×]", value)
        if len(parts) != 2 or not all(p.strip().isdecimal() and len(p.strip().lstrip("0")) <= 4 for p in parts):
            return None  # no edge over 3840 is allowed, so five digits or more never are
        width, height = (int(p.strip()) for p in parts)
    else:
        return None
    fits = (
        width > 0
        and height > 0
        and width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= 3 * min(width, height)
        and 655_360 <= width * height <= 8_294_400
        and max(width, height) <= 3840
    )
    return (width, height) if fits else None


def is_one_of(value: object, choices: tuple[str, ...]) -> bool:
    return isinstance(value, str) and value in choices


def readme_refusals(params: dict) -> set[str]:
    """The fields of a generation the README (and the client's no-waste rule) refuse; None means "not sent"."""
    bad = {name for name, choices in (("quality", QUALITIES), ("output_format", OUTPUT_FORMATS),
                                      ("moderation", MODERATIONS), ("response_format", RESPONSE_FORMATS))
           if params[name] is not None and not is_one_of(params[name], choices)}  # fmt: skip
    compression = params["output_compression"]
    if compression is not None:
        # JSON Schema's integer: 50.0 is one (the spec's validators take it; the client sends 50), 50.5 is not
        integral = type(compression) is int or (type(compression) is float and compression.is_integer())
        whole = integral and 0 <= compression <= 100
        if not whole or params["output_format"] != "jpeg":  # jpeg only: with png it is paid for and does nothing
            bad.add("output_compression")
    return bad


def loosely(choices: tuple[str, ...]):
    """Values near and far from an enum's: the real ones, their look-alikes, and things that are not text."""
    near = [c.upper() for c in choices] + [f" {c}" for c in choices] + [c[:-1] for c in choices]
    return st.one_of(
        st.none(),
        st.sampled_from(choices),
        st.sampled_from(near),
        st.text(max_size=8),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.binary(max_size=4),
        st.lists(st.sampled_from(choices), max_size=2),
        st.sampled_from(choices).map(lambda c: np.array([c])),  # compares equal element-wise
    )


compressions = st.one_of(
    st.none(),
    st.integers(-3, 103),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.text("0123456789", max_size=3),
    st.just(np.int64(50)),
    st.just(50.0),
)
generation_params = st.fixed_dictionaries(
    {
        "quality": loosely(QUALITIES),
        "output_format": st.one_of(st.just("jpeg"), loosely(OUTPUT_FORMATS)),
        "output_compression": compressions,
        "moderation": loosely(MODERATIONS),
        "response_format": loosely(RESPONSE_FORMATS),
    }
)


@settings(max_examples=80, **FIXTURES)
@given(params=generation_params)
@example(params={"quality": np.array(["low"]), "output_format": None, "output_compression": None, "moderation": None,
                 "response_format": "b64_json"})  # fmt: skip
@example(params={"quality": 10**5000, "output_format": "jpeg", "output_compression": 10**5000, "moderation": "a" * 100_000,
                 "response_format": None})  # fmt: skip
def test_enums_and_compression_are_sent_as_given_when_the_readme_allows_them_and_refused_by_name_otherwise(client, sim, params):
    bad = readme_refusals(params)
    if bad:
        error = refused(sim, lambda: client.generate("a lighthouse", **params), next(iter(bad)))
        assert {v.field for v in error.violations} == bad
        return
    result = client.generate("a lighthouse", **params)
    expected = {"model": "gpt-image-2-c", "prompt": "a lighthouse", **{k: v for k, v in params.items() if v is not None}}
    assert sent(sim).fields == expected
    assert result.format == (params["output_format"] or "png")


digits = st.one_of(st.integers(1, 240).map(lambda k: 16 * k), st.integers(0, 5000), st.integers(-10, 10**12))
size_texts = st.builds(
    lambda w, h, sep, pad, zeros: f"{pad}{'0' * zeros}{w}{sep}{h}{pad[::-1]}",
    digits,
    digits,
    st.sampled_from(["x", "X", "×", " x ", "*", ",", "xx", "", "x-"]),
    st.sampled_from(["", " ", "\t", "\n", "\u3000"]),
    st.integers(0, 2),
)
sizes = st.one_of(
    st.none(),
    size_texts,
    st.tuples(digits, digits),
    st.lists(digits, max_size=3),
    st.tuples(st.floats(), st.floats()),
    st.tuples(st.booleans(), digits),
    st.tuples(st.text(max_size=5), digits),
    st.text(max_size=20),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.binary(max_size=12),
)


@settings(max_examples=80, **FIXTURES)
@given(size=sizes)
@example(size="9" * 5000 + "x16")  # once a ValueError from int(): Python refuses to parse over 4,300 digits
@example(size=(10**5000, 16))  # once a ValueError from str()
@example(size=(0, 1024))  # once a "format" error whose fix suggested '0x1024'
@example(size="0x0")
@example(size=" 1536 X 1024 ")
def test_a_size_is_sent_as_w_x_h_when_the_readme_allows_it_and_refused_by_name_otherwise(client, sim, size):
    allowed = readme_size(size)
    if size is not None and allowed is None:
        error = refused(sim, lambda: client.generate("a kite", size=size, quality="low", output_format="jpeg"), "size")
        for suggestion in re.findall(r"\d+x\d+", " ".join(v.fix for v in error.violations)):
            assert readme_size(suggestion), f"the fix suggests {suggestion}, which the README refuses"
        return
    result = client.generate("a kite", size=size, quality="low", output_format="jpeg")
    width, height = allowed or (1024, 1024)
    assert sent(sim).fields.get("size") == (None if size is None else f"{width}x{height}")
    assert result.size == (width, height)


whitespace = st.text(st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\u00a0\u2003\u2028\u3000"), max_size=6)
prompts = st.one_of(
    st.text(min_size=1, max_size=40),
    whitespace,
    st.builds(lambda a, b: a + b, whitespace, st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)),
    st.none(),
    st.integers(),
    st.binary(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(max_examples=50, **FIXTURES)
@given(prompt=prompts, endpoint=st.sampled_from(["generate", "edit"]))
@example(prompt="\ud83d", endpoint="generate")  # half an emoji: once a UnicodeEncodeError inside httpx
@example(prompt="smile \ude00", endpoint="edit")
@example(prompt=10**5000, endpoint="generate")  # once a ValueError from repr()
def test_a_prompt_is_sent_verbatim_unless_it_is_blank_not_text_or_not_unicode(client, sim, prompt, endpoint):
    def call():
        if endpoint == "generate":
            return client.generate(prompt, quality="low", output_format="jpeg")
        return client.edit(prompt, noise(8, 8), **EDIT)

    writable = isinstance(prompt, str) and prompt.strip() and not any(0xD800 <= ord(c) <= 0xDFFF for c in prompt)
    if not writable:
        refused(sim, call, "prompt")
        return
    call()
    assert sent(sim).fields["prompt"] == prompt


@pytest.mark.parametrize("keyword", ["n", "background", "style", "user", "quality", "moderation"])
def test_an_unknown_keyword_is_a_type_error_that_names_it_and_nothing_is_sent(client, sim, keyword):
    """Python's own refusal, kept on purpose: type checkers and IDEs catch it before it runs (see the report)."""
    calls = [lambda: client.edit("x", noise(8, 8), **{keyword: "x"})]
    if keyword not in ("quality", "moderation"):  # these two are generation parameters
        calls.append(lambda: client.generate("x", **{keyword: "x"}))
    for call in calls:
        with pytest.raises(TypeError, match=keyword):
            call()
    assert sim.request_count() == 0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"size": "9" * 10_000 + "x16"}, "size"),
        ({"size": (10**5000, 10**5000)}, "size"),
        ({"quality": "ultra" * 200_000}, "quality"),
        ({"output_format": "jpeg", "output_compression": -(10**5000)}, "output_compression"),
        ({"prompt": "x" + "\ud800" * 10}, "prompt"),
        ({"moderation": type("Opaque", (), {"__repr__": lambda self: 1 / 0})()}, "moderation"),
    ],
)
def test_a_huge_or_unprintable_value_still_gets_a_short_refusal_that_names_it(client, sim, kwargs, field):
    kwargs = {"prompt": "a fox", **kwargs}
    refused(sim, lambda: client.generate(**kwargs), field)


# -- source images --------------------------------------------------------------------------------


def looks(image: Image.Image) -> np.ndarray:
    """What a person sees in ``image``, as RGBA ints: Pillow's rendering, with the client's documented scaling of
    16-bit greys (0-65535 -> 0-255) and float greys (0-1 -> 0-255, else taken as 0-255)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        grey = values if image.mode == "I" and values.max(initial=0) <= 255 else values / 257
    elif image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        finite = values[np.isfinite(values)]
        grey = np.nan_to_num(values) * (255 if finite.size and finite.max() <= 1 else 1)
    else:
        if image.mode in ("La", "RGBa"):  # premultiplied alpha, as Pillow undoes it
            image = image.convert(image.mode.upper())
        return np.asarray(image.convert("RGBA")).astype(int)
    level = np.clip(np.rint(grey), 0, 255).astype(int)
    return np.dstack([level, level, level, np.full_like(level, 255)])


def assert_looks_alike(got: np.ndarray, want: np.ndarray, lossy: bool) -> None:
    assert got.shape == want.shape
    assert np.array_equal(got[..., 3], want[..., 3]) or lossy, "the alpha channel changed"
    seen = want[..., 3] > 0  # a colour under alpha 0 is not seen (and premultiplied alpha does not keep it)
    diff = np.abs(got[..., :3] - want[..., :3])[seen]
    if diff.size:
        assert (diff.mean() < 6 and diff.max() < 80) if lossy else diff.max() <= 1, (diff.mean(), diff.max())


def _with_transparency(image: Image.Image) -> Image.Image:
    image.info["transparency"] = 0
    return image


MAKERS = {  # mode -> (rng, width, height) -> a PIL image in that mode
    "1": lambda r, w, h: Image.fromarray(r.random((h, w)) > 0.5),
    "L": lambda r, w, h: noise(w, h, r.integers(1 << 30), "L"),
    "LA": lambda r, w, h: noise(w, h, r.integers(1 << 30), "LA"),
    "P": lambda r, w, h: noise(w, h, r.integers(1 << 30)).quantize(12),
    "P+transparency": lambda r, w, h: _with_transparency(noise(w, h, r.integers(1 << 30)).quantize(12)),
    "RGB": lambda r, w, h: noise(w, h, r.integers(1 << 30)),
    "RGBA": lambda r, w, h: noise(w, h, r.integers(1 << 30), "RGBA"),
    "CMYK": lambda r, w, h: noise(w, h, r.integers(1 << 30)).convert("CMYK"),
    "I;16": lambda r, w, h: Image.fromarray(r.integers(0, 65536, (h, w)).astype(np.uint16)),
    "I": lambda r, w, h: Image.fromarray(r.integers(0, 65536, (h, w)).astype(np.int32)),
    "F": lambda r, w, h: Image.fromarray(r.random((h, w)).astype(np.float32)),
    "F 0-255": lambda r, w, h: Image.fromarray((r.random((h, w)) * 255).astype(np.float32)),
    "YCbCr": lambda r, w, h: noise(w, h, r.integers(1 << 30)).convert("YCbCr"),
    "LAB": lambda r, w, h: noise(w, h, r.integers(1 << 30)).convert("LAB"),
    "HSV": lambda r, w, h: noise(w, h, r.integers(1 << 30)).convert("HSV"),
    "PA": lambda r, w, h: noise(w, h, r.integers(1 << 30), "RGBA").convert("PA"),
    "La": lambda r, w, h: noise(w, h, r.integers(1 << 30), "LA").convert("La"),  # once a ValueError from convert()
    "RGBa": lambda r, w, h: noise(w, h, r.integers(1 << 30), "RGBA").convert("RGBa"),
}
SAVE_OPTIONS = {"WEBP": {"lossless": True}, "JPEG": {"quality": 95}}


def _containers(mode: str) -> list[str]:
    """The file formats Pillow writes and reads back for ``mode``, plus the PIL image itself."""
    found = ["PIL image"]
    for fmt in ("PNG", "JPEG", "TIFF", "WEBP", "BMP", "GIF"):
        try:
            Image.open(io.BytesIO(encode(MAKERS[mode](np.random.default_rng(0), 3, 2), fmt, **SAVE_OPTIONS.get(fmt, {})))).load()
        except (OSError, ValueError, KeyError):
            continue
        found.append(fmt)
    return found


CONTAINERS = {mode: _containers(mode) for mode in MAKERS}


@pytest.mark.parametrize("mode", list(MAKERS))
@settings(max_examples=3, **FIXTURES)
@given(data=st.data(), width=st.integers(1, 24), height=st.integers(1, 24), seed=st.integers(0, 2**32))
def test_every_pillow_mode_goes_out_as_png_or_jpeg_that_looks_the_same(client, sim, mode, data, width, height, seed):
    container = data.draw(st.sampled_from(CONTAINERS[mode]), label="container")
    image = MAKERS[mode](np.random.default_rng(seed), width, height)
    if container == "PIL image":
        given_, shown = image, image
    else:
        given_ = encode(image, container, **SAVE_OPTIONS.get(container, {}))
        shown = Image.open(io.BytesIO(given_))
    want = looks(shown)
    client.edit("keep it", given_, **EDIT)
    upload = sent(sim).files[0]
    fmt = "jpeg" if container == "JPEG" else "png"
    assert upload.content_type == f"image/{fmt}" and Image.open(io.BytesIO(upload.data)).format == fmt.upper()
    assert_looks_alike(rgba(upload.data), want, lossy=fmt == "jpeg")


@settings(max_examples=20, **FIXTURES)
@given(
    orientation=st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 65535]),  # the last three mean nothing: left as they are
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP", "TIFF"]),
    width=st.integers(2, 40),
    height=st.integers(2, 40),
)
def test_an_exif_orientation_is_applied_so_the_upload_looks_as_a_viewer_shows_it(client, sim, orientation, fmt, width, height):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(gradient(width, height), fmt, exif=exif.tobytes(), **SAVE_OPTIONS.get(fmt, {}))
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    client.edit("keep it", data, **EDIT)
    upload = Image.open(io.BytesIO(sent(sim).files[0].data))
    assert upload.format == ("JPEG" if fmt == "JPEG" else "PNG")
    assert upload.size == upright.size
    assert_looks_alike(rgba(sent(sim).files[0].data), looks(upright), lossy=fmt == "JPEG")


@settings(max_examples=12, **FIXTURES)
@given(
    fmt=st.sampled_from(["GIF", "PNG", "WEBP"]),
    colours=st.lists(st.tuples(*[st.integers(0, 255)] * 3), min_size=2, max_size=4, unique=True),
    size=st.tuples(st.integers(1, 20), st.integers(1, 20)),
)
def test_an_animation_sends_its_first_frame(client, sim, fmt, colours, size):
    frames = [Image.new("RGB", size, c) for c in colours]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **SAVE_OPTIONS.get(fmt, {}))
    first = Image.open(io.BytesIO(data))  # a viewer shows frame 0 before it plays
    client.edit("keep it", data, **EDIT)
    upload = sent(sim).files[0].data
    assert upload.startswith(PNG_SIGNATURE) and Image.open(io.BytesIO(upload)).n_frames == 1
    assert_looks_alike(rgba(upload), looks(first), lossy=False)


WHOLE = {
    ("image", "PNG"): encode(noise(20, 16, 1), "PNG"),
    ("image", "JPEG"): encode(noise(20, 16, 2), "JPEG"),
    ("image", "WEBP"): encode(noise(20, 16, 3), "WEBP"),
    ("image", "GIF"): encode(noise(20, 16, 4), "GIF"),
    ("image", "TIFF"): encode(noise(20, 16, 5), "TIFF"),
    ("mask", "PNG"): Mask(np.random.default_rng(6).random((16, 20)) > 0.5).to_png(),
}


@pytest.mark.parametrize("target, fmt", list(WHOLE))
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns "Truncated File Read" on TIFFs
@settings(max_examples=15, **FIXTURES)
@given(back=st.integers(1, 2000))
@example(back=5)  # a PNG cut inside its IEND chunk decodes whole: once sent as it was, truncated
@example(back=12)
def test_a_truncated_file_is_refused_by_name_or_sent_whole(client, sim, target, fmt, back):
    whole = WHOLE[target, fmt]
    cut = whole[: max(0, len(whole) - back)]
    if target == "image":
        field, call = "image[0]", lambda: client.edit("x", cut, **EDIT)
    else:
        field, call = "mask", lambda: client.edit("x", noise(20, 16), mask=cut, **EDIT)
    before = sim.request_count()
    try:
        call()
    except ValidationError as error:
        assert sim.request_count() == before
        assert_clear(error, field)
        assert any(w in str(error) for w in ("truncated", "damaged", "empty", "not an image")), str(error)
        return
    # Only a format read through to its last pixel may go: re-encoded, and exactly the picture of the whole file.
    upload = sent(sim).files[0 if target == "image" else 1].data
    assert_looks_alike(rgba(upload), looks(Image.open(io.BytesIO(whole))), lossy=False)


junk = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=200).map(str.encode),  # a text file's bytes
    st.text(max_size=30),  # taken as a path
    st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\0\0\0\0WEBP", b"BM", b"II*\0"]),
    st.none(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(io.StringIO, st.text(max_size=10)),
    st.builds(bytearray, st.binary(max_size=16)),
)


@settings(max_examples=80, **FIXTURES)
@given(bad=junk, position=st.integers(0, 3), good=st.integers(0, 3), as_file=st.booleans())
@example(bad="a cat " * 100, position=0, good=0, as_file=False)  # prompt and images swapped: once an OSError
@example(bad="~nosuchuser/photo.png", position=0, good=0, as_file=False)  # once a RuntimeError from expanduser()
@example(bad=b"this is a text file, renamed to .png", position=1, good=2, as_file=True)
@example(bad=b"", position=2, good=2, as_file=True)  # zero bytes
def test_anything_that_is_not_an_image_is_refused_naming_its_position(client, sim, tmp_path, bad, position, good, as_file):
    if as_file and isinstance(bad, (bytes, bytearray)):  # the same bytes as a file named like a picture
        path = tmp_path / "photo.png"
        path.write_bytes(bad)
        bad = path
    position = min(position, good)
    sources = [encode(gradient(8, 8), "PNG")] * good
    sources.insert(position, bad)
    error = refused(sim, lambda: client.edit("x", sources, **EDIT), f"image[{position}]")
    assert error.rule in ("image", "file", "type")


def _closed_file(tmp):
    handle = open(tmp / "closed.png", "wb+")  # noqa: SIM115 - closed at once, on purpose
    handle.close()
    return handle


def _closed_image(tmp):
    image = Image.open(io.BytesIO(encode(gradient(), "PNG")))
    image.close()
    return image


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: tmp,  # a directory
        lambda tmp: str(tmp / ("x" * 300)),  # a name longer than the file system takes: once an OSError
        _closed_file,  # once a ValueError
        lambda tmp: open(tmp / "write-only.png", "wb"),  # noqa: SIM115 - the test closes it
        lambda tmp: Image.new("RGB", (0, 0)),  # once a ValueError from PNG's encoder
        _closed_image,  # once a ValueError
        lambda tmp: Image.open(io.BytesIO(encode(noise(64, 64), "PNG")[:2000])),  # lazy and truncated: once an OSError
    ],
    ids=["directory", "name-too-long", "closed-file", "write-only-file", "empty-pil", "closed-pil", "truncated-lazy-pil"],
)
def test_a_path_file_or_pil_image_that_cannot_be_read_is_refused_by_name(client, sim, tmp_path, make):
    value = make(tmp_path)
    refused(sim, lambda: client.edit("x", value, **EDIT), "image[0]")
    if hasattr(value, "close"):
        value.close()


image_arrays = st.one_of(
    arrays(st.sampled_from([np.uint8, np.uint16, np.bool_]), array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6)),
    arrays(
        st.sampled_from([np.float16, np.float32, np.float64]),
        st.tuples(st.integers(1, 5), st.integers(1, 5), st.sampled_from([1, 3, 4])),
    ),
    arrays(st.sampled_from([np.int16, np.int32, np.int64]), st.tuples(sides, sides), elements=st.integers(-2, 300)),
    arrays(st.sampled_from([np.uint32, np.uint64, np.dtype(">u2")]), st.tuples(sides, sides), elements=st.integers(0, 300)),
    arrays(scalar_dtypes(), array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)),
)


def readme_array(arr: np.ndarray) -> np.ndarray | None:
    """The RGBA picture an array stands for, as the client documents it (HxW, HxWx1, HxWx3, HxWx4 of uint8, uint16,
    bool, float in [0, 1], or other integers within 0-255), or None if it is not one."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))) or 0 in arr.shape:
        return None
    if arr.dtype == np.bool_:
        values = arr.astype(float) * 255
    elif arr.dtype.kind == "u" and arr.dtype.itemsize == 2:  # uint16, in either byte order
        values = arr / 257
    elif arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            return None
        values = arr.astype(float) * 255
    elif arr.dtype.kind in "iu" and arr.min() >= 0 and arr.max() <= 255:
        values = arr.astype(float)
    else:
        return None
    level = np.clip(np.rint(values), 0, 255).astype(int)
    if level.ndim == 2:
        level = np.dstack([level] * 3)
    return level if level.shape[2] == 4 else np.dstack([level, np.full(level.shape[:2], 255)])


@settings(max_examples=40, **FIXTURES)
@given(arr=image_arrays)
@example(arr=np.full((3, 2), 65535, dtype=">u2"))  # big-endian uint16: once refused as "ambiguous"
def test_a_numpy_array_is_sent_as_the_picture_it_holds_or_refused_by_name(client, sim, arr):
    want = readme_array(arr)
    if want is None:
        refused(sim, lambda: client.edit("x", arr, **EDIT), "image[0]")
        return
    client.edit("x", arr, **EDIT)
    got = rgba(sent(sim).files[0].data)
    assert got.shape == want.shape and np.abs(got - want).max() <= 1  # float16 rounds on its own


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width x height`` grey pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(gradient(16, 16), "JPEG"))
    at = data.index(b"\xff\xc0")  # the frame header: length, precision, height, width
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(gradient(16, 16), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)  # the logical screen
    return bytes(data)


BOMB_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


@settings(max_examples=30, **FIXTURES)
@given(
    kind=st.sampled_from(["png", "jpeg", "gif"]),
    width=st.integers(1, 2**31 - 1),
    height=st.integers(1, 2**31 - 1),
    target=st.sampled_from(["image", "mask"]),
)
@example(kind="png", width=12_000, height=12_000, target="image")
@example(kind="png", width=9_500, height=9_500, target="mask")  # between Pillow's warning and its error
def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(client, sim, kind, width, height, target):
    if kind != "png":  # 16-bit dimensions
        width, height = 1 + width % 65535, 1 + height % 65535
    if width * height <= BOMB_PIXELS:
        width = BOMB_PIXELS // height + 1
        if width > (65535 if kind != "png" else 2**31 - 1):
            width, height = 65535, 65535
    bomb = {"png": png_claiming, "jpeg": jpeg_claiming, "gif": gif_claiming}[kind](width, height)
    assert len(bomb) < 2000
    started = time.perf_counter()
    if target == "image":
        error = refused(sim, lambda: client.edit("x", bomb, **EDIT), "image[0]")
    else:
        error = refused(sim, lambda: client.edit("x", noise(8, 8), mask=bomb, **EDIT), "mask")
    assert error.rule == "pixel_limit" and "decompression bomb" in str(error)
    assert time.perf_counter() - started < 1.0, "the bomb was decoded"


def png_of_exactly(nbytes: int) -> bytes:
    """A small picture padded, with a private ancillary chunk that readers skip, to exactly ``nbytes``."""
    base = encode(gradient(64, 48), "PNG")
    header_end = len(PNG_SIGNATURE) + 25  # signature and IHDR
    return base[:header_end] + chunk(b"prVt", bytes(nbytes - len(base) - 12)) + base[header_end:]


def jpeg_over(nbytes: int) -> bytes:
    """A small JPEG padded past ``nbytes`` with comment segments (at most 64 KB each)."""
    base = encode(gradient(64, 48), "JPEG")
    segment = b"\xff\xfe" + struct.pack(">H", 65535) + bytes(65533)
    return base[:2] + segment * (nbytes // len(segment) + 1) + base[2:]


@pytest.mark.parametrize(
    "make, form, allowed",
    [
        (lambda: png_of_exactly(MAX_FILE_BYTES - 1), "bytes", True),
        (lambda: png_of_exactly(MAX_FILE_BYTES), "bytes", False),
        (lambda: png_of_exactly(MAX_FILE_BYTES), "path", False),
        (lambda: png_of_exactly(60_000_000), "file object", False),
        (lambda: jpeg_over(MAX_FILE_BYTES), "bytes", False),
    ],
    ids=["png-one-byte-under", "png-exactly-50mb", "png-path", "png-file-object", "jpeg-comments"],
)
def test_a_file_of_50_mb_or_more_is_refused_and_one_just_under_is_sent_as_it_is(client, sim, tmp_path, make, form, allowed):
    data = make()
    given_ = data
    if form == "path":
        given_ = tmp_path / "big.png"
        given_.write_bytes(data)
    elif form == "file object":
        given_ = io.BytesIO(data)
    sources = [encode(gradient(8, 8), "PNG"), given_]  # second, so the field is image[1]
    if not allowed:
        error = refused(sim, lambda: client.edit("x", sources, **EDIT), "image[1]")
        assert error.rule == "file_size" and "50.0 MB" in str(error)
        return
    client.edit("x", sources, **EDIT)
    assert sent(sim).files[1].data == data


@settings(max_examples=20, **FIXTURES)
@given(count=st.one_of(st.integers(MAX_SOURCES + 1, 60), st.just(0)))
def test_too_many_or_no_sources_are_refused_before_any_is_read(client, sim, count):
    field = "image" if count == 0 else "image[]"
    error = refused(sim, lambda: client.edit("x", [b"not an image"] * count, **EDIT), field)
    assert {v.field for v in error.violations} == {field}, "a source was read before the count was checked"
    if count:
        assert str(count) in str(error) and str(MAX_SOURCES) in str(error)


@settings(max_examples=4, **FIXTURES)
@given(count=st.integers(1, MAX_SOURCES))
@example(count=MAX_SOURCES)
def test_up_to_sixteen_sources_are_all_sent(client, sim, count):
    client.edit("x", [noise(6, 6, seed) for seed in range(count)], **EDIT)
    assert [f.field for f in sent(sim).files] == (["image"] if count == 1 else ["image[]"] * count)


# -- masks ---------------------------------------------------------------------------------------------


def mask_in(form: str, region: np.ndarray, tmp_path, alpha_kept: int = 255):
    """``region`` (True = the model may edit) in one of the forms ``mask=`` takes."""
    api = np.zeros((*region.shape, 4), dtype=np.uint8)
    api[..., 3] = np.where(region, 0, alpha_kept)
    if form == "bool array":
        return region
    if form == "rgba array":
        return api
    if form == "rgba image":
        return Image.fromarray(api, "RGBA")
    if form == "la image":
        return Image.fromarray(api[..., 2:], "LA")
    if form == "premultiplied image":
        return Image.fromarray(api, "RGBA").convert("RGBa")
    if form == "png bytes":
        return encode(Image.fromarray(api, "RGBA"), "PNG")
    if form == "webp bytes":
        return encode(Image.fromarray(api, "RGBA"), "WEBP", lossless=True)
    if form == "path":
        path = tmp_path / "mask.png"
        path.write_bytes(encode(Image.fromarray(api, "RGBA"), "PNG"))
        return path
    return Mask(region)


MASK_FORMS = [
    "bool array",
    "rgba array",
    "rgba image",
    "la image",
    "premultiplied image",
    "png bytes",
    "webp bytes",
    "path",
    "Mask",
]


@settings(max_examples=25, **FIXTURES)
@given(
    form=st.sampled_from(MASK_FORMS),
    size=st.tuples(sides, sides),
    seed=st.integers(0, 2**32),
    source_format=st.sampled_from(["PNG", "JPEG", "PIL image"]),
)
def test_a_mask_goes_out_as_an_rgba_png_of_the_sources_size_marking_the_same_pixels(
    client, sim, tmp_path, form, size, seed, source_format
):
    width, height = size
    assume(width * height > 1)
    region = np.random.default_rng(seed).random((height, width)) > 0.5
    region.flat[0], region.flat[-1] = True, False  # something to edit and something to keep
    source = gradient(width, height)
    given_source = source if source_format == "PIL image" else encode(source, source_format)
    client.edit("x", given_source, mask=mask_in(form, region, tmp_path, alpha_kept=int(seed % 255) + 1), **EDIT)
    primary, mask_file = sent(sim).files
    assert primary.data.startswith(PNG_SIGNATURE), "a source must travel as PNG beside a mask"
    mask_image = Image.open(io.BytesIO(mask_file.data))
    assert (mask_image.format, mask_image.mode, mask_image.size) == ("PNG", "RGBA", (width, height))
    alpha = np.asarray(mask_image.getchannel("A"))
    assert np.array_equal(alpha == 0, region) and set(np.unique(alpha)) <= {0, 255}


@settings(max_examples=25, **FIXTURES)
@given(form=st.sampled_from(MASK_FORMS), source=st.tuples(sides, sides), mask=st.tuples(sides, sides))
def test_a_mask_of_another_size_is_refused_naming_both_sizes(client, sim, tmp_path, form, source, mask):
    if source == mask:
        mask = (mask[0] + 1, mask[1])
    region = np.zeros((mask[1], mask[0]), dtype=bool)
    region[0, 0] = True
    mask_value = mask_in(form, region, tmp_path)
    error = refused(sim, lambda: client.edit("x", gradient(*source), mask=mask_value, **EDIT), "mask")
    assert error.rule == "same_size"
    assert f"{mask[0]}x{mask[1]}" in str(error) and f"{source[0]}x{source[1]}" in str(error) and "resize" in str(error)


NO_ALPHA = {
    "L image": lambda w, h: noise(w, h, 1, "L"),
    "RGB image": lambda w, h: noise(w, h, 2),
    "1 image": lambda w, h: noise(w, h, 3, "L").convert("1"),
    "P image": lambda w, h: noise(w, h, 4).quantize(8),
    "L png": lambda w, h: encode(noise(w, h, 5, "L"), "PNG"),
    "RGB jpeg": lambda w, h: encode(noise(w, h, 6), "JPEG"),
    "CMYK jpeg": lambda w, h: encode(noise(w, h, 7).convert("CMYK"), "JPEG"),
    "I;16 png": lambda w, h: encode(Image.fromarray(np.full((h, w), 300, np.uint16)), "PNG"),
    "RGB bmp": lambda w, h: encode(noise(w, h, 8), "BMP"),
    "uint8 array": lambda w, h: np.zeros((h, w), np.uint8),
    "RGB array": lambda w, h: np.zeros((h, w, 3), np.uint8),
}


@settings(max_examples=25, **FIXTURES)
@given(kind=st.sampled_from(list(NO_ALPHA)), size=st.tuples(sides, sides))
def test_a_mask_without_alpha_is_refused_not_guessed(client, sim, kind, size):
    mask = NO_ALPHA[kind](*size)
    error = refused(sim, lambda: client.edit("x", gradient(*size), mask=mask, **EDIT), "mask")
    assert "from_white_is_edit" in str(error) and "from_black_is_edit" in str(error)


@settings(max_examples=30, **FIXTURES)
@given(form=st.sampled_from(MASK_FORMS), size=st.tuples(sides, sides), editable=st.booleans(), kept_alpha=st.integers(1, 255))
def test_an_all_opaque_or_all_transparent_mask_is_refused_as_a_mask_that_does_nothing(
    client, sim, tmp_path, form, size, editable, kept_alpha
):
    region = np.full((size[1], size[0]), editable)
    mask = mask_in(form, region, tmp_path, alpha_kept=kept_alpha)
    error = refused(sim, lambda: client.edit("x", gradient(*size), mask=mask, **EDIT), "mask")
    if form == "webp bytes" and not editable and error.rule == "alpha":
        return  # WebP keeps no alpha channel for a picture that is opaque all over: refused, as any mask without alpha
    assert error.rule == ("keeps_nothing" if editable else "nothing_to_edit")
    assert ("mask=None" if editable else "paint the area") in str(error)


pictures = st.builds(
    lambda mode, w, h: MAKERS[mode](np.random.default_rng(0), w, h),
    st.sampled_from(list(MAKERS)),
    st.integers(1, 5),
    st.integers(1, 5),
)
PNG_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")


anything = st.one_of(
    junk,
    arrays(scalar_dtypes(), array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)),
    arrays(np.uint8, st.tuples(sides, sides, st.integers(1, 5))),
    pictures,
    pictures.map(lambda im: encode(im, "PNG") if im.mode in PNG_MODES else im),
    st.sampled_from(["RGBA", "L", "1"]).map(lambda mode: Image.new(mode, (0, 0))),
    st.tuples(st.integers(-3, 10), st.integers(-3, 10)),
    st.tuples(st.integers(), st.integers()),
    st.lists(st.booleans(), max_size=3),
)
CONSTRUCTORS = {
    "Mask.coerce": Mask.coerce,
    "Mask.from_png": Mask.from_png,
    "Mask.from_rgba": Mask.from_rgba,
    "Mask.from_alpha_is_edit": Mask.from_alpha_is_edit,
    "Mask.from_white_is_edit": Mask.from_white_is_edit,
    "Mask.from_black_is_edit": Mask.from_black_is_edit,
    "Mask.from_region": Mask.from_region,
    "Mask.empty": Mask.empty,  # once a TypeError or ValueError from unpacking
    "Mask.resize": Mask(np.eye(4, dtype=bool)).resize,  # once PIL's ValueError
}


@settings(max_examples=300, deadline=None)
@given(constructor=st.sampled_from(list(CONSTRUCTORS)), value=anything)
@example(constructor="Mask.from_png", value=Image.new("LA", (3, 3)).convert("La"))  # once a ValueError from convert()
@example(constructor="Mask.from_rgba", value=b"\x89PNG\r\n\x1a\n")  # once "no alpha channel" for bytes
@example(constructor="Mask.empty", value=(-1, 4))
@example(constructor="Mask.resize", value=(0, 0))
@example(constructor="Mask.empty", value=(10**6, 10**6))  # would be a terabyte
def test_every_mask_constructor_returns_a_mask_or_refuses_by_name(constructor, value):
    try:
        mask = CONSTRUCTORS[constructor](value)
    except ValidationError as error:
        assert_clear(error, "mask")
        return
    assert isinstance(mask, Mask) and mask.region.dtype == bool and mask.region.ndim == 2


# -- the async client refuses exactly what the sync one does -------------------------------------------


async def _async_call(sim, tmp_path, method: str, args: tuple, kwargs: dict):
    async with AsyncClient(api_key=sim.api_key, base_url=sim.base_url, run_dir=tmp_path / "async-runs") as client:
        return await getattr(client, method)(*args, **kwargs)


def outcome(sim, call) -> tuple:
    before = sim.request_count()
    try:
        call()
    except ValidationError as error:
        assert sim.request_count() == before
        return ("refused", sorted((v.field, v.rule) for v in error.violations))
    return ("sent", sent(sim).fields, [f.data for f in sent(sim).files])


calls = st.one_of(
    st.tuples(st.just("generate"), st.tuples(prompts), st.builds(lambda p, s: {**p, "size": s}, generation_params, sizes)),
    st.tuples(
        st.just("edit"),
        st.tuples(st.sampled_from(["x", " "]), st.one_of(junk, st.just(encode(gradient(8, 8), "PNG")))),
        st.fixed_dictionaries(
            {"mask": st.one_of(st.none(), junk, st.just(np.eye(8, dtype=bool))), "size": sizes, "output_format": st.just("jpeg")}
        ),
    ),
)


@settings(max_examples=30, **FIXTURES)
@given(call=calls)
def test_the_async_client_refuses_exactly_what_the_sync_client_refuses(client, sim, tmp_path, call):
    method, args, kwargs = call
    sync = outcome(sim, lambda: getattr(client, method)(*args, **kwargs))
    asynchronous = outcome(sim, lambda: asyncio.run(_async_call(sim, tmp_path, method, args, kwargs)))
    assert sync == asynchronous
