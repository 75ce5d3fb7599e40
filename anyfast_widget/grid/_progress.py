"""Where a grid shows its progress: in a Jupyter kernel its widget does; elsewhere a tqdm bar.

:func:`in_kernel` is the one test of "is this a Jupyter kernel"; the grid's display,
``compare()``'s default ``progress`` and the view's background work all ask it.
IPython is never imported here: a kernel has imported it long before any grid runs,
so where it is not imported yet there is no shell to ask.
"""

from __future__ import annotations

import sys
from typing import Any


def get_ipython() -> Any:
    """The running IPython shell, or None (outside IPython, or where IPython was never imported)."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython as running_shell
    except ImportError:  # pragma: no cover - a broken install: no shell either
        return None
    return running_shell()


def in_kernel() -> bool:
    """True in a Jupyter kernel (a front end can show widgets), False in scripts and terminal IPython."""
    return getattr(get_ipython(), "kernel", None) is not None


def progress_bar(total: int) -> Any:
    """A terminal progress bar for ``total`` requests (tqdm, loaded only when a bar is shown)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grid", unit="image")
