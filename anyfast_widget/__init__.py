"""anyfast-widget: a notebook studio and research engine for the Anyfast image API.

The public surface is gathered here. The folders are the layers, each importing
only the ones below it: ``core`` (the API's rules, errors, images, masks, prepared
requests), ``store`` (the run store), ``client`` (configuration, ``Client``,
``AsyncClient``), ``grid`` (comparison grids), ``studio`` (``ImageStudio``) and
``magics`` (the notebook extension: ``%load_ext anyfast_widget``); ``simulator`` is
the local stand-in server for tests and demos. Modules whose names start with ``_``
are private.

The client's side (``Client``, ``Mask``, the errors, ...) is imported with the
package. The names whose layers bring the widget stack (IPython, ipywidgets,
anywidget, traitlets) are imported on first use (PEP 562's module ``__getattr__``),
so a script or server that only calls the API never pays for it: ``ImageStudio`` and
the grid's names (``compare``, ``Grid``, ...). ``load_ipython_extension``, the hook
``%load_ext anyfast_widget`` calls, is found the same way; it is IPython's protocol,
not this package's API, so ``__all__`` leaves it out and the module never keeps it.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .client import DEFAULT_BASE_URL, AsyncClient, Client, RetryPolicy
from .core import (
    MODEL,
    AnyfastError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConfirmationRequired,
    DownloadError,
    Extension,
    MalformedResponseError,
    Mask,
    MaskChange,
    ModerationBlockedError,
    PermissionDeniedError,
    PreparedRequest,
    RateLimitError,
    ServerError,
    StorageError,
    TokenPrices,
    ValidationError,
    Violation,
    apply_ops,
    edit_size,
    extend_image,
    extension_mask,
    keep_outside,
    mask_change,
    nearest_sizes,
    plan_extension,
    prepare_edit,
    prepare_generation,
)
from .store import ImageResult, RunStore

if TYPE_CHECKING:  # imported on first use, by __getattr__ below
    from .grid import Axis, Grid, Plan, Spec, axis, compare, load_spec, masks, open_grid, prompts, replace, sources
    from .magics import load_ipython_extension as load_ipython_extension  # the as: for type checkers, not in __all__
    from .studio import ImageStudio

_GRID_NAMES = frozenset(
    {"Axis", "Grid", "Plan", "Spec", "axis", "compare", "load_spec", "masks", "open_grid", "prompts", "replace", "sources"}
)
_LAZY_NAMES = _GRID_NAMES | {"ImageStudio", "load_ipython_extension"}

__all__ = [
    "__version__",
    "MODEL",
    "DEFAULT_BASE_URL",
    "ImageStudio",
    "compare",
    "Grid",
    "Plan",
    "Axis",
    "axis",
    "prompts",
    "replace",
    "sources",
    "masks",
    "open_grid",
    "load_spec",
    "Spec",
    "Client",
    "AsyncClient",
    "RetryPolicy",
    "TokenPrices",
    "ImageResult",
    "PreparedRequest",
    "prepare_generation",
    "prepare_edit",
    "Mask",
    "MaskChange",
    "keep_outside",
    "mask_change",
    "apply_ops",
    "Extension",
    "plan_extension",
    "extend_image",
    "extension_mask",
    "edit_size",
    "RunStore",
    "Violation",
    "nearest_sizes",
    "AnyfastError",
    "ValidationError",
    "ConfigurationError",
    "APIError",
    "BadRequestError",
    "ModerationBlockedError",
    "AuthenticationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "APIStatusError",
    "APITimeoutError",
    "APIConnectionError",
    "MalformedResponseError",
    "DownloadError",
    "ConfirmationRequired",
    "StorageError",
]


def __getattr__(name: str) -> Any:
    """The widget-side names, imported the first time one is asked for (then kept in the module like the rest)."""
    if name == "ImageStudio":
        from .studio import ImageStudio as value
    elif name == "load_ipython_extension":  # IPython's hook: handed out, not kept as a public name of the package
        from .magics import load_ipython_extension

        return load_ipython_extension
    elif name in _GRID_NAMES:
        from . import grid

        value = getattr(grid, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Everything the module holds, the names not imported yet included."""
    return sorted(set(globals()) | _LAZY_NAMES)
