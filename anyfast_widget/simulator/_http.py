"""The base request handler both hosts share: recording, answering with the right headers, dropping, reading bodies.

It answers in HTTP/1.1 with keep-alive; every response has a Content-Length (or is a
deliberate fault) and an ``x-request-id``, and what http.server itself rejects is
answered in the API's JSON. It reads request bodies by Content-Length or chunked
transfer coding, up to :data:`MAX_BODY_BYTES` (413 past it, 408 for a body that stops
arriving). Connections and their limits are :mod:`._serving`'s. Subclasses (the API,
the download host) add the ``do_*`` methods; the state they read and change lives on
the :class:`~._simulator.Simulator` the server was made for.
"""

from __future__ import annotations

import secrets
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._errors import BodyUnread, error_body
from ._records import RecordedRequest
from ._serving import IO_TIMEOUT

if TYPE_CHECKING:
    from ._serving import Server, _Connection
    from ._simulator import Simulator

#: Largest request body read (413 past it): 16 sources and a mask, each under the API's 50 MB, and 1 MB of form fields.
MAX_BODY_BYTES = 17 * 50_000_000 + 1_000_000


def status_phrase(status: int) -> str:
    """The reason phrase of an HTTP status (``"Bad Gateway"``), or ``"Error"`` for a code it does not know."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class BaseHandler(BaseHTTPRequestHandler):
    """One connection's requests: recording, answering with the right headers, dropping, reading bodies."""

    protocol_version = "HTTP/1.1"
    server_version = "anyfast-simulator"
    sys_version = ""
    host_role = "api"
    server: Server  # type: ignore[assignment]
    wire: _Connection
    record: RecordedRequest | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet by design
        pass

    def version_string(self) -> str:
        return self.server_version

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    def parse_request(self) -> bool:
        # Latency counts from the request's arrival (its headers in), not from when a busy
        # server got round to it: that is what a client experiences.
        self.arrived = self.wire.ready_at
        self.request_id = f"req_{secrets.token_hex(12)}"
        self.record = None
        try:
            return super().parse_request()
        finally:
            if self.wire.head_deadline is not None:
                self.wire.headers_read()

    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return True  # a body refused anyway is not asked for
        return super().handle_expect_100()

    def _begin_record(self, host: str | None = None) -> RecordedRequest:
        parts = urlsplit(self.path)
        self.record = RecordedRequest(
            host or self.host_role,
            self.command,
            parts.path,
            parts.query,
            {k.lower(): v for k, v in self.headers.items()},
            self.request_id,
            time=self.arrived,
        )
        self.sim._record(self.record)
        return self.record

    def _start(
        self, status: int, length: int, content_type: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        """Status line and headers, Content-Length and x-request-id always among them (and ``body``, in the same write)."""
        if self.record is not None:
            self.record.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("x-request-id", getattr(self, "request_id", None) or f"req_{secrets.token_hex(12)}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if body:  # what end_headers() does, the body added: one write
            self._headers_buffer.extend((b"\r\n", body))
            self.flush_headers()
        else:
            self.end_headers()

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        # A small body goes out with the headers, in one write; a big one is not copied to join them.
        # (An HTTP/0.9 answer has no headers: http.server leaves them out, and the body goes alone.)
        joined = self.command != "HEAD" and len(body) <= 65536 and self.request_version != "HTTP/0.9"
        self._start(status, len(body), content_type, headers, body if joined else b"")
        if self.command != "HEAD" and not joined:
            self.wfile.write(body)

    def _drop(self) -> None:
        """End the connection without (the rest of) an answer."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server calls this for what it cannot parse and for methods nobody handles:
        # answer in the API's JSON, and close, since any body was not read.
        self.close_connection = True
        self._send(code, error_body(message or status_phrase(code), "invalid_request_error"))

    def _read_body(self) -> bytes:
        """The request body, by Content-Length or chunked transfer coding; 413 past :data:`MAX_BODY_BYTES`, 408 if it stops."""
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunked()
            length = self.headers.get("Content-Length")
            if length is None:
                return b""
            if not length.strip().isdigit():
                raise BodyUnread("The Content-Length header is not a number.")
            size = int(length)
            if size > MAX_BODY_BYTES:
                raise BodyUnread(_too_large(f"is {size:,} bytes, more"), status=413)
            body = self.rfile.read(size)
        except (TimeoutError, BlockingIOError):  # the kernel's timeout says EAGAIN
            raise BodyUnread(f"The request body stopped arriving: nothing came for {IO_TIMEOUT:g} seconds.", status=408) from None
        if len(body) < size:
            raise ConnectionAbortedError("the client sent less than its Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ConnectionAbortedError("the client hung up inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BodyUnread("The chunked request body is malformed.") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields, ignored
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:  # refused before the chunk is read
                raise BodyUnread(_too_large("is larger"), status=413)
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionAbortedError("the client hung up inside a chunked body")
            chunks.append(chunk)
            self.rfile.readline(1024)  # the CRLF after each chunk


def _too_large(what: str) -> str:
    return (
        f"The request body {what} than this server takes: at most {MAX_BODY_BYTES:,} bytes "
        "(16 source images and a mask, each under 50 MB, and the form fields)."
    )
