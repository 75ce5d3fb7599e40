"""What the grid's widget takes from the browser: the limits, in one place, and the checks every message and ``page`` pass first.

A buggy or compromised frontend, or a notebook whose saved widget state was edited,
can send anything. Every message is checked here before the view acts on it: its
type and fields (no field the contract does not know), indices within the grid
(Python's negative indexing never picks a cell), enums, sizes and result ids. A
check raises :class:`Refused` naming the field and the rule; the view then changes
nothing and shows one notice. The limits are far beyond what the grid's own
frontend sends (``js/grid/README.md`` lists them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..browser import Refused, choice, describe, result_id, whole
from ._thumbs import THUMB_EDGES

_ID_FIX = "send the id of a result of this grid."

MAX_IDS_PER_MESSAGE = 256  # result ids in one thumbs message (the frontend asks 48 at a time)
MAX_THUMB_EDGE = THUMB_EDGES[-1]  # px: the largest thumbnail edge (an edge asked for is rounded up to a kept one)
EXPORT_KINDS = {"png": "contact sheet", "html": "HTML report", "json": "JSON", "csv": "CSV"}
WINNERS = ("a", "b", "tie")
# Each message's fields besides "type" (js/grid/README.md); a message with any other field is refused.
MESSAGES: dict[str, frozenset[str]] = {
    "thumbs": frozenset({"ids", "edge"}),
    "difference": frozenset({"a", "b"}),
    "retry": frozenset({"index", "repeat"}),
    "run": frozenset({"confirm"}),
    "cancel": frozenset(),
    "rate": frozenset({"a", "b", "winner"}),
    "export": frozenset({"kind"}),
    "dismiss": frozenset(),
}
BROWSER_TRAITS = frozenset({"page", "window"})  # the only traits the browser writes


def check_page(value: object, pages: int) -> int:
    """The page the browser shows: one of the grid's pages."""
    return whole(value, "page", 0, max(pages - 1, 0))


def check_window(value: object, rows: int, cols: int) -> list[int]:
    """Where the window in view starts: ``[row, column]``, a row and a column of the grid."""
    if not isinstance(value, list) or len(value) != 2:
        raise Refused("window", "type", f"is [row, column], not {describe(value)}.", "send two whole numbers.")
    return [whole(value[0], "window[0]", 0, max(rows - 1, 0)), whole(value[1], "window[1]", 0, max(cols - 1, 0))]


def check_state(state: object, synced: Iterable[str], shape: Sequence[int]) -> None:
    """An update of synced traits from the browser: only ``page`` and ``window``, within ``shape`` (pages, rows, columns)."""
    if not isinstance(state, dict):
        raise Refused("state", "type", f"an update is a JSON object, not {describe(state)}.", "send {trait: value}.")
    synced = frozenset(synced)
    pages, rows, cols = shape
    for name, value in state.items():
        if name == "page":
            check_page(value, pages)
        elif name == "window":
            check_window(value, rows, cols)
        elif name in synced:  # the grid's other traits, and the widget machinery's (_esm, layout, ...)
            fix = "leave it to Python: it is shown, not edited."
            raise Refused(name if len(name) <= 40 else describe(name), "read_only", "is written by Python only.", fix)


def check_message(content: object, buffers: Sequence[Any], *, cells: int, repeats: int) -> dict[str, Any]:
    """A message from the browser, checked against a grid of ``cells`` cells of ``repeats`` requests; its checked fields.

    Whether a result id is one of the grid's is for the caller to find out.
    """
    if not isinstance(content, dict):
        raise Refused("message", "type", f"is a JSON object, not {describe(content)}.", "send {\"type\": ...}.")
    kind = choice(content.get("type"), "type", tuple(MESSAGES))
    extra = [k for k in content if k != "type" and k not in MESSAGES[kind]]
    if extra:
        fix = f"use only {sorted(MESSAGES[kind] | {'type'})}."
        raise Refused(kind, "unknown_key", f"has a field the contract does not know ({describe(extra[0])}).", fix)
    if buffers:
        raise Refused(kind, "buffers", f"carries {len(buffers)} binary buffer(s); no message to the grid takes any.", "")
    out: dict[str, Any] = {"type": kind}
    if kind == "thumbs":
        ids = content.get("ids")
        if not isinstance(ids, list):
            raise Refused("thumbs.ids", "type", f"is a list of result ids, not {describe(ids)}.", "send a list.")
        if len(ids) > MAX_IDS_PER_MESSAGE:
            fix = f"ask for at most {MAX_IDS_PER_MESSAGE} at a time."
            raise Refused("thumbs.ids", "max_count", f"holds {len(ids):,} ids, more than {MAX_IDS_PER_MESSAGE}.", fix)
        out["ids"] = [result_id(v, f"thumbs.ids[{i}]", _ID_FIX) for i, v in enumerate(ids)]
        out["edge"] = whole(content.get("edge", 256), "thumbs.edge", 1, MAX_THUMB_EDGE)
    elif kind in ("difference", "rate"):
        out["a"], out["b"] = result_id(content.get("a"), f"{kind}.a", _ID_FIX), result_id(content.get("b"), f"{kind}.b", _ID_FIX)
        if kind == "rate":
            out["winner"] = choice(content.get("winner"), "rate.winner", WINNERS)
    elif kind == "retry":
        if cells == 0:
            raise Refused("retry.index", "range", "the grid has no cells.", "")
        out["index"] = whole(content.get("index"), "retry.index", 0, cells - 1)
        repeat = content.get("repeat")
        out["repeat"] = None if repeat is None else whole(repeat, "retry.repeat", 0, max(repeats - 1, 0))
    elif kind == "run":
        confirm = content.get("confirm", False)
        if type(confirm) is not bool:
            raise Refused("run.confirm", "type", f"is true or false, not {describe(confirm)}.", "send true or false.")
        out["confirm"] = confirm
    elif kind == "export":
        out["kind"] = choice(content.get("kind"), "export.kind", tuple(EXPORT_KINDS))
    return out
