"""Request bodies read as the API reads them, free of I/O: parameters, uploaded files, and the files' checks.

A generation is a JSON object; an edit is multipart/form-data whose sources and
mask must be file parts. The uploads are checked with the client's own rules
module (``check_sources``, ``check_mask``) and decoded whole. Whatever the API
would refuse raises :class:`~._errors.Rejection`.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

from PIL import Image

from ..core import (
    EDIT_FILE_FIELDS,
    MEDIA_TYPES,
    UploadInfo,
    Violation,
    check_mask,
    check_sources,
    inspect_upload,
    media_type,
    read_form_fields,
)
from ._errors import Rejection
from ._multipart import MultipartError, parse_multipart
from ._records import UploadedFile


def parse_body(endpoint: str, body: bytes, content_type: str) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The request's parameters and uploaded files; raises Rejection for a body of the wrong kind."""
    if endpoint == "generations":
        return _json_params(body, content_type), []
    return _multipart_params(body, content_type)


def _json_params(body: bytes, content_type: str) -> dict[str, Any]:
    if media_type(content_type) != MEDIA_TYPES["generations"]:  # parameters such as charset aside, exactly this
        raise Rejection(
            "The generations endpoint takes a JSON body (Content-Type: application/json), "
            f"not {content_type or 'no content type'}."
        )
    try:
        params = json.loads(body)
    except ValueError:
        raise Rejection(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
            "library correctly. The OpenAI API expects a JSON payload.)"
        ) from None
    if not isinstance(params, dict):
        raise Rejection("The JSON body must be an object.")
    return params


def _multipart_params(body: bytes, content_type: str) -> tuple[dict[str, Any], list[UploadedFile]]:
    if media_type(content_type) != MEDIA_TYPES["edits"]:
        raise Rejection(
            f"The edits endpoint takes multipart/form-data, not {content_type or 'no content type'}: "
            "the images must be uploaded as files."
        )
    try:
        fields, files = parse_multipart(body, content_type)
    except MultipartError as exc:
        raise Rejection(str(exc)) from None
    for name in EDIT_FILE_FIELDS:
        if name in fields:
            raise Rejection(f"{name!r} must be uploaded as a file (a part with a filename), not as text.", name, "file_required")
    # Form fields arrive as text; the rules want the integer the spec declares ("50" and "50.0" alike).
    return read_form_fields(fields), files


def check_files(files: list[UploadedFile]) -> tuple[list[UploadedFile], UploadedFile | None, list[UploadInfo], list[Violation]]:
    """An edit's sources, its mask, the sources' infos and the rules they break.

    Raises Rejection for a set of files the API refuses before looking at them: an
    unknown field, ``image`` with ``image[]``, more than one ``image`` or mask.
    """
    names = {f.field for f in files}
    unknown = sorted(names - set(EDIT_FILE_FIELDS))
    if unknown:
        raise Rejection(
            f"The edits endpoint does not accept the file field(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(EDIT_FILE_FIELDS)}.",
            unknown[0],
            "unknown_field",
        )
    if "image" in names and "image[]" in names:
        raise Rejection("Send the source as 'image' or the sources as 'image[]', not both.", "image", "conflict")
    if sum(f.field == "image" for f in files) > 1:
        raise Rejection("'image' takes one file; send several sources as 'image[]'.", "image", "max_count")
    masks = [f for f in files if f.field == "mask"]
    if len(masks) > 1:
        raise Rejection("Only one mask may be sent.", "mask", "max_count")
    sources = [f for f in files if f.field in ("image", "image[]")]
    infos = [inspect_upload(f"image[{i}]", f.data) for i, f in enumerate(sources)]
    violations = check_sources(infos)
    mask = masks[0] if masks else None
    if mask is not None:
        violations += check_mask(inspect_upload("mask", mask.data, alpha=True), infos[0] if infos else None, strict=False)
    return sources, mask, infos, violations


def decode_upload(upload: UploadedFile, field: str) -> Image.Image:
    """The whole picture; a file whose header reads but whose data does not is a 400, not a crash."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload.data))
            image.load()
            return image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
    except Exception as exc:  # noqa: BLE001 - any failure to decode is the upload's fault
        raise Rejection(f"{field}: the file could not be decoded ({exc}).", field, "unreadable") from None
