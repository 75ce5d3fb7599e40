"""Turning what a user has at hand into the files the API accepts.

Paths, bytes, file objects, PIL images and numpy arrays all come in; a PNG or
JPEG file goes out. PNG and JPEG files that need nothing are sent byte for byte
as they are; anything else (WebP, GIF, BMP, TIFF, 16-bit, CMYK, palette,
EXIF-rotated, ...) is converted so that it looks the same to a person. No path or
file object is read past the API's 50 MB (:func:`read_bytes`), and no input is changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._errors import ValidationError
from ._rules import MAX_FILE_BYTES, UploadInfo, Violation, file_size_violation, quote

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], Image.Image, np.ndarray]
"""Anything that names or holds one image."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PASS_THROUGH_MODES = {"PNG": {"L", "LA", "RGB", "RGBA", "P"}, "JPEG": {"L", "RGB"}}
# Pillow's own limit (about 89 megapixels) is a warning; here it is a refusal.
MAX_SOURCE_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


@dataclass(frozen=True)
class EncodedImage:
    """One file ready to upload."""

    data: bytes = field(repr=False)
    format: str  # "png" or "jpeg"
    width: int
    height: int
    converted_from: str | None = None  # what was changed on the way, for the record

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def mime_type(self) -> str:
        return f"image/{self.format}"

    def upload_info(self, field: str) -> UploadInfo:
        return UploadInfo(field, self.format, self.width, self.height, len(self.data))


def _invalid(field: str, rule: str, message: str, fix: str) -> ValidationError:
    return ValidationError([Violation(field, rule, message, fix)])


