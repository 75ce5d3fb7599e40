"""A grid as one typed table for research tools: a column per field of its records, the labels named by their axes.

The rows are :func:`~anyfast_widget.grid._export.records` (one per request), so there is one
way to make a record. The table names the label columns after their axes (``fox replaced by``;
an axis over a field that has its own column, such as ``quality``, or named like an image column
of the dataset, ``mask`` or ``sources``, gets its role added: ``quality (row)``, ``mask (column)``)
and says each column's kind, which :meth:`Grid.to_pandas` and :meth:`Grid.to_dataset` turn into
their types: ``category`` (labels, state, endpoint), ``float`` (numbers that may be missing: NaN
in pandas, null in Arrow), ``int`` (counts, never missing) and ``string`` (None when missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._export import records
from ._model import SlotState

if TYPE_CHECKING:
    from ._grid import Grid

_ROLES = (("page", "pages"), ("row", "rows"), ("column", "cols"))  # role, and the Grid attribute holding its axis
_FLOATS = ("output_compression", "cost", "latency_s", "attempts", "change_inside", "change_outside")
_INTS = ("repeat", "wins", "losses", "ties")
_IMAGES = ("result", "sources", "mask")  # the image columns of Grid.to_dataset(): no label column takes their names
_DROPPED = {"page", "row", "column", "page_axis", "row_axis", "column_axis"}  # replaced by the named label columns


@dataclass(frozen=True)
class Table:
    """Columns in order (name -> one value per request), each column's kind, and the categories of the categorical ones."""

    columns: dict[str, list[Any]]
    kinds: dict[str, str]  # "category", "float", "int" or "string"
    categories: dict[str, list[str]]  # in the order the grid shows them
    axes: dict[str, str | None]  # role (page, row, column) -> the name of its label column, None without that axis


def table(grid: Grid) -> Table:
    """The grid's records as typed columns, label columns first (page, row, column), named after their axes."""
    rows = records(grid)  # never empty: a grid has at least one cell, and a cell at least one repeat
    fields = [name for name in rows[0] if name not in _DROPPED]
    columns: dict[str, list[Any]] = {}
    kinds: dict[str, str] = {}
    categories: dict[str, list[str]] = {}
    axes: dict[str, str | None] = {}
    for role, attribute in _ROLES:
        axis = getattr(grid, attribute)
        if axis is None:
            axes[role] = None
            continue
        taken = axis.name in fields or axis.name in columns or axis.name in _IMAGES
        name = f"{axis.name} ({role})" if taken else axis.name
        axes[role] = name
        columns[name] = [row[role] for row in rows]
        kinds[name] = "category"
        categories[name] = list(dict.fromkeys(axis.labels))  # labels given twice are one category
    for name in fields:
        columns[name] = [row[name] for row in rows]
        kinds[name] = "float" if name in _FLOATS else "int" if name in _INTS else "string"
    for name, values in (("status", [str(state) for state in SlotState]), ("endpoint", ["generations", "edits"])):
        kinds[name] = "category"
        categories[name] = values
    columns["status"] = [str(value) for value in columns["status"]]  # the enum's plain string
    return Table(columns, kinds, categories, axes)

