"""What reached the stand-in: each request as the server saw it, for tests to inspect."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from ._faults import Fault


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request, byte-exact."""

    field: str  # "image", "image[]" or "mask" (or whatever a client sent)
    filename: str | None
    content_type: str | None
    data: bytes = dataclasses.field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    """One request: what a client sent, and the status it got back.

    ``host`` is ``"api"`` (the two endpoints and unknown paths), ``"download"`` (the
    presigned-link host) or ``"admin"`` (``/_simulator/...``). ``fields`` holds the
    parsed parameters (JSON body or multipart text fields), ``files`` the uploads.
    ``status`` is None until an answer starts, and stays None for a dropped connection.
    ``fault`` is the failure scripted for this request (queued, or drawn by ``failure_rate``), if any.
    """

    host: str
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # names in lower case
    request_id: str
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    files: list[UploadedFile] = dataclasses.field(default_factory=list)
    status: int | None = None
    time: float = dataclasses.field(default_factory=time.time)  # when the request line arrived
    fault: Fault | None = None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready digest (no file bytes), for the admin endpoint."""
        return {
            "host": self.host,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "request_id": self.request_id,
            "time": self.time,
            "fault": self.fault.spec() if self.fault else None,
            "fields": {k: v for k, v in self.fields.items() if isinstance(v, (str, int, float, bool, type(None)))},
            "files": [
                {"field": f.field, "filename": f.filename, "content_type": f.content_type, "size": f.size}
                for f in self.files
            ],
        }
