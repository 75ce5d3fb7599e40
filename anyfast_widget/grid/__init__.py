"""Comparison grids: axes, compare(), the Grid that runs and resumes, its live view, its exports."""

from ._axes import Axis, axis, masks, prompts, replace, sources
from ._grid import Cell, Grid, Plan, Slot, compare

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
    "sources",
]
