"""The browser as an untrusted sender (the checks every value it sends passes, and the widget base that applies them),
and what a notebook shows of a widget without it (its static copy and the copy's thumbnails)."""

from ._checks import MAX_ID_CHARS, Refused, choice, describe, flag, keys, number, result_id, text, whole
from ._static_copy import GRID_REFRESH_S, StaticCopy, display_with_copy, separate
from ._thumbnails import made, make_ahead, thumbnail
from ._widget import BrowserWidget

__all__ = [
    "GRID_REFRESH_S",
    "BrowserWidget",
    "choice",
    "describe",
    "display_with_copy",
    "flag",
    "keys",
    "made",
    "make_ahead",
    "MAX_ID_CHARS",
    "number",
    "Refused",
    "result_id",
    "separate",
    "StaticCopy",
    "text",
    "thumbnail",
    "whole",
]
