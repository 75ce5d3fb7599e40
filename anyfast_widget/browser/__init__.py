"""The browser as an untrusted sender: the checks every value it sends passes, and the widget base that applies them."""

from ._checks import MAX_ID_CHARS, Refused, choice, describe, flag, keys, number, result_id, text, whole
from ._widget import BrowserWidget

__all__ = [
    "BrowserWidget",
    "choice",
    "describe",
    "flag",
    "keys",
    "MAX_ID_CHARS",
    "number",
    "Refused",
    "result_id",
    "text",
    "whole",
]
