"""The API's rules, in one place.

Every constraint of the Anyfast image API (``../shared/api``) lives here. The
client checks requests with these functions before sending anything, the
simulator answers 400 with the same messages, and the widget shows them next to
its controls. Each check returns a list of :class:`Violation`; an empty list
means the request is fine.

Some rules are the API's own (the simulator enforces them); others are a careful
client's prudence, catching requests the API would accept but that would waste
money (``api_rule=False``).

A user's settings and a request on the wire are checked alike, with these
differences that only the wire has (``check_params(..., wire=True)``, used by the
simulator on what arrives and by the client on what it is about to send):
``model`` is required (settings never hold it; the client adds it), a size must
be the string ``WxH`` exactly (in Python a tuple or ``"1536 x 1024"`` is fine: the
client formats it), and a JSON ``null`` is what the provider's spec makes it: no
field of either endpoint may be null, so a ``null`` is a value of the wrong type,
refused as any other (for ``model`` or ``prompt`` it is a missing value). A field
the endpoint does not accept is refused whatever its value (see :func:`wire_fields`).

Numbers follow JSON Schema, as the spec's validators do: ``80.0`` is an integer,
``80.5`` is not (form text is read by :func:`read_form_fields`). The envelope's
rules are here too: each endpoint's media type, the ``Bearer`` header.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MODEL = "gpt-image-2-c"
GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"

QUALITIES = ("low", "medium", "high")
OUTPUT_FORMATS = ("png", "jpeg")
MODERATIONS = ("auto", "low")
RESPONSE_FORMATS = ("url", "b64_json")
SOURCE_FORMATS = ("png", "jpeg")

DEFAULT_SIZE = "1024x1024"
SIZE_MULTIPLE = 16
MAX_RATIO = 3
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
MAX_EDGE = 3840
MAX_SOURCES = 16
MAX_FILE_BYTES = 50_000_000  # "under 50 MB": the decimal reading is the safe one
COMPRESSION_RANGE = (0, 100)

#: Fields each endpoint accepts, in the order the spec lists them. Nothing else is sent.
GENERATION_FIELDS = (
    "model",
    "prompt",
    "size",
    "quality",
    "output_format",
    "output_compression",
    "moderation",
    "response_format",
)
#: The request's parameters besides model and prompt (all optional), in the spec's order.
REQUEST_PARAMS = tuple(f for f in GENERATION_FIELDS if f not in ("model", "prompt"))
EDIT_FIELDS = ("model", "prompt", "size", "output_format", "output_compression", "response_format")
EDIT_FILE_FIELDS = ("image", "image[]", "mask")
#: Fields the spec declares integer; every other non-file field is a string.
INTEGER_FIELDS = ("output_compression",)
#: The media type of each endpoint's body (parameters such as ``charset`` or ``boundary`` aside).
MEDIA_TYPES = {"generations": "application/json", "edits": "multipart/form-data"}

_ENUMS: dict[str, tuple[str, ...]] = {
    "quality": QUALITIES,
    "output_format": OUTPUT_FORMATS,
    "moderation": MODERATIONS,
    "response_format": RESPONSE_FORMATS,
}

_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
# Far past any real edge; Python cannot even print an int of over 4,300 digits, so a size must stop short of that.
_MAX_SIZE_VALUE = 10**9
# Exactly what format_size writes for edges from 0 up: an edge of 0 is a rule's business ("positive"), not a format error.
_WIRE_SIZE_RE = re.compile(r"(?:0|[1-9][0-9]*)x(?:0|[1-9][0-9]*)")


@dataclass(frozen=True)
class Violation:
    """One broken rule: which field, which rule, what is wrong and how to fix it."""

    field: str
    rule: str
    message: str
    fix: str
    api_rule: bool = True  # False: the API would accept it, but it wastes money

    def __str__(self) -> str:
        return f"{self.field}: {self.message} Fix: {self.fix}"


@dataclass(frozen=True)
class UploadInfo:
    """What the rules need to know about one uploaded file (a source or a mask)."""

    field: str  # "image[0]", "mask", ...
    format: str | None  # "png", "jpeg", another Pillow format in lower case, or None if unreadable
    width: int
    height: int
    nbytes: int
    has_alpha: bool = False
    alpha_min: int = 255
    alpha_max: int = 255


def quote(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters: a huge value must neither flood it nor break it."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - an int of over 4,300 digits, or a broken __repr__: still say something
        return f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- sizes -----------------------------------------------------------------


def parse_size(size: object) -> tuple[int, int] | None:
    """``"1536x1024"`` or ``(1536, 1024)`` -> ``(1536, 1024)``; ``None`` if it is neither."""
    edges: Sequence[object] = ()
    if isinstance(size, str):
        match = _SIZE_RE.match(size)
        if match and len(match[1]) + len(match[2]) <= 40:  # int() refuses strings of over 4,300 digits
            edges = (int(match[1]), int(match[2]))
    elif isinstance(size, (tuple, list)):
        edges = size
    ints = [int(v) for v in edges if isinstance(v, int) and not isinstance(v, bool) and abs(v) <= _MAX_SIZE_VALUE]
    return (ints[0], ints[1]) if len(edges) == len(ints) == 2 else None


def format_size(width: int, height: int) -> str:
    return f"{width}x{height}"


def is_valid_size(width: int, height: int) -> bool:
    return not _size_problems(width, height)


def _size_problems(width: int, height: int) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if width <= 0 or height <= 0:
        return [("positive", "both edges must be positive")]
    if width % SIZE_MULTIPLE or height % SIZE_MULTIPLE:
        problems.append(("multiple_of_16", f"each edge must be a multiple of {SIZE_MULTIPLE}"))
    if max(width, height) > MAX_RATIO * min(width, height):
        problems.append(("max_ratio", f"the long edge may be at most {MAX_RATIO} times the short edge"))
    pixels = width * height
    if not MIN_PIXELS <= pixels <= MAX_PIXELS:
        problems.append(
            ("pixel_range", f"total pixels must be {MIN_PIXELS:,} to {MAX_PIXELS:,} (it is {pixels:,})")
        )
    if max(width, height) > MAX_EDGE:
        problems.append(("max_edge", f"no edge may exceed {MAX_EDGE} px"))
    return problems


@functools.cache
def _valid_sizes() -> tuple[tuple[int, int], ...]:
    edges = range(SIZE_MULTIPLE, MAX_EDGE + 1, SIZE_MULTIPLE)
    return tuple((w, h) for w in edges for h in edges if is_valid_size(w, h))


def nearest_sizes(width: int, height: int, k: int = 3) -> list[str]:
    """The ``k`` valid sizes closest to ``width x height``, keeping its shape and area as far as possible."""
    width, height = max(width, 1), max(height, 1)

    def distance(size: tuple[int, int]) -> float:
        w, h = size
        # Closeness of each edge, plus closeness of shape, so a square stays square.
        return abs(math.log(w / width)) + abs(math.log(h / height)) + abs(math.log((w / h) / (width / height)))

    return [format_size(*s) for s in sorted(_valid_sizes(), key=distance)[:k]]


def size_violations(size: object, field: str = "size", *, wire: bool = False) -> list[Violation]:
    """The broken rules of ``size``; ``wire=True`` also demands the exact string ``WxH`` (see the module docstring)."""
    if wire and not (isinstance(size, str) and _WIRE_SIZE_RE.fullmatch(size)):
        return [_wire_size_violation(size, field)]
    parsed = parse_size(size)
    if parsed is None:
        return [
            Violation(
                field,
                "format",
                f"{quote(size)} is not a size; sizes are written WIDTHxHEIGHT.",
                f"use a size such as {DEFAULT_SIZE!r} or '1536x1024'.",
            )
        ]
    problems = _size_problems(*parsed)
    if not problems:
        return []
    nearest = ", ".join(nearest_sizes(*parsed))
    return [
        Violation(field, rule, f"{format_size(*parsed)} breaks the rule: {text}.", f"the nearest valid sizes are {nearest}.")
        for rule, text in problems
    ]


def _wire_size_violation(size: object, field: str) -> Violation:
    parsed = parse_size(size)
    example = format_size(*parsed) if parsed else DEFAULT_SIZE
    if not isinstance(size, str):
        message = f"{_shown(size, True)} is not a string; sizes are written WIDTHxHEIGHT."
    elif parsed:
        message = f"{quote(size)} is not written exactly WIDTHxHEIGHT (digits, a lower-case x, digits, nothing else)."
    else:
        message = f"{quote(size)} is not a size; sizes are written WIDTHxHEIGHT."
    return Violation(field, "format", message, f"send size as a string such as {example!r}.")


# -- parameters ------------------------------------------------------------


def wire_fields(endpoint: str, params: Mapping[str, object]) -> dict[str, object]:
    """The fields of a request that ``check_params(..., wire=True)`` passed, as the API reads them: the spec's
    integer fields as ``int`` (``80.0`` is JSON Schema's integer 80), the rest as they arrived."""
    numbers = {name: integer_value(params[name]) for name in INTEGER_FIELDS if name in params}
    return {**params, **{name: n for name, n in numbers.items() if n is not None}}


def integer_value(value: object) -> int | None:
    """``value`` as an ``int`` if JSON Schema calls it an integer (``80``, ``80.0``; not ``True``, ``80.5``), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, float) and value.is_integer() else None  # is_integer: False for inf, nan


_FORM_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def read_form_fields(fields: Mapping[str, str]) -> dict[str, object]:
    """A multipart body's text fields, the spec's integer fields read as numbers: form values are text, so
    ``"50"`` and ``"50.0"`` are 50 and ``"50.5"`` is 50.5 (which the rules refuse); other text stays text."""
    out: dict[str, object] = dict(fields)
    for name in INTEGER_FIELDS:
        text = fields.get(name, "").strip()
        if len(text) <= 40 and _FORM_NUMBER_RE.fullmatch(text):  # 40 characters: no int() of thousands of digits
            number = float(text)
            out[name] = number if integer_value(number) is None else integer_value(number)
    return out


def media_type(content_type: str | None) -> str:
    """A ``Content-Type``'s media type in lower case, parameters dropped: ``"application/json; charset=utf-8"`` ->
    ``"application/json"``, ``"application/jsonx"`` -> itself (compare with :data:`MEDIA_TYPES`), none -> ``""``."""
    return (content_type or "").split(";", 1)[0].strip(" \t").lower()


# RFC 6750 section 2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 7235 section 2.1).
_BEARER_RE = re.compile(r"bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE | re.ASCII)


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization`` header of Bearer credentials (the scheme in any case, one or more spaces
    after it, white space around the value ignored), or None for a missing header or any other scheme."""
    match = _BEARER_RE.fullmatch((authorization or "").strip(" \t"))
    return match[1] if match else None


def _shown(value: object, wire: bool) -> str:
    """A value for a message: ``null`` on the wire (where None came from JSON), ``quote(value)`` elsewhere."""
    return "null" if wire and value is None else quote(value)


def _enum_violation(field: str, value: object, wire: bool = False) -> Violation | None:
    allowed = _ENUMS[field]
    if isinstance(value, str) and value in allowed:  # not bare `in`: a numpy array's == would pass np.array(["low"])
        return None
    choices = ", ".join(repr(a) for a in allowed)
    return Violation(field, "enum", f"{_shown(value, wire)} is not one of {choices}.", f"use one of {choices}.")


def _compression_violation(value: object, wire: bool = False) -> Violation | None:
    low, high = COMPRESSION_RANGE
    number = integer_value(value)
    if number is not None and low <= number <= high:
        return None
    return Violation(
        "output_compression",
        "range",
        f"{_shown(value, wire)} is not a whole number from {low} to {high}.",
        f"use an integer from {low} (smallest file) to {high} (best quality).",
    )


def _null_fix(violation: Violation) -> Violation:
    """A violation for a JSON ``null``, whose fix also says how to get the default."""
    return dataclasses.replace(violation, fix=violation.fix.rstrip(".") + ", or leave the field out for the API's default.")


def _is_unicode(text: str) -> bool:
    """True unless ``text`` holds lone surrogates, which no UTF-8 body (JSON or form) can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_params(
    endpoint: str, params: Mapping[str, object], *, strict: bool = True, wire: bool = False
) -> list[Violation]:
    """Check the non-file fields of a request for ``endpoint`` ("generations" or "edits").

    ``params`` holds what would go on the wire; absent fields take the API's defaults.
    ``strict=False`` keeps to the rules the API itself enforces (the simulator's view).
    ``wire=False`` (the default) checks a user's settings, which leave ``model`` to the
    client; ``wire=True`` checks a whole request as sent: ``model`` is required, a
    size must be the exact string ``WxH``, and a ``null`` is a value of the wrong
    type (see the module docstring and :func:`wire_fields`).
    """
    allowed = GENERATION_FIELDS if endpoint == "generations" else EDIT_FIELDS
    out: list[Violation] = []
    for name in params:
        if name not in allowed:
            where = "the generations endpoint" if endpoint == "generations" else "the edits endpoint"
            message, fix = f"{where} does not accept {quote(name)}.", f"remove it; accepted fields are {', '.join(allowed)}."
            out.append(Violation(name, "unknown_field", message, fix))
    if wire and params.get("model") is None:  # absent, or null: JSON's null is no model
        out.append(Violation("model", "required", "the model is missing.", f"send model={MODEL!r}."))
    model = params.get("model", MODEL)
    if model != MODEL and not (wire and model is None):
        out.append(Violation("model", "enum", f"{quote(model)} is not a model this API serves.", f"use {MODEL!r}."))
    prompt = params.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        if prompt is None:
            problem = "the prompt is missing."
        elif isinstance(prompt, str):
            problem = "the prompt is empty."
        else:
            problem = f"{quote(prompt)} is not text."
        fix = "describe the image you want" + (" or the edit to make." if endpoint == "edits" else ".")
        out.append(Violation("prompt", "required", problem, fix))
    elif not _is_unicode(prompt):
        out.append(
            Violation(
                "prompt",
                "encoding",
                "the prompt holds a lone surrogate (half of a character such as an emoji, cut in two), "
                "which cannot be sent as UTF-8.",
                "remove it, or re-read the text with errors='replace'.",
            )
        )
    optional: list[Violation] = []
    if "size" in params:
        optional += size_violations(params["size"], wire=wire)
    for name in _ENUMS:
        if name in params and name in allowed:
            v = _enum_violation(name, params[name], wire)
            if v:
                optional.append(v)
    if "output_compression" in params:
        v = _compression_violation(params["output_compression"], wire)
        if v:
            optional.append(v)
        elif strict and params.get("output_format", "png") != "jpeg":
            message = "output_compression only affects jpeg output, and the output format is png."
            fix = "set output_format='jpeg', or drop output_compression."
            optional.append(Violation("output_compression", "jpeg_only", message, fix, api_rule=False))
    return out + [_null_fix(v) if wire and params.get(v.field, ...) is None else v for v in optional]


# -- files -----------------------------------------------------------------


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1_000_000:.1f} MB"


def check_source_count(count: int) -> list[Violation]:
    """An edit takes 1 to 16 source images."""
    if count < 1:
        return [Violation("image", "required", "an edit needs at least one source image.", "pass one or more images.")]
    if count > MAX_SOURCES:
        return [
            Violation(
                "image[]",
                "max_count",
                f"{count} source images were given; the API takes at most {MAX_SOURCES}.",
                f"pass at most {MAX_SOURCES}, or split the work into several edits.",
            )
        ]
    return []


def check_sources(sources: Sequence[UploadInfo]) -> list[Violation]:
    """Count, format and size of the source images of an edit (after any conversion)."""
    out = check_source_count(len(sources))
    for info in sources:
        if info.format not in SOURCE_FORMATS:
            out.append(
                Violation(
                    info.field,
                    "format",
                    f"{info.format or 'unreadable data'} is not PNG or JPEG.",
                    "send a PNG or JPEG image (the client converts other formats it can read).",
                )
            )
        if too_big := file_size_violation(info.field, info.nbytes):
            out.append(too_big)
    return out


def file_size_violation(field: str, nbytes: int, *, at_least: bool = False) -> Violation | None:
    """The rule that a file (a source, or the ``"mask"``) is under 50 MB; ``at_least``: reading stopped at ``nbytes``."""
    if nbytes < MAX_FILE_BYTES:
        return None
    size, limit = ("at least " if at_least else "") + _mb(nbytes), _mb(MAX_FILE_BYTES)
    if field == "mask":
        fix = "a two-level mask compresses well: save it as a plain RGBA PNG."
        return Violation(field, "file_size", f"the mask is {size}; the API takes masks under {limit}.", fix)
    fix = "downscale the image or send it as JPEG."
    return Violation(field, "file_size", f"the file is {size}; the API takes files under {limit}.", fix)


def check_mask(mask: UploadInfo, primary: UploadInfo | None, *, strict: bool = True) -> list[Violation]:
    """The mask of an edit against its primary (first) source image."""
    out: list[Violation] = []
    if mask.format != "png":
        out.append(
            Violation(
                "mask",
                "format",
                f"the mask is {mask.format or 'unreadable data'}; it must be a PNG with an alpha channel.",
                "send the mask as PNG (Mask.to_png() does this).",
            )
        )
    elif not mask.has_alpha:
        out.append(
            Violation(
                "mask",
                "alpha",
                "the mask PNG has no alpha channel, so it marks nothing to edit.",
                "use an RGBA PNG whose alpha is 0 where the image may change (Mask.to_png() does this).",
            )
        )
    if too_big := file_size_violation("mask", mask.nbytes):
        out.append(too_big)
    if primary is not None:
        if (mask.width, mask.height) != (primary.width, primary.height):
            out.append(
                Violation(
                    "mask",
                    "same_size",
                    f"the mask is {mask.width}x{mask.height} but the first source image is "
                    f"{primary.width}x{primary.height}.",
                    f"make the mask {primary.width}x{primary.height} (Mask.resize() does this).",
                )
            )
        if primary.format != mask.format and mask.format == "png":
            out.append(
                Violation(
                    "image[0]",
                    "same_format",
                    f"the mask is PNG but the first source image is {primary.format}.",
                    "send the first source as PNG too (the client converts it when a mask is given).",
                )
            )
    if strict and mask.has_alpha and mask.format == "png":
        if mask.alpha_min > 0:
            out.append(
                Violation(
                    "mask",
                    "nothing_to_edit",
                    "the mask has no transparent pixel, so the model may change nothing.",
                    "paint the area to edit (alpha 0), or invert the mask if it is the wrong way round.",
                    api_rule=False,
                )
            )
        elif mask.alpha_max == 0:
            out.append(
                Violation(
                    "mask",
                    "keeps_nothing",
                    "the mask is transparent everywhere, which is the same as no mask.",
                    "pass mask=None to edit the whole image, or invert the mask if it is the wrong way round.",
                    api_rule=False,
                )
            )
    return out
