"""The edit mask: which pixels of the primary source image the model may change.

The API's convention is a PNG whose alpha is 0 where the model may edit and 255
where the image is kept. Users bring other conventions (a boolean array, a white-
or black-is-edit grayscale, a painted layer whose opaque pixels mark the edit);
each has an explicit constructor, and nothing is guessed.
"""

from __future__ import annotations

import io
import math
import numbers
import os
from typing import IO, Union

import numpy as np
from PIL import Image, ImageFilter

from ._errors import ValidationError
from ._images import MAX_SOURCE_PIXELS, ImageInput, load_image
from ._rules import Violation, quote

MaskInput = Union["Mask", np.ndarray, Image.Image, str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]
"""What ``mask=`` accepts: a Mask, a boolean region, an API-style RGBA array or image, a path, PNG bytes, a file object."""


def _invalid(rule: str, message: str, fix: str) -> ValidationError:
    return ValidationError([Violation("mask", rule, message, fix)])


class Mask:
    """Where the model may edit, at the primary source's full resolution.

    ``region`` is an HxW boolean array, True where the model may change the image.
    ``rgba`` is the same mask in the API's convention (alpha 0 = editable).
    """

    __slots__ = ("_region",)

    def __init__(self, region: np.ndarray) -> None:
        region = np.asarray(region)
        if region.ndim != 2 or region.dtype != bool or 0 in region.shape:
            raise _invalid(
                "region",
                f"a mask region must be a non-empty 2-D boolean array, not {region.dtype} of shape {region.shape}.",
                "pass an HxW bool array (True = the model may edit there).",
            )
        self._region = region.copy()
        self._region.flags.writeable = False

    # -- constructors, one per convention ---------------------------------

    @classmethod
    def from_region(cls, region: np.ndarray) -> Mask:
        """From an HxW boolean array, True where the model may edit."""
        return cls(region)

    @classmethod
    def empty(cls, size: tuple[int, int]) -> Mask:
        """A mask of ``(width, height)`` that marks nothing yet."""
        width, height = _dimensions(size)
        return cls(np.zeros((height, width), dtype=bool))

    @classmethod
    def from_rgba(cls, rgba: np.ndarray | Image.Image) -> Mask:
        """From the API's convention: an RGBA image or HxWx4 array whose alpha is 0 where the model may edit."""
        alpha = _alpha(rgba)
        if alpha is None:
            raise _invalid(
                "alpha",
                "this image has no alpha channel, so it says nothing in the API's convention.",
                "use Mask.from_white_is_edit() or Mask.from_black_is_edit() for a grayscale mask.",
            )
        return cls(alpha == 0)

    @classmethod
    def from_alpha_is_edit(cls, rgba: np.ndarray | Image.Image, threshold: int = 128) -> Mask:
        """From a painted layer: an RGBA whose *opaque* pixels (alpha >= threshold) mark the edit."""
        alpha = _alpha(rgba)
        if alpha is None:
            raise _invalid("alpha", "this image has no alpha channel.", "pass an RGBA image or HxWx4 array.")
        return cls(alpha >= threshold)

    @classmethod
    def from_white_is_edit(cls, gray: ImageInput, threshold: int = 128) -> Mask:
        """From a grayscale image where white (>= threshold) marks the area to edit."""
        return cls(_luminance(gray) >= threshold)

    @classmethod
    def from_black_is_edit(cls, gray: ImageInput, threshold: int = 128) -> Mask:
        """From a grayscale image where black (< threshold) marks the area to edit."""
        return cls(_luminance(gray) < threshold)

    @classmethod
    def from_png(cls, data: bytes | str | os.PathLike | IO[bytes]) -> Mask:
        """From a mask file in the API's convention (a path, PNG bytes or a binary file object)."""
        return cls.from_rgba(load_image(data, "mask"))

    @classmethod
    def coerce(cls, value: MaskInput) -> Mask:
        """Whatever ``mask=`` was given, as a Mask; ambiguous inputs are refused, not guessed.

        A bool array is a region; an HxWx4 uint8 array, an RGBA image, a path, bytes
        or a binary file object are read in the API's convention (a file is read no
        further than the API's 50 MB). A grayscale image is ambiguous. Every function
        that takes a mask takes it through here, and none changes what it was given.
        """
        if isinstance(value, Mask):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype == bool and value.ndim == 2:
                return cls(value)
            if value.ndim == 3 and value.shape[2] == 4 and value.dtype == np.uint8:
                return cls.from_rgba(value)
            raise _invalid(
                "type",
                f"an array of {value.dtype} with shape {value.shape} is not a mask this client can read unambiguously.",
                "pass an HxW bool array (True = edit), an HxWx4 uint8 RGBA array (alpha 0 = edit), "
                "or use Mask.from_white_is_edit() / Mask.from_black_is_edit().",
            )
        if isinstance(value, (Image.Image, str, bytes, bytearray, memoryview, os.PathLike)) or hasattr(value, "read"):
            image = value if isinstance(value, Image.Image) else load_image(value, "mask")  # type: ignore[arg-type]
            if _alpha(image) is None:
                raise _invalid(
                    "alpha",
                    "this mask image has no alpha channel, so which side is the edit is ambiguous.",
                    "use Mask.from_white_is_edit(...) or Mask.from_black_is_edit(...), "
                    "or an RGBA PNG whose alpha is 0 where the model may edit.",
                )
            return cls.from_rgba(image)
        raise _invalid(
            "type", f"a {type(value).__name__} is not a mask.", "pass a Mask, a bool array, an RGBA image or a PNG file."
        )

    # -- views -------------------------------------------------------------

    @property
    def region(self) -> np.ndarray:
        """HxW bool, True where the model may edit (read-only)."""
        return self._region

    @property
    def rgba(self) -> np.ndarray:
        """HxWx4 uint8 in the API's convention: black, alpha 0 where the model may edit, 255 elsewhere."""
        out = np.zeros((*self._region.shape, 4), dtype=np.uint8)
        out[..., 3] = np.where(self._region, 0, 255)
        return out

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL counts."""
        height, width = self._region.shape
        return width, height

    @property
    def coverage(self) -> float:
        """The fraction of pixels the model may edit, 0 to 1."""
        return float(self._region.mean())

    def invert(self) -> Mask:
        """The mask with edit and keep swapped."""
        return Mask(~self._region)

    def resize(self, size: tuple[int, int]) -> Mask:
        """The mask at another ``(width, height)``, nearest-neighbour so it stays two-level."""
        image = Image.fromarray(self._region.astype(np.uint8) * 255, "L").resize(_dimensions(size), Image.Resampling.NEAREST)
        return Mask(np.asarray(image) >= 128)

    def grow(self, pixels: int) -> Mask:
        """The mask widened by ``pixels`` in every direction (a disc-shaped dilation)."""
        if pixels < 0:
            return self.shrink(-pixels)
        return Mask(_dilate(self._region, pixels)) if pixels else self

    def shrink(self, pixels: int) -> Mask:
        """The mask narrowed by ``pixels`` from every edge inside the image (a disc-shaped erosion)."""
        if pixels < 0:
            return self.grow(-pixels)
        # The image's border is not an edge: shrinking a full mask leaves it full.
        return Mask(~_dilate(~self._region, pixels, outside=False)) if pixels else self

    def feathered(self, pixels: float) -> np.ndarray:
        """An HxW float32 weight, 1 inside the region and 0 outside, blended over about ``pixels``."""
        weight = self._region.astype(np.float32)
        if pixels <= 0:
            return weight
        image = Image.fromarray(self._region.astype(np.uint8) * 255, "L")
        blurred = image.filter(ImageFilter.GaussianBlur(pixels / 2))
        return np.asarray(blurred, dtype=np.float32) / 255.0

    def to_image(self) -> Image.Image:
        """The mask as an RGBA PIL image in the API's convention."""
        return Image.fromarray(self.rgba, "RGBA")

    def to_png(self) -> bytes:
        """The mask as the API wants it: an RGBA PNG, alpha 0 where the model may edit."""
        buffer = io.BytesIO()
        self.to_image().save(buffer, "PNG")
        return buffer.getvalue()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mask) and np.array_equal(self._region, other._region)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        width, height = self.size
        return f"Mask({width}x{height}, {self.coverage:.1%} editable)"

    def _repr_png_(self) -> bytes:
        # Editable area white on black: easier to read than a transparent PNG on a white page.
        preview = Image.fromarray(self._region.astype(np.uint8) * 255, "L")
        preview.thumbnail((512, 512))
        buffer = io.BytesIO()
        preview.save(buffer, "PNG")
        return buffer.getvalue()


