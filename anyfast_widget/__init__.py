"""anyfast-widget: a notebook studio and research engine for the Anyfast image API.

The public surface is gathered here; modules whose names start with ``_`` are
private. ``Client``/``AsyncClient`` call the API, ``Mask`` says where an edit may
change the image, ``RunStore`` holds every result on disk, and
``anyfast_widget.simulator`` is a local stand-in server for tests and demos.
"""

from ._axes import Axis, axis, masks, prompts, replace, sources
from ._client import DEFAULT_BASE_URL, AsyncClient, Client, RetryPolicy, __version__
from ._composite import MaskChange, keep_outside, mask_change
from ._errors import (
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
    ModerationBlockedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ._grid import Grid, Plan, compare
from ._mask import Mask
from ._result import ImageResult
from ._rules import MODEL, Violation, nearest_sizes
from ._store import RunStore
from ._studio import ImageStudio

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
]
