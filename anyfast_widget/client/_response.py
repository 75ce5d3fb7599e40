"""Reading the API's answers: a 200's image, an error status's typed error, ``Retry-After``.

``Client`` and ``AsyncClient`` share these functions, so the two can only differ
in how they wait.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pybase64

from ..core import (
    AnyfastError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    ModerationBlockedError,
    PermissionDeniedError,
    PreparedRequest,
    RateLimitError,
    ServerError,
    whole_image_size,
)
from ._body import ImageBody

# What json.loads raises for a body that is no JSON it can read (RecursionError: nested too deep).
_NOT_JSON = (ValueError, UnicodeDecodeError, RecursionError)


@dataclass
class ParsedResponse:
    """The one image of a 200 answer (its bytes, or a link to them) and everything else the server said."""

    image: bytes | None  # decoded from b64_json
    url: str | None
    revised_prompt: str | None
    extras: dict[str, Any]


def parse_success(body: bytes | ImageBody, prepared: PreparedRequest, request_id: str | None) -> ParsedResponse:
    """Read a 200 body; raises MalformedResponseError if it is not what the API promises.

    An :class:`ImageBody` whose image was decoded while it arrived is used as it is;
    anything else goes through the JSON parser whole.
    """

    def malformed(what: str) -> MalformedResponseError:
        return MalformedResponseError(f"The API answered 200 but {what}.", status=200, request_id=request_id)

    split = body.split() if isinstance(body, ImageBody) else None
    payload: Any = None
    if split is not None:
        try:
            payload = json.loads(split[0])
        except _NOT_JSON:
            payload = None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not (isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("b64_json") == ""):
            payload, split = None, None  # the key we found was not data[0]'s: read it the slow way
    if payload is None:  # only now join the whole body: megabytes the usual path never copies
        raw = body.raw() if isinstance(body, ImageBody) else body
        try:
            payload = json.loads(raw)
        except _NOT_JSON:
            raise malformed(f"the body is not JSON ({_describe_body(raw)})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list) or not payload["data"]:
        raise malformed("the body has no 'data' list with an image")
    item = payload["data"][0]
    if not isinstance(item, dict):
        raise malformed("'data[0]' is not an object")
    b64, url = item.get("b64_json"), item.get("url")
    if not isinstance(b64, str) and not isinstance(url, str):
        raise malformed("'data[0]' has neither 'b64_json' nor 'url'")
    image = None
    if isinstance(b64, str):
        image = split[1] if split is not None else decode_b64(b64, request_id)
    revised = item.get("revised_prompt")
    extras = {k: v for k, v in payload.items() if k != "data"}
    item_extras = {k: v for k, v in item.items() if k not in ("b64_json", "url", "revised_prompt")}
    if item_extras:
        extras["data[0]"] = item_extras
    if len(payload["data"]) > 1:
        extras["ignored_images"] = len(payload["data"]) - 1
    return ParsedResponse(
        image,
        url if isinstance(url, str) and image is None else None,
        revised if isinstance(revised, str) else None,
        extras,
    )


def decode_b64(text: str, request_id: str | None) -> bytes:
    try:
        return pybase64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error is one, and so is a non-ASCII str
        raise MalformedResponseError(
            "The API's b64_json is not valid base64 (truncated or corrupted in transit).", status=200, request_id=request_id
        ) from None


_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff"}


def check_image_bytes(data: bytes, expected_format: str, request_id: str | None) -> tuple[str, tuple[int, int]]:
    """The format (``"png"`` or ``"jpeg"``) and (width, height) of result bytes that are a whole image.

    A whole image in the other format than ``expected_format`` is returned, not refused:
    it was paid for, so the caller keeps it and notes the mismatch. Anything else
    (not an image, or a damaged one) raises MalformedResponseError.
    """
    found = next((fmt for fmt, magic in _MAGIC.items() if data.startswith(magic)), None)
    if found is None:
        raise MalformedResponseError(
            f"Expected a {expected_format.upper()} image but the result is not an image ({_describe_body(data)}).",
            status=200,
            request_id=request_id,
        )
    size = whole_image_size(data)
    if size is None:
        raise MalformedResponseError(
            f"The result is a damaged or truncated {found.upper()} file.", status=200, request_id=request_id
        )
    return found, size


def _describe_body(body: bytes) -> str:
    head = body[:200].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page, probably from a proxy"
    if not body:
        return "empty"
    return f"{len(body)} bytes starting {body[:16]!r}"


def _error_fields(body: bytes) -> tuple[str | None, str | None, str | None, Mapping[str, Any]]:
    """(message, code, type, the error object) from an OpenAI-style error body, if it is one."""
    try:
        payload = json.loads(body)
    except _NOT_JSON:
        return None, None, None, {}
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, str):
        return error, None, None, {}
    if not isinstance(error, dict):
        message = payload.get("message") if isinstance(payload, dict) else None
        return (message if isinstance(message, str) else None), None, None, {}
    message, code, kind = error.get("message"), error.get("code"), error.get("type")
    return (
        message if isinstance(message, str) else None,
        str(code) if code is not None else None,
        kind if isinstance(kind, str) else None,
        error,
    )


_SAFETY_RE = re.compile(r"safety_violations=\[([^\]]*)\]")
_MASK_GROUP_HINT = (
    "Edits with a mask need the account's 'Direct' group selected in the Anyfast console; "
    "select it there, or send the edit without a mask."
)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def error_for_status(
    status: int, headers: Mapping[str, str], body: bytes, prepared: PreparedRequest
) -> AnyfastError:
    """The exception for an error answer, with the server's message, code, request id and a hint."""
    request_id = headers.get("x-request-id")
    message, code, _, error = _error_fields(body)
    shown = message or f"({_describe_body(body)})"
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "server_message": message,
        "request_id": request_id,
        "retry_after": parse_retry_after(headers),
    }
    text = f"{status} from {prepared.path}: {shown}"

    is_moderation = code == "moderation_blocked" or (message and "safety system" in message.lower())
    if status == 400 and is_moderation:
        categories = error.get("categories") if isinstance(error.get("categories"), list) else None
        if categories is None:
            found = _SAFETY_RE.search(message or "")
            categories = [c.strip() for c in found[1].split(",") if c.strip()] if found else []
        hint = ModerationBlockedError.default_hint
        if prepared.endpoint == "edits":
            hint = "The safety system refused this edit. Rephrase the instruction or use other source images."
        return ModerationBlockedError(text, categories=categories, hint=hint, **common)
    mask_refused = (
        prepared.mask_file is not None
        and status in (400, 403)
        and any(word in (message or "").lower() for word in ("mask", "direct", "group"))
    )
    if mask_refused:
        cls = BadRequestError if status == 400 else PermissionDeniedError
        return cls(text, hint=_MASK_GROUP_HINT, **common)
    if status == 400:
        return BadRequestError(text, **common)
    if status == 401:
        return AuthenticationError(text, **common)
    if status == 403:
        return PermissionDeniedError(text, **common)
    if status == 429:
        return RateLimitError(text, **common)
    if status >= 500:
        return ServerError(text, **common)
    return APIStatusError(text, **common)
