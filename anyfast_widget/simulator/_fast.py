"""The stand-in's fast path for load (``Simulator(fast=True)``): generations served from one picture per size and format.

Painting and encoding a 1024x1024 picture costs the stand-in tens of milliseconds, so
it answers about 18 generations a second, far below what a grid of a thousand cells
at 128 at a time asks for. With ``fast`` on, a generation's picture is painted and
well compressed once per (size, format, compression), and each answer is that file
with a short text of its own spliced in (a PNG ``iTXt`` chunk, a JPEG comment): every
result is a distinct, valid file of the size and format asked for, which any decoder
reads. The picture does not show the prompt (the text chunk holds it). Edits are
painted as always: what they keep of their sources is what tests look at.
"""

from __future__ import annotations

import functools
import io
import struct
import threading
import zlib

from ._render import render_generation

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_AFTER_IHDR = len(_PNG_SIGNATURE) + 4 + 4 + 13 + 4  # length, type, the 13 header bytes, CRC
_JPEG_COMMENT_MAX = 65_533  # a segment's length field (two bytes) counts itself


_painting = threading.Lock()


def base_picture(width: int, height: int, output_format: str, compression: int | None) -> bytes:
    """The one encoded picture every fast generation of this size and format is made from (painted once)."""
    # One at a time: a burst of first requests (a grid's 64 at once) would otherwise each paint and
    # compress it, seconds of CPU taken from everything else on the machine (lru_cache does not wait).
    with _painting:
        return _painted(width, height, output_format, compression)


@functools.lru_cache(maxsize=32)
def _painted(width: int, height: int, output_format: str, compression: int | None) -> bytes:
    picture = render_generation("anyfast stand-in: fast path", width, height, "fast", grain=False)
    buffer = io.BytesIO()
    if output_format == "jpeg":
        quality = 95 if compression is None else max(1, min(95, int(compression)))
        picture.save(buffer, "JPEG", quality=quality)
    else:
        picture.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _png_text(text: str) -> bytes:
    """An ``iTXt`` chunk (UTF-8 text, uncompressed) with the keyword ``Comment``."""
    data = b"Comment\x00\x00\x00\x00\x00" + text.encode("utf-8", "replace")  # (a lone surrogate from JSON is replaced)
    return struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))


def _jpeg_comment_at(data: bytes) -> int:
    """Where a comment segment may go: after SOI, and after the JFIF/Exif segment that must come first."""
    at = 2
    if data[at : at + 1] == b"\xff" and data[at + 1 : at + 2] in (b"\xe0", b"\xe1"):
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return at


def mark(data: bytes, output_format: str, text: str) -> bytes:
    """``data`` (a whole PNG or JPEG file) with ``text`` spliced in as metadata; the pixels are untouched."""
    if output_format == "jpeg":
        comment = text.encode("utf-8", "replace")[:_JPEG_COMMENT_MAX]
        at = _jpeg_comment_at(data)
        return data[:at] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[at:]
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    return data[:_AFTER_IHDR] + _png_text(text) + data[_AFTER_IHDR:]


def fast_generation_bytes(
    prompt: str, width: int, height: int, output_format: str, compression: int | None, request_id: str
) -> bytes:
    """A fast generation's file: the size's picture, marked with the prompt and the request id (so no two are alike)."""
    if output_format != "jpeg":
        compression = None  # it only affects JPEG: one picture per size
    return mark(base_picture(width, height, output_format, compression), output_format, f"{prompt}\n{request_id}")
