"""Outpainting: a larger canvas around the original, snapped to the API's size rules, and the mask of its new area.

:func:`plan_extension` turns what was asked (pixels per side, an aspect to reach, or
a size) into an :class:`Extension`: the canvas size, where the original lands on it
and at what scale. The canvas is snapped to the API's rules, in this order, and
each adjustment is said in one sentence (``Extension.snapped``):

1. the long edge at most 3 times the short one: the short edge grows (nothing asked for is taken away);
2. each edge a multiple of 16: rounded up;
3. at most 3,840 px per edge and 8,294,400 px in all: the whole canvas, original
   included, scaled down to fit; at least 655,360 px: scaled up (a canvas that must
   be scaled is rounded to 16 as it is scaled, not before, so a small one keeps its shape).

Pixels added in steps 1 and 2 go to the sides being extended on that axis (shared
evenly when both are), or are split evenly when neither is. After a scale the
original keeps its share of each axis' margin, rounded to whole pixels, and always
lies wholly inside the canvas. :func:`extend_image` builds the canvas (the new area
transparent, or the original's edge pixels repeated outwards) and
:func:`extension_mask` the mask of the new area, optionally grown into the original.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from fractions import Fraction

import numpy as np
from PIL import Image

from ._errors import ValidationError
from ._mask import Mask
from ._rules import MAX_EDGE, MAX_PIXELS, MAX_RATIO, MIN_PIXELS, SIZE_MULTIPLE, Violation, format_size, parse_size, quote

_SIDES = ("left", "top", "right", "bottom")
_ASPECT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")
_FILLS = ("transparent", "edge")


@dataclasses.dataclass(frozen=True)
class Extension:
    """A planned extension of an image's canvas (see :func:`plan_extension`).

    ``original`` is the original's (w, h); ``size`` the new canvas' (w, h), a valid
    API size; ``offset`` where the original's top-left lands on it; ``scale`` the
    factor the original is resized by first (1.0 unless the rules required it);
    ``snapped`` one sentence per adjustment made to what was asked.
    """

    original: tuple[int, int]
    size: tuple[int, int]
    offset: tuple[int, int]
    scale: float
    snapped: tuple[str, ...] = ()

    @property
    def placed(self) -> tuple[int, int]:
        """The original's (w, h) on the canvas: its size times ``scale``, rounded (its own size when scale is 1)."""
        if self.scale == 1:
            return self.original
        return tuple(max(1, round(edge * self.scale)) for edge in self.original)  # type: ignore[return-value]

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Where the original lies on the canvas: (x0, y0, x1, y1), ends exclusive."""
        (x, y), (w, h) = self.offset, self.placed
        return x, y, x + w, y + h

    def as_dict(self) -> dict:
        """JSON-able provenance: ``{"original": [w, h], "size": [w, h], "offset": [x, y], "scale": s}``."""
        return {"original": list(self.original), "size": list(self.size), "offset": list(self.offset), "scale": self.scale}


def _refuse(field: str, rule: str, message: str, fix: str) -> ValidationError:
    return ValidationError([Violation(field, rule, message, fix)])


def _whole(value: object) -> int | None:
    """A whole number (``12`` or ``12.0``, not ``True``) as an int, else None."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _ratio(aspect: object) -> Fraction:
    """``"16:9"``, ``"2.35:1"`` or a float w/h, as an exact positive fraction within 3:1 (ValidationError otherwise)."""
    ratio: Fraction | None = None
    if isinstance(aspect, str):
        match = _ASPECT_RE.match(aspect)
        if match and len(aspect) <= 40 and Fraction(match[1]) > 0 and Fraction(match[2]) > 0:
            ratio = Fraction(match[1]) / Fraction(match[2])
    elif isinstance(aspect, (int, float)) and not isinstance(aspect, bool) and math.isfinite(aspect) and 0 < aspect < 1e6:
        ratio = Fraction(aspect).limit_denominator(10_000)  # 16 / 9 as a float is meant as 16:9
    if ratio is None:
        fix = "write it W:H, e.g. '16:9', or as a number w/h."
        raise _refuse("aspect", "format", f"{quote(aspect)} is not an aspect ratio.", fix)
    if not 1 / Fraction(MAX_RATIO) <= ratio <= MAX_RATIO:
        message = f"{quote(aspect)} is beyond {MAX_RATIO}:1; the API's long edge may be at most {MAX_RATIO} times the short."
        raise _refuse("aspect", "max_ratio", message, f"use an aspect from 1:{MAX_RATIO} to {MAX_RATIO}:1.")
    return ratio


