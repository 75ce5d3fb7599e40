"""The API's error answers: OpenAI-style JSON bodies, and the exception a handler turns into one.

A :class:`Rejection` raised while the API handler works on a request (a missing key,
a body that does not parse, a rule it breaks) is sent as that request's status and body.
"""

from __future__ import annotations

import json


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    """An OpenAI-style error: ``{"error": {"message", "type", "param", "code"}}``."""
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


class Rejection(Exception):
    """A request the API answers with an error status and an OpenAI-style body."""

    def __init__(
        self,
        message: str,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, kind, param, code)


class BodyUnread(Rejection):
    """A rejection before the body was read: the connection must close, or its bytes would be taken for the next request."""