def _dilate(region: np.ndarray, radius: int, outside: bool = False) -> np.ndarray:
    """Pixels within ``radius`` (Euclidean, centre to centre) of a True pixel.

    A disc is a stack of horizontal runs: row ``dy`` of it is the run of half-width
    ``isqrt(r² - dy²)``. The runs are grown one column at a time (a run of half-width
    h+1 is the one of h shifted a column either way) and each is OR-ed into the rows
    that need it. All of it works on rows packed eight pixels to a byte, so time and
    memory are proportional to the mask (times the radius for time), with small constants.
    """
    height, width = region.shape
    padded = np.pad(region, radius, constant_values=outside)
    run = np.packbits(padded, axis=1)  # half-width 0; bit 7 of byte 0 is column 0
    out = np.zeros((height, run.shape[1]), np.uint8)
    rows_of: dict[int, list[int]] = {}
    for dy in range(-radius, radius + 1):
        rows_of.setdefault(math.isqrt(radius * radius - dy * dy), []).append(dy)
    for half in range(radius + 1):
        if half:
            grown = run.copy()
            grown[:, :-1] |= run[:, 1:] >> 7  # column x takes column x + 1 (across the byte boundary) ...
            grown |= run << 1  # ... and within the byte
            grown[:, 1:] |= run[:, :-1] << 7  # column x takes column x - 1
            grown |= run >> 1
            run = grown
        for dy in rows_of.get(half, ()):
            out |= run[radius + dy : radius + dy + height]
    return np.unpackbits(out, axis=1, count=padded.shape[1])[:, radius : radius + width].astype(bool)