def _asked(original: tuple[int, int], sides: dict[str, object], aspect: object, size: object) -> list[int]:
    """The margins [left, top, right, bottom] asked for, checked."""
    width, height = original
    given = [name for name, value in sides.items() if value is not None and _whole(value) != 0]
    if given and (aspect is not None or size is not None):
        which = "aspect" if aspect is not None else "size"
        message = f"{which} and the sides ({', '.join(given)}) were both given; they are two ways of saying the same thing."
        raise _refuse(which, "exclusive", message, f"give either the pixels to add per side, or {which}, not both.")
    if aspect is not None and size is not None:
        raise _refuse("size", "exclusive", "aspect and size were both given.", "give one of them.")
    if aspect is not None:
        ratio = _ratio(aspect)
        if ratio > Fraction(width, height):
            extra = math.ceil(height * ratio) - width
            margins = [extra // 2, 0, extra - extra // 2, 0]
        else:
            extra = math.ceil(width / ratio) - height
            margins = [0, extra // 2, 0, extra - extra // 2]
    elif size is not None:
        parsed = parse_size(size)
        if parsed is None:
            message = f"{quote(size)} is not a size; sizes are written WIDTHxHEIGHT."
            raise _refuse("size", "format", message, "use e.g. '2048x1024'.")
        new_width, new_height = parsed
        if new_width < width or new_height < height:
            message = f"{format_size(*parsed)} is smaller than the original ({format_size(width, height)}) on some edge."
            raise _refuse("size", "too_small", message, f"give each edge at least the original's: {format_size(width, height)}.")
        dx, dy = new_width - width, new_height - height
        margins = [dx // 2, dy // 2, dx - dx // 2, dy - dy // 2]
    else:
        margins = []
        for name in _SIDES:
            value = sides[name]
            number = _whole(0 if value is None else value)
            if number is None or number < 0:
                message = f"{name} is {quote(value)}; it is a whole number of pixels, 0 or more."
                raise _refuse(name, "range", message, f"use e.g. {name}=256.")
            margins.append(number)
    if not any(margins):
        raise _refuse(
            "extend",
            "nothing_to_extend",
            f"this would leave the {format_size(width, height)} canvas as it is.",
            "give pixels to add on a side, a wider or taller aspect, or a larger size.",
        )
    return margins


def _grow(margins: list[int], axis: int, extra: int) -> None:
    """Add ``extra`` px on ``axis`` (0: x, 1: y) to the sides being extended there, or split it evenly."""
    before, after = margins[axis], margins[axis + 2]
    if before and not after:
        margins[axis] += extra
    elif after and not before:
        margins[axis + 2] += extra
    else:  # the odd pixel to the smaller side, so that a centred original stays centred
        small, large = (axis, axis + 2) if before < after else (axis + 2, axis)
        margins[small] += extra - extra // 2
        margins[large] += extra // 2


def _up16(value: float) -> int:
    return SIZE_MULTIPLE * math.ceil(value / SIZE_MULTIPLE)


def _down16(value: float) -> int:
    return max(SIZE_MULTIPLE, SIZE_MULTIPLE * math.floor(value / SIZE_MULTIPLE))


def _out_of_range(width: int, height: int) -> bool:
    return max(width, height) > MAX_EDGE or not MIN_PIXELS <= width * height <= MAX_PIXELS


def plan_extension(
    original: tuple[int, int],
    *,
    left: int = 0,
    top: int = 0,
    right: int = 0,
    bottom: int = 0,
    aspect: str | float | None = None,
    size: str | tuple[int, int] | None = None,
) -> Extension:
    """Plan a larger canvas around an ``original`` of (w, h), snapped to the API's size rules.

    Give the pixels to add per side (whole numbers, 0 or more), or ``aspect`` (``"16:9"``,
    ``"W:H"`` or a float w/h: the short dimension is extended, centred), or ``size``
    (``"WxH"`` or (w, h), each edge at least the original's, centred). Returns the
    :class:`Extension`. Raises ValidationError for sides mixed with aspect or size,
    a negative side, nothing to extend, or an aspect beyond 3:1.
    """
    ow, oh = (_whole(v) for v in original) if isinstance(original, (tuple, list)) and len(original) == 2 else (None, None)
    if not (ow and oh and ow > 0 and oh > 0):
        message = f"{quote(original)} is not a (width, height) of positive whole numbers."
        raise _refuse("original", "size", message, "pass image.size.")
    sides = {"left": left, "top": top, "right": right, "bottom": bottom}
    margins = _asked((ow, oh), sides, aspect, size)
    snapped: list[str] = []

    def canvas() -> tuple[int, int]:
        return ow + margins[0] + margins[2], oh + margins[1] + margins[3]

    asked = canvas()
    width, height = asked
    if max(width, height) > MAX_RATIO * min(width, height):
        axis = 1 if width > height else 0  # the short edge's axis
        _grow(margins, axis, math.ceil(max(width, height) / MAX_RATIO) - min(width, height))
        snapped.append(f"{format_size(width, height)} became {format_size(*canvas())}: "
                       f"the long edge may be at most {MAX_RATIO} times the short edge")
    width, height = canvas()
    if not _out_of_range(width, height) and (width % SIZE_MULTIPLE or height % SIZE_MULTIPLE):
        _grow(margins, 0, _up16(width) - width)
        _grow(margins, 1, _up16(height) - height)
        snapped.append(f"{format_size(width, height)} became {format_size(*canvas())}: "
                       f"each edge must be a multiple of {SIZE_MULTIPLE}")
    width, height = canvas()
    scale, placed = 1.0, (ow, oh)
    if _out_of_range(width, height):  # scaled, and rounded to 16 there: rounding first would distort a small canvas
        if width * height < MIN_PIXELS:
            factor = math.sqrt(MIN_PIXELS / (width * height))
            new = [_up16(width * factor), _up16(height * factor)]
            reason = f"total pixels must be at least {MIN_PIXELS:,}"
        else:
            factor = min(MAX_EDGE / max(width, height), math.sqrt(MAX_PIXELS / (width * height)))
            new = [_down16(width * factor), _down16(height * factor)]
            reason = f"total pixels may be at most {MAX_PIXELS:,}"
            if max(width, height) > MAX_EDGE:
                reason = f"no edge may exceed {MAX_EDGE} px"
        # Rounding each edge to 16 on its own can tip the ratio just past 3:1.
        long, short = (0, 1) if new[0] >= new[1] else (1, 0)
        if new[long] > MAX_RATIO * new[short]:
            if factor > 1:
                new[short] = _up16(new[long] / MAX_RATIO)
            else:
                new[long] = MAX_RATIO * new[short]
        scale = min(new[0] / width, new[1] / height)
        placed = (max(1, round(ow * scale)), max(1, round(oh * scale)))
        offsets = []
        for axis in (0, 1):
            spare, margin = new[axis] - placed[axis], margins[axis] + margins[axis + 2]
            offsets.append(min(max(round(spare * margins[axis] / margin) if margin else spare // 2, 0), spare))
        snapped.append(f"{format_size(width, height)} became {format_size(*new)} (the original scaled by {scale:.4g}): {reason}")
        return Extension((ow, oh), (new[0], new[1]), (offsets[0], offsets[1]), scale, tuple(snapped))
    return Extension((ow, oh), (width, height), (margins[0], margins[1]), scale, tuple(snapped))


def extend_image(image: Image.Image, extension: Extension, fill: str = "transparent") -> Image.Image:
    """``image`` (of ``extension.original``'s size) on the extension's canvas, as RGBA.

    ``fill="transparent"`` leaves the new area at alpha 0; ``"edge"`` repeats the
    original's edge pixels outwards, opaque. Raises ValueError for another size or fill.
    """
    if fill not in _FILLS:
        raise ValueError(f"fill is 'transparent' or 'edge', not {quote(fill)}")
    if image.size != extension.original:
        planned = format_size(*extension.original)
        raise ValueError(f"the image is {format_size(*image.size)}, but the extension was planned for {planned}")
    rgba = image.convert("RGBA") if image.mode != "RGBA" else image
    if extension.placed != rgba.size:
        rgba = rgba.resize(extension.placed, Image.Resampling.LANCZOS)
    pixels = np.asarray(rgba)
    x0, y0, x1, y1 = extension.box
    width, height = extension.size
    pad = ((y0, height - y1), (x0, width - x1), (0, 0))
    if fill == "edge":
        out = np.pad(pixels, pad, mode="edge")
        out[..., 3] = 255
        out[y0:y1, x0:x1, 3] = pixels[..., 3]  # the original keeps its own alpha
    else:
        out = np.pad(pixels, pad)
    return Image.fromarray(out, "RGBA")


def extension_mask(extension: Extension, overlap: int = 0) -> Mask:
    """The mask of the new area: True exactly outside the original, plus ``overlap`` px into it along each seam.

    Only the original's sides that border new area grow into it (an edge of the canvas
    is no seam). Raises ValueError unless ``overlap`` is a whole number, 0 or more.
    """
    grow = _whole(overlap)
    if grow is None or grow < 0:
        raise ValueError(f"overlap is a whole number of pixels, 0 or more, not {quote(overlap)}")
    width, height = extension.size
    x0, y0, x1, y1 = extension.box
    keep = [x0 + grow if x0 > 0 else 0, y0 + grow if y0 > 0 else 0]
    keep += [x1 - grow if x1 < width else width, y1 - grow if y1 < height else height]
    region = np.ones((height, width), bool)
    if keep[0] < keep[2] and keep[1] < keep[3]:
        region[keep[1] : keep[3], keep[0] : keep[2]] = False
    return Mask(region)
