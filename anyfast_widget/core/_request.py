"""Prepared requests: a call's fields and files, checked against every rule and encoded, ready to send.

Building one does no network I/O, so everything above the client (the run store,
the studio, grids) can hold, hash and record a request before it goes out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import ValidationError
from ._images import EncodedImage, ImageInput, encode_source, inspect_upload
from ._mask import Mask, MaskInput
from ._rules import (
    DEFAULT_SIZE,
    EDITS_PATH,
    GENERATIONS_PATH,
    MODEL,
    Violation,
    check_mask,
    check_params,
    check_source_count,
    check_sources,
    format_size,
    integer_value,
    parse_size,
)

Endpoint = Literal["generations", "edits"]
Size = str | tuple[int, int]

# What the API assumes for a field that is not sent; used so that an omitted
# field and its default make the same request (and the same request hash).
_API_DEFAULTS = {"size": DEFAULT_SIZE, "quality": "medium", "output_format": "png", "moderation": "auto"}
# Fields that change how the image travels, not which image it is.
_TRANSPORT_FIELDS = ("response_format",)
#: The image in the answer itself: no presigned link that can expire before it is fetched.
DEFAULT_RESPONSE_FORMAT = "b64_json"


@dataclass
class PreparedRequest:
    """A request that passed every check, ready to send (and to record)."""

    endpoint: Endpoint
    params: dict[str, Any]  # the JSON or form fields, exactly as sent
    sources: list[EncodedImage] = field(default_factory=list)
    mask: Mask | None = None
    mask_file: EncodedImage | None = None

    @property
    def path(self) -> str:
        return GENERATIONS_PATH if self.endpoint == "generations" else EDITS_PATH

    @property
    def prompt(self) -> str:
        return self.params["prompt"]

    @property
    def output_format(self) -> str:
        return self.params.get("output_format", "png")

    @property
    def response_format(self) -> str:
        return self.params.get("response_format", "url")

    @property
    def effective_params(self) -> dict[str, Any]:
        """The parameters with the API's defaults filled in for those not sent."""
        generation_only = () if self.endpoint == "generations" else ("quality", "moderation")
        defaults = {k: v for k, v in _API_DEFAULTS.items() if k not in generation_only}
        return {**defaults, **self.params}

    @property
    def request_hash(self) -> str:
        """Identifies the image asked for: equal hashes mean the same request (resumable grids use it)."""
        params = {k: v for k, v in self.effective_params.items() if k not in _TRANSPORT_FIELDS}
        key = {
            "endpoint": self.endpoint,
            "params": params,
            "sources": [s.sha256 for s in self.sources],
            "mask": self.mask_file.sha256 if self.mask_file else None,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    def httpx_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client.build_request`` (body only; headers are the client's)."""
        if self.endpoint == "generations":
            return {"json": self.params}
        data = {k: str(v) for k, v in self.params.items()}
        name = "image" if len(self.sources) == 1 else "image[]"
        files: list[tuple[str, tuple[str, bytes, str]]] = [
            (name, (f"source-{i}.{'jpg' if s.format == 'jpeg' else 'png'}", s.data, s.mime_type))
            for i, s in enumerate(self.sources)
        ]
        if self.mask_file is not None:
            files.append(("mask", ("mask.png", self.mask_file.data, "image/png")))
        return {"data": data, "files": files}


def _common_params(
    prompt: object,
    size: object,
    output_format: str | None,
    output_compression: int | None,
    response_format: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"model": MODEL, "prompt": prompt}
    if size is not None:
        parsed = parse_size(size)
        params["size"] = format_size(*parsed) if parsed else size
    if output_format is not None:
        params["output_format"] = output_format
    if output_compression is not None:  # 80.0 is JSON Schema's integer 80: sent as 80, one request, one hash
        number = integer_value(output_compression)
        params["output_compression"] = output_compression if number is None else number
    if response_format is not None:
        params["response_format"] = response_format
    return params


def _raise_if(violations: Sequence[Violation]) -> None:
    if violations:
        raise ValidationError(violations)


def prepare_generation(
    prompt: str,
    *,
    size: Size | None = None,
    quality: str | None = None,
    output_format: str | None = None,
    output_compression: int | None = None,
    moderation: str | None = None,
    response_format: str | None = DEFAULT_RESPONSE_FORMAT,
) -> PreparedRequest:
    """Check a generation against every rule; raises ValidationError naming each broken one."""
    params = _common_params(prompt, size, output_format, output_compression, response_format)
    if quality is not None:
        params["quality"] = quality
    if moderation is not None:
        params["moderation"] = moderation
    _raise_if(check_params("generations", params, wire=True))  # exactly as the API will read it
    return PreparedRequest("generations", params)


def prepare_edit(
    prompt: str,
    images: ImageInput | Sequence[ImageInput],
    *,
    mask: MaskInput | None = None,
    size: Size | None = None,
    output_format: str | None = None,
    output_compression: int | None = None,
    response_format: str | None = DEFAULT_RESPONSE_FORMAT,
) -> PreparedRequest:
    """Convert the sources and mask and check the edit against every rule.

    Raises ValidationError naming each broken rule; nothing about the request is sent.
    """
    params = _common_params(prompt, size, output_format, output_compression, response_format)
    violations = check_params("edits", params, wire=True)
    inputs = _as_source_list(images)
    if count_problems := check_source_count(len(inputs)):  # before converting dozens of images
        raise ValidationError(violations + count_problems)
    mask_obj = Mask.coerce(mask) if mask is not None else None
    sources = [
        encode_source(value, f"image[{i}]", require_png=(i == 0 and mask_obj is not None))
        for i, value in enumerate(inputs)
    ]
    violations += check_sources([s.upload_info(f"image[{i}]") for i, s in enumerate(sources)])
    mask_file = None
    if mask_obj is not None:
        png = mask_obj.to_png()
        mask_file = EncodedImage(png, "png", *mask_obj.size)
        violations += check_mask(inspect_upload("mask", png, alpha=True), sources[0].upload_info("image[0]"))
    _raise_if(violations)
    return PreparedRequest("edits", params, sources, mask_obj, mask_file)


def _as_source_list(images: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    if isinstance(images, (list, tuple)):
        return list(images)
    return [images]  # type: ignore[list-item]
