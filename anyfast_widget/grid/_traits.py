"""What the browser is told of a grid: its axes, cells, slots, plan, ratings and measures, as the JSON of GridView's traits.

The shapes are the contract of ``js/grid/README.md`` ("Traits"). No picture and no
API key is ever part of them: pictures go by result id, as binary messages. A big
grid is shown a window at a time (at most :data:`WINDOW` rows and columns of
pictures): only the cells in view are described in full; every result is listed
compactly (``results_state``), for the rating and A/B panels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import error_card

if TYPE_CHECKING:
    from ._grid import Grid
    from ._model import Cell, Slot

MEASURES = (
    "page",
    "row",
    "column",
    "repeat",
    "status",
    "latency_s",
    "attempts",
    "change_inside",
    "change_outside",
    "cost",
    "result_id",
)  # the fields of Grid.to_records() the measures table shows


WINDOW = 8  # rows, and columns of pictures, in view at once: the table pages through a bigger grid


def window_shape(grid: Grid) -> list[int]:
    """``[rows, columns]`` of the window in view: at most :data:`WINDOW` rows, and columns of at most WINDOW pictures."""
    _, rows, cols = grid.shape
    return [min(rows, WINDOW), min(cols, max(1, WINDOW // max(1, grid.repeats)))]


def in_view(grid: Grid, page: int, window: list[int]) -> list[int]:
    """The indices (in ``grid.cells``) of the cells in view: page ``page``, the window starting at row, column ``window``."""
    _, rows, cols = grid.shape
    height, width = window_shape(grid)
    first_row, first_col = window
    return [
        (page * rows + row) * cols + col
        for row in range(first_row, min(rows, first_row + height))
        for col in range(first_col, min(cols, first_col + width))
    ]


def results_state(grid: Grid) -> list[list[Any]]:
    """Every result of the grid as ``[result_id, cell index, repeat]``, in the grid's order (small: no labels, no states)."""
    return [
        [slot.result.id, index, slot.repeat]
        for index, cell in enumerate(grid.cells)
        for slot in cell.slots
        if slot.result is not None
    ]


def axes_state(grid: Grid) -> dict[str, Any]:
    """``{"rows", "cols", "pages"}``, each ``{"name", "labels"}`` or None."""
    return {
        role: {"name": axis.name, "labels": list(axis.labels)} if axis else None
        for role, axis in (("rows", grid.rows), ("cols", grid.cols), ("pages", grid.pages))
    }


def cell_state(cell: Cell, index: int, spread: float | None) -> dict[str, Any]:
    """One entry of ``cells``: where the cell is, its labels, request, most telling state, cost, spread and slots."""
    return {
        "index": index,
        "page": cell.page,
        "row": cell.row,
        "col": cell.col,
        "labels": list(cell.labels),
        "prompt": cell.prompt,
        "endpoint": cell.prepared.endpoint,
        "status": cell.status,
        "cost": cell.cost,
        "spread": spread,
        "slots": [slot_state(slot) for slot in cell.slots],
    }


def slot_state(slot: Slot) -> dict[str, Any]:
    """One repeat of a cell: its state, result id and size, timing, revised prompt, and error card."""
    result = slot.result
    return {
        "repeat": slot.repeat,
        "status": slot.status,
        "result_id": result.id if result else None,
        "size": list(result.size) if result else None,
        "latency_s": result.timings.get("total_s") if result else None,
        "revised_prompt": result.revised_prompt if result else None,
        "started_at": _epoch_ms(slot.started),
        "finished_at": _epoch_ms(slot.finished),
        "error": error_card(slot.error) if slot.error is not None else None,
    }


def plan_state(grid: Grid) -> dict[str, Any]:
    """``Grid.plan()``, its sentence (``text``) and the number of slots in each state (``counts``)."""
    counts: dict[str, int] = {}
    for _, slot in grid.slots():
        counts[slot.status] = counts.get(slot.status, 0) + 1
    plan = grid.plan()
    return {**vars(plan), "text": str(plan), "counts": counts}


def measures_state(grid: Grid) -> list[dict[str, Any]]:
    """One row per request for the measures table: its cell's index and the :data:`MEASURES` of its record."""
    repeats = grid.repeats
    return [{"cell": i // repeats, **{key: record[key] for key in MEASURES}} for i, record in enumerate(grid.to_records())]


def ratings_state(grid: Grid) -> list[dict[str, Any]]:
    """The grid's ratings without their times: ``{"a", "b", "winner"}``."""
    return [{"a": r["a"], "b": r["b"], "winner": r["winner"]} for r in grid.ratings]


def _epoch_ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0
