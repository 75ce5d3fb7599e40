"""The client layer: configuration, sending prepared requests with retries and caps, saving what comes back.

``Client`` and ``AsyncClient`` are the public faces; ``Settings`` is where the
widgets and the demo resolve the key, the base URL and the run directory, and
``ClientPerLoop`` gives them an ``AsyncClient`` for whichever event loop runs them.
"""

from ._clients import AsyncClient, Client
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_RUN_DIR,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_RUN_DIR,
    NO_KEY_HINT,
    RunDir,
    Secret,
    Settings,
)
from ._per_loop import ClientPerLoop
from ._retry import FailedAttempt, RetryPolicy

__all__ = [
    "AsyncClient",
    "Client",
    "ClientPerLoop",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_RUN_DIR",
    "DEFAULT_TIMEOUT",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_RUN_DIR",
    "FailedAttempt",
    "NO_KEY_HINT",
    "RetryPolicy",
    "RunDir",
    "Secret",
    "Settings",
]
