"""The stand-in server's pictures: synthetic generations and real masked edits.

Generations are deterministic: the same prompt and quality at the same size give
the same pixels, with the prompt written into the picture so a person can tell
results apart. Edits keep opaque-mask pixels exactly (unless ``leak`` asks for
the real model's looseness), visibly change the editable area, and let every
extra source image show through in it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import textwrap
import threading
import zlib
from collections import OrderedDict

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


_GRAIN = 6


@functools.lru_cache(maxsize=4)
def _grain(width: int, height: int) -> Image.Image:
    """Seeded noise around +_GRAIN (so that adding it and subtracting _GRAIN leaves the mean alone)."""
    rng = np.random.default_rng(7)
    tile = rng.integers(0, 2 * _GRAIN + 1, size=(256, 256, 3), dtype=np.uint8)
    reps = (height // 256 + 1, width // 256 + 1, 1)
    return Image.fromarray(np.ascontiguousarray(np.tile(tile, reps)[:height, :width]), "RGB")


def render_generation(
    prompt: str,
    width: int,
    height: int,
    quality: str = "medium",
    caption: bool = True,
    variant: int = 0,
    variation: float = 0.0,
    grain: bool = True,
) -> Image.Image:
    """A deterministic RGB picture of ``prompt`` at ``width`` x ``height``, with the prompt written on it.

    ``variant`` k > 0 moves its shapes by about ``variation`` of a quarter of the short
    edge, as the k-th repeat of the same request (variant 0 is the base picture). Without
    ``grain`` it is smooth, and compresses to a small file (the fast path's picture).
    """
    rng = np.random.default_rng(_seed(prompt, quality))
    jitter = np.random.default_rng(_seed(prompt, quality, str(variant)))
    top, bottom = rng.integers(30, 226, size=(2, 3))
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    column = np.rint(top * (1 - t) + bottom * t).astype(np.uint8)[:, None, :]
    image = Image.fromarray(column, "RGB").resize((width, height), Image.Resampling.NEAREST)
    if grain:  # per-pixel grain, so files weigh about what photographs of this size weigh
        image = ImageChops.add(image, _grain(width, height), offset=-_GRAIN)
    draw = ImageDraw.Draw(image)
    unit = min(width, height)
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(unit // 12, unit // 4))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if variant and variation:
            dx, dy, dr, dc = jitter.normal(0, variation, 4)
            cx, cy = cx + int(dx * unit / 4), cy + int(dy * unit / 4)
            r = max(2, int(r * (1 + dr / 2)))
            colour = tuple(int(np.clip(c + dc * 80, 0, 255)) for c in colour)
        if rng.random() < 0.5:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        else:
            draw.rectangle((cx - r, cy - r // 2, cx + r, cy + r // 2), fill=colour)

    if caption:
        _caption(image, f"{prompt.strip()}\n[{quality}]")
    return image


def _caption(image: Image.Image, text: str, origin: tuple[int, int] | None = None) -> None:
    """Write ``text`` in a white box, wrapped to the picture's width."""
    width, height = image.size
    unit = min(width, height)
    font_size = max(12, unit // 22)
    font = _font(font_size)
    lines = [part for line in text.splitlines() for part in textwrap.wrap(line, width=max(12, int(width / (font_size * 0.55))))]
    text = "\n".join(lines[:7])
    margin = unit // 20
    origin = origin or (margin, margin)
    draw = ImageDraw.Draw(image)
    box = draw.multiline_textbbox(origin, text, font=font, spacing=font_size // 4)
    pad = font_size // 3
    draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=(255, 255, 255))
    draw.multiline_text(origin, text, font=font, fill=(20, 20, 20), spacing=font_size // 4)


def render_edit(
    prompt: str,
    sources: list[Image.Image],
    size: tuple[int, int],
    editable: np.ndarray | None,
    leak: float = 0.0,
) -> Image.Image:
    """Edit ``sources[0]`` at ``size``: the ``editable`` (HxW bool) area, or all of it without a mask.

    The edited area blends the source with the prompt's picture and the other
    sources; outside it, pixels are kept exactly unless ``leak`` > 0.
    """
    width, height = size
    base = sources[0].convert("RGB")
    if base.size != size:
        base = base.resize(size, Image.Resampling.LANCZOS)
    original = np.asarray(base, dtype=np.float32)
    if editable is not None and editable.shape != (height, width):
        editable = np.asarray(Image.fromarray(editable.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST)) >= 128
    # The edit's own caption goes inside the area it may change, so it stays readable.
    text_at = None
    if editable is not None and editable.any():
        rows, cols = np.nonzero(editable.any(axis=1))[0], np.nonzero(editable.any(axis=0))[0]
        text_at = (int(cols[0]) + min(width, height) // 40, int(rows[0]) + min(width, height) // 40)
    drawn = np.asarray(render_generation(prompt, width, height, "edit", caption=False), dtype=np.float32)
    if len(sources) > 1:
        others = np.mean(
            [np.asarray(s.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.float32) for s in sources[1:]],
            axis=0,
        )
        edited = 0.4 * original + 0.3 * drawn + 0.3 * others
    else:
        edited = 0.5 * original + 0.5 * drawn

    edited_image = Image.fromarray(np.clip(np.rint(edited), 0, 255).astype(np.uint8), "RGB")
    _caption(edited_image, f"edit: {prompt.strip()}", text_at)
    if editable is None:
        return edited_image
    edited = np.asarray(edited_image, dtype=np.float32)
    weight = editable.astype(np.float32)
    if leak > 0:
        # The real model treats the mask as guidance: change fades out beyond its edge, and a trace reaches everywhere.
        halo = Image.fromarray(editable.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(max(4, min(size) // 40)))
        spill = leak * (0.1 + 0.9 * np.asarray(halo, dtype=np.float32) / 255.0)
        weight = np.maximum(weight, spill)
    weight = weight[..., None]
    out = np.rint(original * (1 - weight) + edited * weight)
    out = np.where(weight > 0, out, original)  # exactly the source where nothing may change
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, output_format: str, compression: int | None = None) -> bytes:
    """PNG, or JPEG with a quality taken from ``output_compression`` (0-100, higher = better)."""
    if output_format != "jpeg":
        return _fast_png(np.asarray(image.convert("RGB")))
    buffer = io.BytesIO()
    quality = 95 if compression is None else max(1, min(95, int(compression)))
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _fast_png(rgb: np.ndarray) -> bytes:
    """A valid RGB PNG, written directly: no row filters and zlib level 1.

    About twice as fast as Pillow's encoder, and zlib lets other threads run while
    it works, so a stand-in answering 16 requests at once is not the bottleneck.
    """
    height, width, _ = rgb.shape
    rows = np.empty((height, width * 3 + 1), np.uint8)
    rows[:, 0] = 0  # filter type "None" for every row
    rows[:, 1:] = rgb.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + _png_chunk(b"IEND", b"")
    )


class _EncodedCache:
    """Recently used encoded images, bounded by their total size (an 8-megapixel PNG weighs ~20 MB). Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple[object, ...], data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                self._bytes -= len(self._items.popitem(last=False)[1])


_generations = _EncodedCache(max_bytes=160_000_000)


def generation_bytes(
    prompt: str,
    width: int,
    height: int,
    quality: str,
    output_format: str,
    compression: int | None,
    variant: int = 0,
    variation: float = 0.0,
) -> bytes:
    """The encoded generation, cached: a zero-latency benchmark measures the client, not this encoder."""
    if output_format != "jpeg":
        compression = None  # it only affects JPEG; one cache entry per picture
    if not variation:
        variant = 0
    key = (prompt, width, height, quality, output_format, compression, variant, variation)
    data = _generations.get(key)
    if data is None:
        picture = render_generation(prompt, width, height, quality, variant=variant, variation=variation)
        data = encode(picture, output_format, compression)
        _generations.put(key, data)
    return data
