"""Sources a user has at hand become PNG/JPEG files that look the same."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from anyfast_widget import ValidationError
from anyfast_widget.core._images import encode_source, load_image

from ..conftest import encode, gradient


def decoded(encoded):
    return np.asarray(Image.open(io.BytesIO(encoded.data)).convert("RGB")).astype(int)


def test_png_and_jpeg_files_are_sent_byte_for_byte(tmp_path):
    png = encode(gradient(), "PNG")
    jpeg = encode(gradient(), "JPEG", quality=90)
    assert encode_source(png).data == png
    assert encode_source(jpeg).data == jpeg
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg)
    result = encode_source(path)
    assert (result.format, result.size, result.converted_from) == ("jpeg", (64, 48), None)
    with open(path, "rb") as handle:
        assert encode_source(handle).data == jpeg


@pytest.mark.parametrize("fmt", ["WEBP", "GIF", "BMP", "TIFF"])
def test_other_formats_become_png_that_looks_the_same(fmt):
    source = gradient()
    options = {"lossless": True} if fmt == "WEBP" else {}
    result = encode_source(encode(source, fmt, **options))
    assert result.format == "png" and result.size == (64, 48)
    assert fmt.lower() in result.converted_from
    if fmt != "GIF":  # GIF is 256 colours by nature
        assert np.abs(decoded(result) - np.asarray(source).astype(int)).max() <= 1


def test_exif_orientation_is_applied():
    source = gradient(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    result = encode_source(encode(source, "JPEG", quality=95, exif=exif.tobytes()))
    assert result.size == (48, 64)
    assert result.format == "jpeg" and "exif-orientation-6" in result.converted_from
    upright = np.asarray(source.transpose(Image.Transpose.ROTATE_270)).astype(int)
    assert np.abs(decoded(result) - upright).mean() < 4


def test_sixteen_bit_png_keeps_its_brightness():
    values = np.full((20, 30), 32768, dtype=np.uint16)
    result = encode_source(encode(Image.fromarray(values), "PNG"))
    pixels = np.asarray(Image.open(io.BytesIO(result.data)))
    assert result.format == "png" and pixels.dtype == np.uint8
    assert abs(int(pixels.mean()) - 128) <= 1


def test_cmyk_jpeg_becomes_rgb_jpeg():
    result = encode_source(encode(gradient().convert("CMYK"), "JPEG"))
    assert result.format == "jpeg"
    assert Image.open(io.BytesIO(result.data)).mode == "RGB"


def test_palette_with_transparency_keeps_its_alpha():
    image = Image.new("P", (10, 10), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.info["transparency"] = 0
    result = encode_source(encode(image, "PNG", transparency=0))
    assert Image.open(io.BytesIO(result.data)).mode in ("P", "RGBA")
    assert load_image(result.data).getchannel("A").getextrema() == (0, 0)


def test_animated_gif_sends_its_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    data = io.BytesIO()
    frames[0].save(data, "GIF", save_all=True, append_images=frames[1:])
    result = encode_source(data.getvalue())
    assert "first-frame" in result.converted_from
    assert load_image(result.data).convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_arrays_and_pil_images():
    rgb = np.asarray(gradient())
    assert decoded(encode_source(rgb)).tolist() == rgb.astype(int).tolist()
    floats = encode_source(rgb / 255.0)
    assert np.abs(decoded(floats) - rgb.astype(int)).max() <= 1
    assert encode_source(gradient()).format == "png"
    assert encode_source(Image.open(io.BytesIO(encode(gradient(), "JPEG")))).format == "jpeg"


def test_a_jpeg_becomes_png_when_a_mask_needs_it():
    result = encode_source(encode(gradient(), "JPEG"), require_png=True)
    assert result.format == "png"


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"this is a text file, renamed to .png", "not an image"),
        (encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "PNG")[:2000],
         "truncated"),
    ],
)
def test_unreadable_inputs_give_a_clear_error(data, words):
    with pytest.raises(ValidationError) as info:
        encode_source(data, "image[0]")
    assert info.value.field == "image[0]" and words in str(info.value)


def test_a_decompression_bomb_is_refused_before_decoding():
    bomb = encode(Image.new("L", (12000, 12000)), "PNG")  # 144 megapixels of nothing: tiny file
    with pytest.raises(ValidationError) as info:
        encode_source(bomb)
    assert info.value.rule == "pixel_limit"


def test_missing_file_and_wrong_types():
    with pytest.raises(ValidationError, match="no file at"):
        encode_source("/nonexistent/photo.png")
    with pytest.raises(ValidationError, match="not an image"):
        encode_source(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="shape"):
        encode_source(np.zeros((4, 4, 2), dtype=np.uint8))
    with pytest.raises(ValidationError, match="0 to 1"):
        encode_source(np.full((4, 4), 2.0))
