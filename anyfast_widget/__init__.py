"""anyfast-widget: a notebook studio and research engine for the Anyfast image API.

The public surface is gathered here. The folders are the layers, each importing
only the ones below it: ``core`` (the API's rules, errors, images, masks, prepared
requests), ``store`` (the run store), ``client`` (configuration, ``Client``,
``AsyncClient``), ``grid`` (comparison grids) and ``studio`` (``ImageStudio``);
``simulator`` is the local stand-in server for tests and demos. Modules whose
names start with ``_`` are private.
"""

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
    MalformedResponseError,
    Mask,
    MaskChange,
    ModerationBlockedError,
    PermissionDeniedError,
    PreparedRequest,
    RateLimitError,
    ServerError,
    StorageError,
    ValidationError,
    Violation,
    keep_outside,
    mask_change,
    nearest_sizes,
    prepare_edit,
    prepare_generation,
)
from .grid import Axis, Grid, Plan, axis, compare, masks, prompts, replace, sources
from .store import ImageResult, RunStore
from .studio import ImageStudio

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
    "Client",
    "AsyncClient",
    "RetryPolicy",
    "ImageResult",
    "PreparedRequest",
    "prepare_generation",
    "prepare_edit",
    "Mask",
    "MaskChange",
    "keep_outside",
    "mask_change",
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