def read_bytes(value: ImageInput, field: str) -> bytes:
    """The raw bytes behind a path, bytes-like or file object, refused once they reach the API's 50 MB.

    Never reads more than that: a path's size is known before reading, and a file
    object (even one that never ends, such as ``/dev/zero``) is read only up to it.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        _refuse_if_too_big(field, memoryview(value).nbytes)
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        return _read_path(value, field)
    if hasattr(value, "read"):
        return _read_stream(value, field)
    raise _invalid(
        field,
        "type",
        f"a {type(value).__name__} is not an image.",
        "pass a file path, bytes, a binary file object, a PIL image or a numpy array.",
    )


def _refuse_if_too_big(field: str, nbytes: int, *, at_least: bool = False) -> None:
    if violation := file_size_violation(field, nbytes, at_least=at_least):
        raise ValidationError([violation])


def _read_path(value: str | os.PathLike, field: str) -> bytes:
    try:
        path = Path(value).expanduser()
        if not path.exists():
            raise _invalid(field, "file", f"no file at {quote(str(path))}.", "check the path.")
        if not path.is_file():  # a folder, a device such as /dev/zero, a pipe: nothing to upload
            raise _invalid(field, "file", f"{quote(str(path))} is not a regular file.", "pass the path of an image file.")
        _refuse_if_too_big(field, path.stat().st_size)  # before reading a byte
        with path.open("rb") as file:
            return _read_stream(file, field)  # the file may still grow, or lie about its size (/proc)
    except (OSError, RuntimeError) as exc:  # a name too long, no permission, a ~user that does not exist, ...
        reason = getattr(exc, "strerror", None) or exc  # strerror leaves out the (maybe huge) path
        raise _invalid(
            field, "file", f"{quote(str(value))} could not be read ({reason}).", "check the path and that you may read it."
        ) from None


def _read_stream(stream: IO[bytes], field: str) -> bytes:
    """Up to the size limit from a binary file object, in as few reads as it allows."""
    try:  # a file on disk says how much is left: a huge one is refused before a byte is read
        status = os.fstat(stream.fileno())
        left = status.st_size - stream.tell() if stat.S_ISREG(status.st_mode) else 0
    except (OSError, ValueError, TypeError, AttributeError):  # no file behind it (BytesIO, a socket's stream, ...)
        left = 0
    _refuse_if_too_big(field, left)
    chunks: list[bytes] = []
    total = 0
    while total < MAX_FILE_BYTES:
        try:
            chunk = stream.read(MAX_FILE_BYTES - total)
        except (OSError, ValueError, TypeError) as exc:  # closed, opened for writing, a read() that takes no size, ...
            raise _invalid(
                field, "file", f"the file object could not be read ({exc}).", "pass a file opened with 'rb', or its path."
            ) from None
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            if chunk is None:  # a non-blocking stream with nothing to give yet
                raise _invalid(field, "file", "the file object had no data ready.", "pass a blocking file, or its bytes.")
            raise _invalid(field, "type", "the file object returned text, not bytes.", "open the file with 'rb'.")
        if not chunk:
            break
        chunks.append(bytes(chunk))
        total += len(chunks[-1])
    _refuse_if_too_big(field, total, at_least=True)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@contextlib.contextmanager
def _pillow_errors(field: str) -> Iterator[None]:
    """Turn Pillow's ways of failing into a ValidationError that names the field."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _invalid(
            field,
            "pixel_limit",
            f"the image has more than {MAX_SOURCE_PIXELS:,} pixels, which looks like a decompression bomb.",
            "downscale it before sending; the API's outputs are at most 3840 px on a side.",
        ) from None
    except UnidentifiedImageError:
        raise _invalid(
            field, "image", "the data is not an image Pillow can read.", "pass a PNG, JPEG, WebP, GIF, BMP or TIFF file."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _invalid(
            field, "image", f"the image is damaged or truncated ({exc}).", "re-export or re-download the file."
        ) from None


def _open_header(data: bytes, field: str) -> Image.Image:
    """Open ``data`` reading only its header (cheap); the full decode comes where needed."""
    if not data:
        raise _invalid(field, "image", "the file is empty (0 bytes).", "pass a PNG or JPEG image file.")
    with _pillow_errors(field):
        return Image.open(io.BytesIO(data))


def _open(data: bytes, field: str) -> Image.Image:
    """Open and fully decode ``data``."""
    image = _open_header(data, field)
    if image.format == "PNG" and _png_end(data) is None:
        # Pillow stops reading after the last row of pixels, so it never notices a file cut short after them.
        raise _invalid(
            field, "image", "the PNG file is truncated: it ends before its IEND chunk.", "re-export or re-download the file."
        )
    with _pillow_errors(field):
        image.load()
    return image


def _to_8bit(image: Image.Image) -> Image.Image:
    """A copy in a mode PNG/JPEG hold at 8 bits per channel, looking the same."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        if mode == "I" and values.max(initial=0) <= 255:
            scaled = values  # already 8-bit values held in 32-bit ints
        else:
            scaled = values / 257.0
        return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        finite = values[np.isfinite(values)]  # np.nanmax would warn on an image of nothing but NaN
        if finite.size and finite.max() <= 1.0:
            values = values * 255.0
        return Image.fromarray(np.clip(np.rint(np.nan_to_num(values)), 0, 255).astype(np.uint8), "L")
    if mode == "1":
        return image.convert("L")
    if mode in ("P", "PA"):
        return image.convert("RGBA" if "transparency" in image.info or mode == "PA" else "RGB")
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return image.convert("RGB")
    if mode in ("La", "RGBa"):  # premultiplied alpha: Pillow converts these only to their straight-alpha twins
        return image.convert(mode.upper())
    if mode in ("L", "LA", "RGB", "RGBA"):
        if "transparency" in image.info:  # tRNS on L/RGB: make it a real alpha channel
            return image.convert("RGBA")
        return image
    return image.convert("RGBA" if "A" in mode else "RGB")


def array_to_image(array: np.ndarray, field: str) -> Image.Image:
    """A numpy array (HxW, HxWx3 or HxWx4; uint8, uint16, bool or float in [0, 1]) as a PIL image."""
    arr = np.asarray(array)
    if not arr.dtype.isnative:  # big-endian data (FITS, np.frombuffer(..., ">u2")): the same numbers, so the same rules
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or 0 in arr.shape:
        raise _invalid(
            field,
            "array_shape",
            f"an array of shape {arr.shape} is not an image.",
            "pass HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA).",
        )
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype == np.uint16:
        arr = np.rint(arr / 257.0).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
            raise _invalid(
                field,
                "array_range",
                "a float array must hold values from 0 to 1.",
                "scale it to [0, 1], or pass uint8 values 0-255.",
            )
        arr = np.rint(arr * 255.0).astype(np.uint8)
    elif arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.integer) and arr.min() >= 0 and arr.max() <= 255:
            arr = arr.astype(np.uint8)
        else:
            raise _invalid(
                field,
                "array_dtype",
                f"an array of {arr.dtype} with values outside 0-255 is ambiguous.",
                "pass uint8 (0-255), uint16, bool, or float in [0, 1].",
            )
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[arr.shape[2] if arr.ndim == 3 else 2]
    return Image.fromarray(np.ascontiguousarray(arr), mode)


def load_image(value: ImageInput, field: str = "image") -> Image.Image:
    """Any image input as a decoded, upright, 8-bit PIL image (first frame of an animation)."""
    if isinstance(value, np.ndarray):
        return array_to_image(value, field)
    if isinstance(value, Image.Image):
        image = value
        if 0 in image.size:
            raise _invalid(
                field, "image", f"the image is {image.width}x{image.height}: it has no pixels.", "pass a real picture."
            )
    else:
        image = _open(read_bytes(value, field), field)
    with _pillow_errors(field):  # a PIL image may still be lazy (never loaded, truncated, closed)
        image.load()
        if getattr(image, "n_frames", 1) > 1 and (frame := image.tell()) != 0:
            image.seek(0)  # the first frame, as a copy: a caller's animation is left at the frame it was at
            first = image.copy()
            image.seek(frame)
            image = first
        image = ImageOps.exif_transpose(image) or image
    return _to_8bit(image)


def _png_bit_depth(data: bytes) -> int | None:
    return data[24] if data[:8] == _PNG_SIGNATURE and len(data) > 24 else None


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(buffer, "JPEG", quality=95, subsampling=0)
    else:
        image.save(buffer, "PNG", compress_level=4)
    return buffer.getvalue()


def encode_source(value: ImageInput, field: str = "image", *, require_png: bool = False) -> EncodedImage:
    """One source image as a PNG or JPEG file the API accepts.

    A PNG or JPEG file that is upright, 8-bit and in a plain mode is sent as it is;
    anything else is decoded and re-encoded (JPEG stays JPEG, the rest become PNG).
    ``require_png`` (a mask goes with it) makes a JPEG a PNG.
    Raises ValidationError for anything that is not a readable image.
    """
    if isinstance(value, (Image.Image, np.ndarray)):
        image = load_image(value, field)
        fmt = "jpeg" if (not require_png and isinstance(value, Image.Image) and value.format == "JPEG") else "png"
        return EncodedImage(_encode(image, fmt), fmt, image.width, image.height, converted_from=type(value).__name__)

    data = read_bytes(value, field)
    header = _open_header(data, field)
    kind = header.format
    with _pillow_errors(field):
        frames = getattr(header, "n_frames", 1)
        orientation = header.getexif().get(0x0112, 1) if kind in ("JPEG", "PNG", "TIFF", "WEBP") else 1
    plain = (
        kind in _PASS_THROUGH_MODES
        and header.mode in _PASS_THROUGH_MODES[kind]
        and orientation in (None, 1)
        and frames == 1
        and (kind != "PNG" or _png_bit_depth(data) in (1, 2, 4, 8))
        and not (require_png and kind == "JPEG")
    )
    if plain:
        _open(data, field)  # fully decode once, so a truncated file is caught here
        return EncodedImage(data, "png" if kind == "PNG" else "jpeg", header.width, header.height)

    image = load_image(data, field)
    fmt = "jpeg" if kind == "JPEG" and not require_png else "png"
    notes = [kind.lower() if kind else "unknown"]
    if orientation not in (None, 1):
        notes.append(f"exif-orientation-{orientation}")
    if frames > 1:
        notes.append("first-frame")
    if header.mode != image.mode:
        notes.append(f"{header.mode}->{image.mode}")
    return EncodedImage(_encode(image, fmt), fmt, image.width, image.height, converted_from=" ".join(notes))


def inspect_upload(field: str, data: bytes, *, alpha: bool = False) -> UploadInfo:
    """What the API's rules need to know about an uploaded file. Never raises: garbage has format None.

    With ``alpha=True`` the alpha channel is decoded to find its extremes (for masks).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = (image.format or "").lower() or None
            has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
            lo, hi = 255, 255
            if alpha and has_alpha:
                extrema = image.convert("RGBA").getchannel("A").getextrema()
                lo, hi = int(extrema[0]), int(extrema[1])  # type: ignore[arg-type]
            return UploadInfo(field, fmt, image.width, image.height, len(data), has_alpha, lo, hi)
    except Exception:  # noqa: BLE001 - any failure to read means "not an image"
        return UploadInfo(field, None, 0, 0, len(data))


def _png_end(data: bytes) -> int | None:
    """Where the PNG's IEND chunk ends, following its chunks length by length; None if the data stops before."""
    pos, end = len(_PNG_SIGNATURE), len(data)
    while pos + 12 <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos if pos <= end else None
    return None


def _png_chunks_complete(data: bytes) -> bool:
    """True if the PNG's chunks run, length by length, to an IEND chunk that ends the data."""
    return _png_end(data) == len(data)


def whole_image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) if ``data`` is a complete PNG or JPEG file, else None.

    A structural check, far cheaper than decoding: a PNG's chunks must lead to its
    IEND chunk at the very end, a JPEG must end with its end-of-image marker, and
    the header must parse. This is what catches truncated or spliced transfers.
    """
    if data.startswith(_PNG_SIGNATURE):
        complete = _png_chunks_complete(data)
    elif data.startswith(b"\xff\xd8\xff"):
        complete = data.rstrip(b"\0").endswith(b"\xff\xd9")
    else:
        return None
    if not complete:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data)).size
    except Exception:  # noqa: BLE001 - any failure means "not a whole image"
        return None


def decode_image(data: bytes) -> Image.Image:
    """Decode result bytes into a PIL image (loaded)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
