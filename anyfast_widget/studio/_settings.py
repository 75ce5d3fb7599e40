"""The studio's settings: its default parameters, the controls the browser draws for them, and what blocks a run.

Plain functions of the settings (prompt, ``params``, ``variants``, the sources as
they will be sent); the widget calls them whenever one of those changes and shows
what they return. The rules themselves are the core's (``check_params`` and the rest).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..core import (
    DEFAULT_SIZE,
    EDIT_FIELDS,
    GENERATION_FIELDS,
    MODERATIONS,
    OUTPUT_FORMATS,
    QUALITIES,
    RESPONSE_FORMATS,
    EncodedImage,
    Violation,
    check_params,
    check_sources,
    edit_size,
    format_size,
    is_valid_size,
    parse_size,
)

MAX_VARIANTS = 8
DEFAULT_PARAMS: dict[str, Any] = {
    "size": None,  # auto: the API's default for a generation, the primary's own shape for an edit (auto_size)
    "quality": "medium",
    "output_format": "png",
    "output_compression": None,
    "moderation": "auto",
    "response_format": "b64_json",
}
SIZE_PRESETS = tuple(
    s
    for s in ("1024x1024", "1536x1024", "1024x1536", "2048x2048", "2048x1152", "1152x2048", "3840x2160", "2160x3840")
    if is_valid_size(*parse_size(s))  # type: ignore[misc]
)
_LABELS = {
    "size": ("Size", "Width x height in pixels; edges multiples of 16, at most 3:1, up to 3840."),
    "quality": ("Quality", "Higher quality takes longer and costs more."),
    "output_format": ("Format", "PNG is lossless; JPEG is smaller."),
    "output_compression": ("JPEG compression", "0 is the smallest file, 100 the best quality."),
    "moderation": ("Moderation", "'low' is less strict about what it blocks."),
    "response_format": ("Delivery", "b64_json returns the image in the response; url returns a link, downloaded at once."),
}
_OPTIONS = {"quality": QUALITIES, "output_format": OUTPUT_FORMATS, "moderation": MODERATIONS, "response_format": RESPONSE_FORMATS}
NO_KEY = "No API key: runs cannot be sent to the Anyfast API."
NO_KEY_HINT = (
    "Set ANYFAST_API_KEY (or pass api_key=) and run the cell again; or try it offline: the \"Try offline\" button, or "
    "ImageStudio(offline=True), uses the built-in stand-in (synthetic images, nothing paid)."
)
_NO_KEY = f"{NO_KEY} {NO_KEY_HINT}"


@dataclasses.dataclass(frozen=True)
class Judged:
    """The settings as the browser is shown them: the values of the traits of the same names."""

    endpoint: str
    controls: list[dict[str, Any]]
    violations: list[dict[str, Any]]
    run_blocked: str


def endpoint_for(sources: Sequence[EncodedImage]) -> str:
    """``"edits"`` with source images, ``"generations"`` without."""
    return "edits" if sources else "generations"


def tidy_params(params: dict[str, Any]) -> dict[str, Any]:
    """A readable size typed by hand ("1536 × 1024") is written as the API spells it; the rest is judged as is."""
    params = dict(params)
    size = params.get("size")
    parsed = parse_size(size) if isinstance(size, str) else None
    if parsed is not None:
        params["size"] = format_size(*parsed)
    return params


def auto_size(sources: Sequence[EncodedImage]) -> str | None:
    """The size asked for when none is chosen: an edit's primary's own size if valid, else the nearest of its aspect.

    None for a generation, which leaves the size to the API (its default, DEFAULT_SIZE).
    """
    return format_size(*edit_size(*sources[0].size)) if sources else None


def wire_params(prompt: str, params: dict[str, Any], endpoint: str, auto: str | None = None) -> dict[str, Any]:
    """The request's fields as they would be sent to ``endpoint`` (prompt included); ``auto`` is the size when none is set."""
    accepted = EDIT_FIELDS if endpoint == "edits" else GENERATION_FIELDS
    out: dict[str, Any] = {"prompt": prompt}
    if auto is not None and params.get("size") in (None, "") and "size" in accepted:
        out["size"] = auto
    for name, value in params.items():
        if name not in accepted or value is None or value == "":
            continue
        if name == "output_compression" and params.get("output_format") != "jpeg":
            continue  # its control is hidden for PNG, so a stale value is not "set"
        out[name] = value
    return out


def variants_violations(variants: int) -> list[Violation]:
    """What is wrong with asking for ``variants`` requests at once (nothing, from 1 to MAX_VARIANTS)."""
    if 1 <= variants <= MAX_VARIANTS:
        return []
    fix = f"ask for 1 to {MAX_VARIANTS} (each is one request)."
    return [Violation("variants", "range", f"{variants} variants were asked for.", fix)]


def controls(endpoint: str, params: dict[str, Any], sources: Sequence[EncodedImage]) -> list[dict[str, Any]]:
    """The parameter controls ``endpoint`` accepts, in order, as the browser draws them."""
    accepted = GENERATION_FIELDS if endpoint == "generations" else EDIT_FIELDS
    out: list[dict[str, Any]] = []
    for name in DEFAULT_PARAMS:
        if name not in accepted:
            continue
        if name == "output_compression" and params.get("output_format") != "jpeg":
            continue
        label, help_text = _LABELS[name]
        control: dict[str, Any] = {"name": name, "label": label, "help": help_text, "default": DEFAULT_PARAMS[name]}
        if name == "size":
            options = list(SIZE_PRESETS)
            control.update(kind="size", options=options, auto=auto_size(sources) or DEFAULT_SIZE)
        elif name == "output_compression":
            control.update(kind="int", min=0, max=100, default=100)
        else:
            control.update(kind="select", options=list(_OPTIONS[name]))
        out.append(control)
    return out


def judge(
    prompt: str,
    params: dict[str, Any],
    variants: int,
    sources: Sequence[EncodedImage],
    mask_problems: Sequence[Violation],
    *,
    has_key: bool,
    running: bool,
    spend_problems: Sequence[Violation] = (),
) -> Judged:
    """Every rule the settings break, and the one reason (if any) the run button is disabled.

    ``spend_problems`` are the session budget's (``_spend``): a run that would cost more than is left.
    """
    endpoint = endpoint_for(sources)
    violations = check_params(endpoint, wire_params(prompt, params, endpoint, auto_size(sources)))
    violations += variants_violations(variants)
    if sources:
        violations += check_sources([s.upload_info(f"image[{i}]") for i, s in enumerate(sources)])
        violations += mask_problems
    violations += spend_problems
    if not has_key:
        blocked = _NO_KEY
    elif running:
        blocked = "A run is in progress."
    elif violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        blocked = f"{first.field}: {first.message}{more}"
    else:
        blocked = ""
    # An empty prompt nobody has typed in yet is not an error to show; the run button still says why it waits.
    shown = [v for v in violations if not (v.field == "prompt" and v.rule == "required")]
    return Judged(
        endpoint=endpoint,
        controls=controls(endpoint, params, sources),
        violations=[{"field": v.field, "rule": v.rule, "message": v.message, "fix": v.fix} for v in shown],
        run_blocked=blocked,
    )
