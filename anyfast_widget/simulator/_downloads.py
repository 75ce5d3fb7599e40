"""The download host's handler: ``GET``/``HEAD`` of a signed link, with the download faults.

It serves what :class:`~._links.LinkStore` holds, from a second origin, as presigned
storage would: S3-style XML errors and an ``x-amz-request-id``; ``download_hang``
stalls then drops, ``download_500`` and ``download_expired`` answer as storage does.
"""

from __future__ import annotations

from ._http import BaseHandler
from ._links import Download, LinkStore


class DownloadHandler(BaseHandler):
    """The presigned-link host: a different origin that never needs (or should see) the API key."""

    host_role = "download"

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        record = self._begin_record()
        fault = self.sim._faults.next_download()
        if fault and fault.kind == "hang":
            self.sim._wait(fault.seconds)
            return self._drop()
        if fault and fault.kind == "500":
            answer = Download(500, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                              b"<Message>We encountered an internal error. Please try again.</Message></Error>",
                              "application/xml")
        elif fault and fault.kind == "expired":
            answer = LinkStore.expired()
        else:
            answer = self.sim._links.get(record.path, record.query)
        self._send(answer.status, answer.body, answer.content_type, {"x-amz-request-id": self.request_id[4:20].upper()})
