"""Checks for what a browser sends: each value bounded, typed and named before any work is done with it.

A buggy or compromised frontend, or a notebook whose saved widget state was edited,
can send anything. Each check raises :class:`Refused` naming the field and the rule
(and the fix), and describes the value it refused cheaply: never the repr of a huge
list or text. The widgets' own limits (``studio/_limits.py``, ``grid/_limits.py``)
are built from these.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Sequence
from typing import Any

import traitlets as t

MAX_ID_CHARS = 64  # a result id ("20250101T120000-1a2b3c4d" has 24)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*\Z")


class Refused(t.TraitError):
    """A value or message from the browser breaks a rule: ``field``, ``rule``, what is wrong and the fix.

    A TraitError, so that a traitlets ``@validate`` raising it keeps the old value.
    """

    def __init__(self, field: str, rule: str, message: str, fix: str) -> None:
        self.field, self.rule, self.problem, self.fix = field, rule, message, fix
        super().__init__(f"{field}: {message} [{rule}] {fix}")

    def notice(self, what: str) -> dict[str, str]:
        """The widget's one notice for it (``what``: "value" or "message")."""
        return {
            "kind": "error",
            "title": f"A {what} from the browser was refused",
            "message": f"{self.field}: {self.problem} (rule: {self.rule}; nothing was changed)",
            "hint": self.fix,
        }


def describe(value: object) -> str:
    """A short, cheap description of any value for a message: never the repr of a huge list or text."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Real):
        return repr(value) if not isinstance(value, numbers.Integral) or abs(value) < 10**30 else "a huge number"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"a text of {len(value):,} characters"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value):,} items"
    if isinstance(value, dict):
        return f"an object of {len(value):,} keys"
    return f"a {type(value).__name__}"


def keys(value: object, field: str, allowed: Iterable[str]) -> dict[str, Any]:
    """``value`` as an object whose keys are all among ``allowed``."""
    if not isinstance(value, dict):
        raise Refused(field, "type", f"is a JSON object, not {describe(value)}.", "send an object {...}.")
    allowed = frozenset(allowed)
    extra = [k for k in value if k not in allowed]
    if extra:
        names = ", ".join(sorted(describe(k) for k in extra[:5]))
        raise Refused(field, "unknown_key", f"has a key the contract does not know ({names}).", f"use only {sorted(allowed)}.")
    return value


def whole(value: object, field: str, lo: int, hi: int) -> int:
    """``value`` as a whole number within [lo, hi] (bool is not a number here, nor is 2.0)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise Refused(field, "type", f"is a whole number, not {describe(value)}.", f"send a whole number from {lo} to {hi}.")
    if not lo <= value <= hi:
        raise Refused(field, "range", f"{describe(value)} is outside {lo}..{hi}.", f"send a whole number from {lo} to {hi}.")
    return int(value)


def number(value: object, field: str, lo: float, hi: float, *, low_open: bool = False) -> float:
    """``value`` as a finite number within [lo, hi] (or (lo, hi] with ``low_open``)."""
    span = f"above {lo:g} and at most {hi:g}" if low_open else f"from {lo:g} to {hi:g}"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise Refused(field, "type", f"is a number, not {describe(value)}.", f"send a number {span}.")
    if not (lo < value <= hi if low_open else lo <= value <= hi):  # NaN compares False, so it is refused here
        raise Refused(field, "range", f"{describe(value)} is not a finite number {span}.", f"send a number {span}.")
    return float(value)


def flag(value: object, field: str) -> bool:
    """``value`` as true or false (not 0, 1 or "false")."""
    if type(value) is not bool:
        raise Refused(field, "type", f"is true or false, not {describe(value)}.", "send true or false.")
    return value


def choice(value: object, field: str, options: Sequence[str]) -> str:
    """``value`` as one of ``options``."""
    if not isinstance(value, str) or value not in options:
        problem = f"is one of {', '.join(map(repr, options))}, not {describe(value)}."
        raise Refused(field, "enum", problem, f"send one of {list(options)}.")
    return value


def text(value: object, field: str, most: int) -> str:
    """``value`` as text of at most ``most`` characters."""
    if not isinstance(value, str):
        raise Refused(field, "type", f"is text, not {describe(value)}.", "send a string.")
    if len(value) > most:
        problem = f"has {len(value):,} characters, more than {most:,}."
        raise Refused(field, "max_length", problem, f"send at most {most:,} characters.")
    return value


def result_id(value: object, field: str, fix: str) -> str:
    """A result id: short text of letters, digits and ``._:-`` (whether it names a result is the caller's to say)."""
    value = text(value, field, MAX_ID_CHARS)
    if not _ID.match(value):
        raise Refused(field, "format", f"{describe(value)} is not a result id.", fix)
    return value
