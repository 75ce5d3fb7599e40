"""The optional ``[research]`` extra (pandas, datasets): imported only when an export to them is asked for.

``import anyfast_widget`` and ``compare()`` never load either; without the extra, the export
that needs it raises an ImportError that says what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL = "pip install 'anyfast-widget[research]'"


def require(module: str, purpose: str) -> ModuleType:
    """``module`` imported, or an ImportError saying that ``purpose`` needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"{purpose} needs {module}, which is not installed here: {INSTALL}") from error
