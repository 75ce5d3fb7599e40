"""A grid as a pandas DataFrame: one row per request, typed columns (see ``_table``); pandas loaded only here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._research import require
from ._table import table

if TYPE_CHECKING:
    import pandas

    from ._grid import Grid


def to_pandas(grid: Grid) -> pandas.DataFrame:
    """The grid's records as a DataFrame: labels and state categorical, numbers float (NaN when missing).

    ``frame.attrs["axes"]`` maps each role (page, row, column) to the name of its label column.
    Raises ImportError naming the ``[research]`` extra when pandas is not installed.
    """
    pd = require("pandas", "Grid.to_pandas()")
    made = table(grid)
    data: dict[str, Any] = {}
    for name, values in made.columns.items():
        kind = made.kinds[name]
        if kind == "category":
            data[name] = pd.Categorical(values, categories=made.categories[name])
        elif kind == "float":
            data[name] = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        elif kind == "int":
            data[name] = np.array(values, dtype=np.int64)
        else:
            data[name] = pd.Series(values, dtype=object)  # None stays None (a missing request id, path, error)
    frame = pd.DataFrame(data)
    frame.attrs["axes"] = dict(made.axes)
    frame.attrs["grid"] = grid.id
    return frame
