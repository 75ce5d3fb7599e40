"""Where a grid shows its progress: in a Jupyter kernel its widget does; elsewhere a tqdm bar.

:func:`in_kernel` is the one test of "is this a Jupyter kernel"; the grid's display,
``compare()``'s default ``progress`` and the view's background work all ask it.
"""

from __future__ import annotations

from typing import Any

try:
    from IPython import get_ipython
except ImportError:  # pragma: no cover - IPython comes with anywidget

    def get_ipython() -> Any:
        return None


def in_kernel() -> bool:
    """True in a Jupyter kernel (a front end can show widgets), False in scripts and terminal IPython."""
    return getattr(get_ipython(), "kernel", None) is not None


def progress_bar(total: int) -> Any:
    """A terminal progress bar for ``total`` requests (tqdm, loaded only when a bar is shown)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grid", unit="image")