def _dimensions(size: object) -> tuple[int, int]:
    """``(width, height)`` as two positive whole numbers, at most as many pixels as a source image may have."""
    if isinstance(size, (tuple, list)) and len(size) == 2:
        edges = [int(v) for v in size if isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0]
        if len(edges) == 2 and edges[0] * edges[1] <= MAX_SOURCE_PIXELS:
            return edges[0], edges[1]
    raise _invalid(
        "size",
        f"{quote(size)} is not a (width, height) of positive whole numbers, at most {MAX_SOURCE_PIXELS:,} pixels.",
        "pass the source image's size, e.g. image.size or (1024, 1024).",
    )


def _alpha(value: np.ndarray | Image.Image) -> np.ndarray | None:
    if isinstance(value, Image.Image):
        if value.mode in ("La", "RGBa"):  # premultiplied: the alpha is the same, but Pillow cannot go to RGBA directly
            value = value.convert(value.mode.upper())
        if value.mode in ("RGBA", "LA", "PA") or "transparency" in value.info:
            return np.asarray(value.convert("RGBA").getchannel("A"))
        return None
    if not isinstance(value, np.ndarray):
        raise _invalid(
            "type",
            f"a {type(value).__name__} is not an RGBA image or array.",
            "pass a PIL image or an HxWx4 uint8 array; for a file or bytes use Mask.from_png() or Mask.coerce().",
        )
    arr = np.asarray(value)
    if arr.ndim == 3 and arr.shape[2] == 4:
        if arr.dtype != np.uint8:
            raise _invalid("dtype", f"an RGBA mask array must be uint8, not {arr.dtype}.", "convert it with .astype(np.uint8).")
        return arr[..., 3]
    return None


def _luminance(value: ImageInput) -> np.ndarray:
    image = load_image(value, "mask")
    return np.asarray(image.convert("L"))
