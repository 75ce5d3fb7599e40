"""Axes of a comparison grid: which request field changes along rows, columns or pages, and how.

An axis is a name and, for each of its steps, a label and the changes that step
makes to the request. Any request field can vary (``prompt``, ``size``,
``quality``, ``output_format``, ``output_compression``, ``moderation``,
``response_format``, ``sources``, ``mask``); :func:`replace` swaps one word of
the prompt instead of the whole prompt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import REQUEST_PARAMS, ValidationError, Violation

FIELDS = ("prompt", *REQUEST_PARAMS, "sources", "mask")
_LABEL_MAX = 48


@dataclass(frozen=True)
class Axis:
    """One dimension of a grid: ``name``, and per step a label and the request changes it makes."""

    name: str
    labels: tuple[str, ...]
    steps: tuple[Mapping[str, Any], ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise _invalid(self.name, "empty", "an axis needs at least one value.", "give it a non-empty list.")
        if len(self.labels) != len(self.steps):
            raise _invalid(
                self.name, "labels", f"{len(self.labels)} labels for {len(self.steps)} values.", "give one label per value."
            )

    def __len__(self) -> int:
        return len(self.steps)


def _invalid(field: str, rule: str, message: str, fix: str) -> ValidationError:
    return ValidationError([Violation(field, rule, message, fix)])


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value) if value is None else str(value)
    return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 1] + "…"


def _labels(values: Sequence[Any], labels: Sequence[str] | None, default: Sequence[str]) -> tuple[str, ...]:
    if labels is None:
        return tuple(default)
    return tuple(str(label) for label in labels)


def axis(field: str, values: Sequence[Any], *, labels: Sequence[str] | None = None) -> Axis:
    """Vary one request field over ``values`` (``axis("quality", ["low", "high"])``)."""
    if field == "sources":
        return sources(values, labels=labels)
    if field == "mask":
        return masks(values, labels=labels)
    if field not in FIELDS:
        raise _invalid(
            field, "unknown_field", f"{field!r} is not a request field a grid can vary.", f"use one of {', '.join(FIELDS)}."
        )
    values = list(values)
    return Axis(field, _labels(values, labels, [_short(v) for v in values]), tuple({field: v} for v in values))


def prompts(values: Sequence[str], *, labels: Sequence[str] | None = None) -> Axis:
    """A list of whole prompts."""
    return axis("prompt", values, labels=labels)


def replace(word: str, values: Sequence[str], *, labels: Sequence[str] | None = None) -> Axis:
    """Swap ``word`` in the prompt for each of ``values`` (one prompt, one word changed per step)."""
    if not word:
        raise _invalid("prompt", "replace", "the word to replace is empty.", "give the word of the prompt to swap.")
    values = list(values)
    return Axis(
        f"{word} replaced by", _labels(values, labels, [_short(v) for v in values]), tuple({"replace": (word, v)} for v in values)
    )


def sources(sets: Sequence[Any], *, labels: Sequence[str] | None = None) -> Axis:
    """Source image sets: each step is one image or a list of images (an edit's ``image[]``)."""
    steps = tuple({"sources": list(s) if isinstance(s, (list, tuple)) else [s]} for s in sets)
    return Axis("sources", _labels(sets, labels, [f"set {i + 1}" for i in range(len(steps))]), steps)


def masks(values: Sequence[Any], *, labels: Sequence[str] | None = None) -> Axis:
    """Masks for an edit (``None`` for no mask)."""
    default = ["no mask" if v is None else f"mask {i + 1}" for i, v in enumerate(values)]
    return Axis("mask", _labels(values, labels, default), tuple({"mask": v} for v in values))


def as_axis(value: Axis | Mapping[str, Sequence[Any]] | None, role: str) -> Axis | None:
    """``rows=``/``cols=``/``pages=`` as given: an Axis, ``{"field": [values]}``, or None."""
    if value is None or isinstance(value, Axis):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((field, values),) = value.items()
        return axis(field, values)
    raise _invalid(
        role,
        "axis",
        f"{role}= takes an Axis or a one-entry dict such as {{'quality': ['low', 'high']}}, not {type(value).__name__}.",
        "use axis(field, values), prompts([...]), replace(word, [...]), sources([...]) or masks([...]).",
    )
