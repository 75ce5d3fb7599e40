"""Comparison grids: axes, compare(), the Grid that runs and resumes, its live view, its exports."""

from ._axes import Axis, axis, masks, prompts, replace, sources
from ._compare import compare
from ._grid import Grid
from ._model import Cell, Plan, Slot, SlotState

__all__ = [
    "Axis",
    "axis",
    "Cell",
    "compare",
    "Grid",
    "masks",
    "Plan",
    "prompts",
    "replace",
    "Slot",
    "SlotState",
    "sources",
]
