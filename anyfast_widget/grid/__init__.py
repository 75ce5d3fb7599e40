"""Comparison grids: axes, compare(), the Grid that runs and resumes, its live view, its exports, its specs and headless runs."""

from ._axes import Axis, axis, masks, prompts, replace, sources
from ._compare import compare
from ._follow import open_grid
from ._grid import Grid
from ._headless import main
from ._model import Cell, Plan, Slot, SlotState
from ._pacing import Pacing
from ._spec import Spec, load_spec

__all__ = [
    "Axis",
    "axis",
    "Cell",
    "compare",
    "Grid",
    "load_spec",
    "main",
    "masks",
    "open_grid",
    "Pacing",
    "Plan",
    "prompts",
    "replace",
    "Slot",
    "SlotState",
    "sources",
    "Spec",
]
