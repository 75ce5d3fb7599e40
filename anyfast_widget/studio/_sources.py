"""The studio's source images: each input made once into what is sent, in order, primary first.

The primary (the first) is the image the mask belongs to; it is decoded once when
it becomes the primary, at full size (for the edit's after-check) and at display
size (the canvas the browser paints on).
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..core import (
    CANVAS_EDGE,
    MAX_SOURCES,
    THUMB_EDGE,
    EncodedImage,
    ImageInput,
    ValidationError,
    Violation,
    decode_image,
    encode_preview,
    encode_source,
)


@dataclasses.dataclass(frozen=True)
class Source:
    """One source image: its id and name in the browser, the image as it will be sent, and its thumbnail."""

    id: str
    name: str
    encoded: EncodedImage
    thumb: bytes
    extended: dict[str, Any] | None = None  # made by extend_canvas: where the original lies in it (Extension.as_dict())

    @classmethod
    def make(cls, value: ImageInput, index: int, name: str | None = None, extended: dict[str, Any] | None = None) -> Source:
        """Encode ``value`` as the ``index``-th source (ValidationError if it is unusable); named after its file by default."""
        field = f"image[{index}]"
        encoded = value if isinstance(value, EncodedImage) else encode_source(value, field)
        if name is None:
            name = Path(os.fspath(value)).name if isinstance(value, (str, os.PathLike)) else f"image {index + 1}"
        thumb, _, _ = encode_preview(decode_image(encoded.data), THUMB_EDGE)
        return cls(secrets.token_hex(4), name, encoded, thumb, extended)

    def card(self) -> dict[str, Any]:
        """The source as the browser shows it (an entry of the ``source_cards`` trait)."""
        return {
            "id": self.id,
            "name": self.name,
            "width": self.encoded.width,
            "height": self.encoded.height,
            "format": self.encoded.format,
            "note": self.encoded.converted_from or "",
            "thumb": self.thumb,
            **({"extended": self.extended} if self.extended else {}),
        }


@dataclasses.dataclass(frozen=True)
class _Decoded:
    """The primary decoded: in full (RGB) and display-sized, as an image and as the bytes the browser gets."""

    source_id: str
    image: Image.Image
    canvas: Image.Image
    canvas_data: bytes

    @classmethod
    def of(cls, source: Source) -> _Decoded:
        image = decode_image(source.encoded.data).convert("RGB")
        data, _, size = encode_preview(image, CANVAS_EDGE)
        return cls(source.id, image, image.resize(size, Image.Resampling.BOX), data)


class Sources:
    """The source images in order, primary first, at most the API's MAX_SOURCES."""

    def __init__(self) -> None:
        self._items: list[Source] = []
        self._decoded: _Decoded | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Source]:
        return iter(self._items)

    @property
    def encoded(self) -> list[EncodedImage]:
        """The images as they will be sent, primary first."""
        return [s.encoded for s in self._items]

    @property
    def primary(self) -> Source | None:
        """The first source, which the mask belongs to; None without sources."""
        return self._items[0] if self._items else None

    @property
    def primary_image(self) -> Image.Image | None:
        """The primary decoded at full size, in RGB."""
        return self._decoded.image if self._decoded else None

    @property
    def canvas(self) -> Image.Image | None:
        """The primary at display size (long edge at most CANVAS_EDGE), in RGB."""
        return self._decoded.canvas if self._decoded else None

    @property
    def canvas_data(self) -> bytes:
        """The display-sized primary as the browser gets it (PNG or JPEG); empty without sources."""
        return self._decoded.canvas_data if self._decoded else b""

    @property
    def canvas_size(self) -> list[int]:
        """``[w, h]`` of the display-sized primary; ``[0, 0]`` without sources."""
        return list(self._decoded.canvas.size) if self._decoded else [0, 0]

    def crop(self, box: Sequence[float], size: tuple[int, int]) -> tuple[tuple[int, int, int, int], bytes, str] | None:
        """The primary's pixels in ``box`` (x0, y0, x1, y1, clamped to it) at most ``size``, encoded; None when empty.

        Returns the area actually taken (whole pixels), the bytes and their MIME type.
        """
        if self._decoded is None:
            return None
        image = self._decoded.image
        x0, y0, x1, y1 = box
        left, right = sorted((x0, x1))
        top, bottom = sorted((y0, y1))
        area = (
            max(0, math.floor(left)),
            max(0, math.floor(top)),
            min(image.width, math.ceil(right)),
            min(image.height, math.ceil(bottom)),
        )
        if area[2] <= area[0] or area[3] <= area[1]:
            return None
        piece = image.crop(area)
        scale = min(1.0, size[0] / piece.width, size[1] / piece.height)
        if scale < 1.0:
            shown = (max(1, round(piece.width * scale)), max(1, round(piece.height * scale)))
            piece = piece.resize(shown, Image.Resampling.BOX)
        buffer = io.BytesIO()
        piece.save(buffer, "JPEG", quality=92, subsampling=0)  # 4:4:4: sharp colour edges up close
        return area, buffer.getvalue(), "image/jpeg"

    def cards(self) -> list[dict[str, Any]]:
        return [s.card() for s in self._items]

    def replace(self, values: ImageInput | Sequence[ImageInput]) -> None:
        """Make these the sources (one value or a list); nothing changes if one of them is unusable."""
        if isinstance(values, (str, bytes, os.PathLike, Image.Image, np.ndarray)):
            values = [values]
        self._items = [Source.make(v, i) for i, v in enumerate(values)]
        self._settle()

    def add(self, value: ImageInput, *, name: str | None = None, primary: bool = False) -> None:
        """Add one source, last (or first with ``primary=True``); ValidationError when it is unusable or one too many."""
        if len(self._items) >= MAX_SOURCES:
            message = f"the studio already holds {MAX_SOURCES} sources, the API's limit."
            raise ValidationError([Violation("image[]", "max_count", message, "remove one first.")])
        source = Source.make(value, 0 if primary else len(self._items), name)
        if primary:
            self._items.insert(0, source)
        else:
            self._items.append(source)
        self._settle()

    def put_first(self, value: ImageInput, *, name: str) -> None:
        """Put ``value`` in front as the new primary; at the limit, the last source makes room for it."""
        self._items.insert(0, Source.make(value, 0, name=name))
        if len(self._items) > MAX_SOURCES:
            self._items.pop()
        self._settle()

    def replace_primary(self, value: ImageInput, *, name: str, extended: dict[str, Any] | None = None) -> None:
        """Put ``value`` in the primary's place (the other sources stay); ValidationError when it is unusable."""
        self._items[0] = Source.make(value, 0, name=name, extended=extended)
        self._settle()

    def remove(self, index: int) -> None:
        del self._items[index]
        self._settle()

    def move(self, index: int, to: int) -> None:
        """Move the source at ``index`` to position ``to`` (clamped to the list)."""
        source = self._items.pop(index)
        self._items.insert(max(0, min(to, len(self._items))), source)
        self._settle()

    def _settle(self) -> None:
        """Decode the primary when it is a new one (only then: a 4K image takes a while)."""
        primary = self.primary
        if primary is None:
            self._decoded = None
        elif self._decoded is None or self._decoded.source_id != primary.id:
            self._decoded = _Decoded.of(primary)
