"""Every exception this package raises, in one tree.

Catch :class:`AnyfastError` for all of them, or one leaf. Each error carries what
the server said (``status``, ``code``, ``server_message``, ``request_id``) where
there was a response, and a ``hint`` a person can act on. None of them ever holds
the API key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._rules import Violation


class AnyfastError(Exception):
    """Base class of every error raised by anyfast_widget."""

    status: int | None = None
    default_hint: str = ""

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, server_message: str | None = None,
        request_id: str | None = None, hint: str | None = None, retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.retry_after = retry_after  # seconds the server asked us to wait, if it said
        if status is not None:
            self.status = status
        self.code = code
        self.server_message = server_message
        self.request_id = request_id
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        return " ".join(parts)


class ValidationError(AnyfastError, ValueError):
    """The request breaks a rule of the API (or would waste money); nothing was sent.

    ``violations`` lists every broken rule with its field and fix; ``field`` and
    ``rule`` are those of the first.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        first = self.violations[0]
        self.field = first.field
        self.rule = first.rule
        if len(self.violations) == 1:
            message = f"Invalid {first.field}: {first.message} Fix: {first.fix}"
        else:
            lines = "\n".join(f"  - {v}" for v in self.violations)
            message = f"{len(self.violations)} problems with the request; nothing was sent:\n{lines}"
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class ConfigurationError(AnyfastError):
    """The client is set up so that it must not send anything (no key, plain http, ...)."""


class APIError(AnyfastError):
    """The API answered with an error status. Subclasses name the common ones."""


class BadRequestError(APIError):
    """400: the API rejected the parameters."""

    status = 400
    default_hint = "Check the request's parameters against the API's rules."


class ModerationBlockedError(BadRequestError):
    """The provider's safety system refused the prompt or image (code ``moderation_blocked``).

    Never retried: the same request would be refused, and may be charged, again.
    """

    default_hint = (
        "The safety system refused this request. Rephrase the prompt; on generation, "
        "moderation='low' applies a less strict filter."
    )

    def __init__(self, message: str, *, categories: Sequence[str] = (), **kwargs: object) -> None:
        self.categories = list(categories)
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class AuthenticationError(APIError):
    """401: the API key is missing or invalid."""

    status = 401
    default_hint = (
        "Set a valid key with the ANYFAST_API_KEY environment variable or Client(api_key=...); "
        "keys are managed in the Anyfast console."
    )


class PermissionDeniedError(APIError):
    """403: the key may not do this (for masks: the account's group, see the hint)."""

    status = 403
    default_hint = "The key is valid but not allowed to make this request; check the account in the Anyfast console."


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds, if it said."""

    status = 429
    default_hint = "Too many requests at once: lower the concurrency or wait a moment."


class ServerError(APIError):
    """5xx: the API or a proxy in front of it failed."""

    default_hint = "The service failed on its side; try again in a little while."


class APIStatusError(APIError):
    """Any other unexpected HTTP status."""


class APITimeoutError(AnyfastError):
    """No complete answer within the timeout."""

    default_hint = (
        "High-quality large images can take minutes: raise the read timeout, e.g. Client(timeout=900)."
    )


class APIConnectionError(AnyfastError):
    """The connection could not be made, or dropped before a full answer arrived."""

    default_hint = "Check the network and the base URL (ANYFAST_BASE_URL)."


class MalformedResponseError(AnyfastError):
    """The server answered 200 but not with what the API promises (bad JSON, no image, wrong format)."""

    default_hint = "The server or a proxy sent something unexpected; the raw body is not kept in the message."


class DownloadError(AnyfastError):
    """A result's ``url`` could not be fetched (expired, refused, too large, or never answered)."""

    default_hint = (
        "Presigned links expire quickly; response_format='b64_json' returns the image in the response itself."
    )



class StorageError(AnyfastError):
    """The run directory could not be read or written: read-only, full, unreadable, or damaged.

    ``path`` is the file or folder concerned and ``reason`` says what happened
    (``"read_only"``, ``"disk_full"``, ``"no_permission"``, ``"unreadable"``,
    ``"missing"``, ``"damaged"``, ``"not_a_folder"``, ``"io_error"`` or ``"failed"``);
    the message names the cause and ``hint`` the fix. When a result could not be
    saved, nothing paid for is lost: ``result`` is that result with its bytes still in
    memory and ``data`` the image's bytes; :meth:`save_to` writes them somewhere else.
    """

    default_hint = "Check the run directory (run_dir=...): that it exists, can be written, and has free space."

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        reason: str = "failed",
        result: Any = None,
        data: bytes | None = None,
        hint: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        self.result = result  # an ImageResult (from the store layer) holding the unsaved bytes, or None
        self.data = data
        super().__init__(message, hint=hint, request_id=request_id)

    def save_to(self, path: str | os.PathLike[str]) -> Path:
        """Write the result that could not be saved to ``path`` (a folder, or a file name) and return where it went.

        A ``path`` that is an existing folder, or has no suffix, is a folder (made if
        missing). With a result, its metadata goes beside it as JSON (``ImageResult.save_to``).
        """
        if self.result is not None:
            return Path(self.result.save_to(path))
        if self.data is None:
            raise ValueError("This error holds no unsaved image.")
        target = Path(path).expanduser()
        if target.is_dir() or not target.suffix:
            target.mkdir(parents=True, exist_ok=True)
            target = target / (self.path.name if self.path is not None and self.path.suffix else "unsaved-image")
        target.write_bytes(self.data)
        return target


class ConfirmationRequired(AnyfastError):
    """A grid would send more requests than it may without ``confirm=True``; nothing was sent."""

    default_hint = "Look at grid.plan() (requests and cost), then pass confirm=True to send them."


_CARD_TITLES = {
    "ValidationError": "Not sent: the request breaks a rule",
    "ModerationBlockedError": "Blocked by moderation",
    "RateLimitError": "Rate limited",
    "AuthenticationError": "The API key was refused",
    "ConfirmationRequired": "Confirmation needed",
    "StorageError": "The run directory has a problem",
}


def error_card(error: BaseException) -> dict[str, str]:
    """What a widget shows for an error: a title, the message, and a hint when there is one (never a traceback)."""
    if isinstance(error, AnyfastError):
        title = _CARD_TITLES.get(type(error).__name__, type(error).__name__)
        return {"title": title, "message": error.message, "hint": error.hint or ""}
    return {"title": type(error).__name__, "message": str(error) or repr(error), "hint": ""}
