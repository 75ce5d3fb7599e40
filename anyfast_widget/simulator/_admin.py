"""The admin endpoints under ``/_simulator/``: knobs, faults and records, driven over HTTP from another process.

For a test, notebook or benchmark that only has the URL:

- ``GET requests``: counts (``count``, ``by_path``, ``downloads``) and a digest of each API request;
- ``GET config`` / ``POST config``: the knobs, read or changed (:meth:`~._simulator.Simulator.configure`),
  e.g. ``{"rate_limit": 50, "max_concurrent": 16}`` (per key; 0 turns a limit off);
- ``GET faults`` / ``POST faults`` ``{"kind", "count", ...options}``: the queued faults, read or added to;
- ``POST reset``: forget requests, queued faults and what each key used of its rate limit.

Each function answers with a status and a JSON body; the API handler sends them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ._errors import error_body

if TYPE_CHECKING:
    from ._simulator import Simulator

ADMIN_PREFIX = "/_simulator/"


def admin_get(sim: Simulator, path: str) -> tuple[int, bytes]:
    """The answer to ``GET path`` (a path under :data:`ADMIN_PREFIX`)."""
    if path == ADMIN_PREFIX + "requests":
        records = sim.api_requests
        by_path: dict[str, int] = {}
        for record in records:
            by_path[record.path] = by_path.get(record.path, 0) + 1
        answer: Any = {
            "count": len(records),
            "by_path": by_path,
            "downloads": len(sim.download_requests),
            "requests": [r.summary() for r in records],
        }
    elif path == ADMIN_PREFIX + "config":
        answer = sim.settings()
    elif path == ADMIN_PREFIX + "faults":
        answer = {"pending": sim.pending_faults()}
    else:
        return 404, error_body(f"Unknown admin path {path}.", "invalid_request_error")
    return 200, json.dumps(answer).encode()


def admin_post(sim: Simulator, path: str, body: bytes) -> tuple[int, bytes]:
    """The answer to ``POST path`` with a JSON object ``body``; a body the simulator refuses is a 400."""
    try:
        payload = json.loads(body or b"{}")
        if not isinstance(payload, dict):
            raise TypeError("the body must be a JSON object")
        if path == ADMIN_PREFIX + "faults":
            options = {k: v for k, v in payload.items() if k not in ("kind", "count")}
            if "kind" not in payload:
                raise ValueError("'kind' is required")
            sim.fail_next(payload["kind"], payload.get("count", 1), **options)
            answer: dict[str, Any] = {"pending": sim.pending_faults()}
        elif path == ADMIN_PREFIX + "config":
            sim.configure(**payload)
            answer = sim.settings()
        elif path == ADMIN_PREFIX + "reset":
            sim.reset()
            answer = {"ok": True}
        else:
            return 404, error_body(f"Unknown admin path {path}.", "invalid_request_error")
    except (ValueError, TypeError) as exc:
        return 400, error_body(str(exc), "invalid_request_error")
    return 200, json.dumps(answer).encode()
