"""HTTP handling: the API's two endpoints, the admin endpoints, and the download host.

Validation uses the client's own rules module (only the API's own rules,
``strict=False``, read as a request on the wire, ``wire=True``: ``model`` required,
sizes exactly ``WxH``, a JSON ``null`` the same as an absent field); answers are
OpenAI-style JSON; every response has a Content-Length (or is a deliberate fault)
and an ``x-request-id``. The state all
of this reads and changes lives on :class:`~._simulator.Simulator`.
"""

from __future__ import annotations

import base64
import io
import json
import queue
import re
import secrets
import selectors
import socket
import sys
import threading
import time
import traceback
import warnings
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from ..core import (
    DEFAULT_SIZE,
    EDIT_FILE_FIELDS,
    EDITS_PATH,
    GENERATIONS_PATH,
    UploadInfo,
    Violation,
    check_mask,
    check_params,
    check_sources,
    inspect_upload,
    parse_size,
    wire_fields,
)
from . import _render
from ._faults import ANSWER_FAULTS, Fault
from ._links import Download, LinkStore
from ._multipart import MultipartError, parse_multipart
from ._records import RecordedRequest, UploadedFile

if TYPE_CHECKING:
    from ._simulator import Simulator

#: Largest request body read: 16 sources and a mask at the API's file limit, plus slack.
MAX_BODY_BYTES = 17 * 50_000_000 + 1_000_000
ADMIN_PREFIX = "/_simulator/"
# Pictures made at once. Two keep both cores busy; more only starve the threads that
# read requests of the GIL, so 16 requests sent together would "arrive" up to 0.2 s
# apart and their latency would start late: the stand-in's own CPU, not the API's.
_PAINTERS = threading.BoundedSemaphore(2)


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    """An OpenAI-style error: ``{"error": {"message", "type", "param", "code"}}``."""
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


class _Rejection(Exception):
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


class _BodyUnread(_Rejection):
    """A rejection before the body was read: the connection must close, or its bytes would be taken for the next request."""


# -- the server ----------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """A threading HTTP server whose handler threads are started ahead of need.

    Starting a thread waits for it to get the GIL; while other threads draw pictures
    that wait made the accept loop fall behind a burst of new connections. Here the
    loop only queues the connection; a waiting worker takes it, and a new worker is
    started only when none is idle (so keep-alive connections never starve others).
    Open connections are tracked so that ``server_close`` ends them too.
    """

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: type[_Handler], sim: Simulator, workers: int) -> None:
        self.sim = sim
        # serve_forever() polls for shutdown; this loop sleeps until a connection or wake() instead,
        # so stop() is immediate (tests start and stop hundreds of these) and an idle server costs nothing.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopped = False
        self._connections: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._idle = 0
        self._workers: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._pool_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        try:
            super().__init__(address, handler)
        except BaseException:
            self._wake_reader.close()
            self._wake_writer.close()
            raise
        for _ in range(workers):
            self._add_worker()

    def serve(self) -> None:
        """Accept connections until :meth:`wake` is called."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopped:
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._stopped:
                        self._handle_request_noblock()  # type: ignore[attr-defined]  # socketserver's own step

    def wake(self) -> None:
        """Make :meth:`serve` return."""
        self._stopped = True
        try:
            self._wake_writer.send(b"\0")
        except OSError:
            pass

    def _add_worker(self) -> None:
        with self._pool_lock:
            self._idle += 1
            worker = threading.Thread(target=self._work, name="anyfast-sim-worker", daemon=True)
            self._workers.append(worker)
        worker.start()

    def _work(self) -> None:
        while (item := self._connections.get()) is not None:
            with self._pool_lock:
                self._idle -= 1
            try:
                self.process_request_thread(*item)
            finally:
                with self._pool_lock:
                    self._idle += 1
                    self._open.discard(item[0])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pool_lock:
            self._open.add(request)
            starved = self._idle <= self._connections.qsize()
        self._connections.put((request, client_address))
        if starved:
            self._add_worker()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timeout, a dropped-connection test, a stop()) is normal here, not news.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()
        with self._pool_lock:
            open_now, workers = list(self._open), list(self._workers)
        for connection in open_now:  # idle keep-alive connections would otherwise hold their workers forever
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for _ in workers:
            self._connections.put(None)


def make_server(host: str, port: int, handler: type[_Handler], sim: Simulator, workers: int) -> _Server:
    return _Server((host, port), handler, sim, workers)


# -- shared handler machinery ------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server_version = "anyfast-simulator"
    sys_version = ""
    host_role = "api"
    server: _Server
    record: RecordedRequest | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet by design
        pass

    def version_string(self) -> str:
        return self.server_version

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    def parse_request(self) -> bool:
        # Latency counts from here, when the request line arrived, not from when a busy
        # server got round to looking at the rest: that is what a client experiences.
        self.arrived = time.time()
        self.request_id = f"req_{secrets.token_hex(12)}"
        self.record = None
        return super().parse_request()

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

    def _start(self, status: int, length: int, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Status line and headers, Content-Length and x-request-id always among them."""
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
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        self._start(status, len(body), content_type, headers)
        if self.command != "HEAD":
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
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self._send(code, error_body(message or phrase, "invalid_request_error"))

    def _read_body(self) -> bytes:
        """The request body, by Content-Length or chunked transfer coding."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise _BodyUnread("The Content-Length header is not a number.")
        size = int(length)
        if size > MAX_BODY_BYTES:
            raise _BodyUnread(f"The request body is {size:,} bytes, more than this server takes.", status=413)
        body = self.rfile.read(size)
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
                raise _BodyUnread("The chunked request body is malformed.") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields, ignored
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyUnread("The request body is larger than this server takes.", status=413)
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionAbortedError("the client hung up inside a chunked body")
            chunks.append(chunk)
            self.rfile.readline(1024)  # the CRLF after each chunk


# -- the download host ----------------------------------------------------------------


class DownloadHandler(_Handler):
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


# -- the API --------------------------------------------------------------------------


class ApiHandler(_Handler):
    """``POST /v1/images/generations`` and ``/v1/images/edits``, and the admin endpoints under ``/_simulator/``."""

    host_role = "api"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            self._begin_record("admin")
            return self._admin_get(path)
        self._begin_record()
        self._send(404, error_body(f"Invalid URL (GET {path})", "invalid_request_error"))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        record = self._begin_record("admin" if path.startswith(ADMIN_PREFIX) else "api")
        try:
            try:
                body = self._read_body()
            except _BodyUnread:
                self.close_connection = True
                raise
            if record.host == "admin":
                return self._admin_post(path, body)
            if path not in (GENERATIONS_PATH, EDITS_PATH):
                raise _Rejection(f"Invalid URL (POST {path})", status=404)
            self._authorize()
            endpoint = "generations" if path == GENERATIONS_PATH else "edits"
            # Parsed before any fault, so that the record shows what a failed attempt carried;
            # a body that does not parse is only reported if no fault comes first, as at a gateway.
            try:
                record.fields, record.files = _parse_body(endpoint, body, self.headers.get("Content-Type", ""))
                unparsable = None
            except _Rejection as rejection:
                unparsable = rejection
            fault = record.fault = self.sim._faults.next_api(self.sim.failure_rate, self.sim.failure_kinds)
            if fault and fault.kind not in ANSWER_FAULTS:
                return self._fail(fault)
            if unparsable is not None:
                raise unparsable
            payload = self._answer(endpoint, record.fields, record.files, fault)
        except _Rejection as rejection:
            return self._send(rejection.status, rejection.body)
        except ConnectionAbortedError:
            return self._drop()  # the client went away mid-upload: nobody to answer
        except OSError:
            self.close_connection = True  # the client hung up while we answered
            return
        except Exception as exc:  # noqa: BLE001 - a bug here must still get an answer, and be seen
            traceback.print_exc()
            return self._send(500, error_body(f"The simulator failed: {exc!r}", "server_error"))
        self._deliver(payload, fault)

    def _authorize(self) -> None:
        given = self.headers.get("Authorization")
        if not given:
            raise _Rejection(
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
                status=401,
            )
        if not secrets.compare_digest(given.encode(), f"Bearer {self.sim.api_key}".encode()):
            raise _Rejection("Incorrect API key provided.", code="invalid_api_key", status=401)

    # -- faults ------------------------------------------------------------------------

    def _fail(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "429":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            body = error_body("Rate limit reached for requests. Please try again later.", "requests", None, "rate_limit_exceeded")
            return self._send(429, body, headers=headers)
        if kind in ("500", "502", "503", "504"):
            message = {
                "503": "The engine is currently overloaded, please try again later.",
                "504": "The upstream server timed out while processing your request.",
            }.get(kind, "The server had an error while processing your request. Sorry about that!")
            return self._send(int(kind), error_body(message, "server_error"))
        if kind == "html":
            title = f"{fault.status} {_phrase(fault.status)}"
            page = (
                f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
                "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            )
            return self._send(fault.status, page.encode(), "text/html")
        if kind == "drop":
            return self._drop()
        if kind == "stall":
            self.sim._wait(fault.seconds)
            return self._drop()
        if kind == "malformed_json":
            return self._send(200, b'{"created": ' + str(int(time.time())).encode() + b', "data": [{"b64_json": "iVBORw0KGgo')
        raise AssertionError(f"unhandled fault {kind}")

    def _deliver(self, payload: dict[str, Any], fault: Fault | None) -> None:
        item = payload["data"][0]
        if fault and "b64_json" in item:
            if fault.kind == "truncated_b64":
                item["b64_json"] = item["b64_json"][: len(item["b64_json"]) // 2 // 4 * 4]
            elif fault.kind == "invalid_b64":
                item["b64_json"] = "!!" + item["b64_json"][2:]
        body = _encode_payload(payload)
        # Latency counts from arrival, as a client sees it: all the work above happens while "the model" thinks.
        remaining = self.sim.latency - (time.time() - self.arrived)
        if remaining > 0:
            self.sim._wait(remaining)
        if not fault or fault.kind not in ("slow_body", "drop_mid_body"):
            return self._send(200, body)
        self._start(200, len(body), "application/json")
        if fault.kind == "drop_mid_body":
            self.wfile.write(body[: len(body) // 2])
            return self._drop()
        step = max(1, -(-len(body) // fault.chunks))
        for start in range(0, len(body), step):
            self.wfile.write(body[start : start + step])
            self.wfile.flush()
            if start + step < len(body):
                self.sim._wait(fault.delay)

    # -- validation and pictures ---------------------------------------------------------

    def _answer(self, endpoint: str, params: dict[str, Any], files: list[UploadedFile], fault: Fault | None) -> dict[str, Any]:
        violations = check_params(endpoint, params, strict=False, wire=True)
        params = wire_fields(endpoint, params)  # what passed, as the API reads it: a null is an absent field
        sources: list[UploadedFile] = []
        mask: UploadedFile | None = None
        infos: list[UploadInfo] = []
        if endpoint == "edits":
            sources, mask, infos, file_violations = _check_files(files)
            violations += file_violations
        if violations:
            first = violations[0]
            raise _Rejection(" ".join(str(v) for v in violations), first.field, first.rule)
        self._moderate(endpoint, params)
        if mask is not None and self.sim.refuse_masks:
            raise _Rejection(
                "Mask editing is not available for this account's group: select the Direct group for this key "
                "in the Anyfast console to send masks, or edit without a mask.",
                "mask",
                "mask_not_allowed",
            )
        with _PAINTERS:
            data, output_format = self._paint(endpoint, params, sources, mask, infos, fault)
        return self._payload(params, data, output_format, infos)

    def _paint(
        self,
        endpoint: str,
        params: dict[str, Any],
        sources: list[UploadedFile],
        mask: UploadedFile | None,
        infos: list[UploadInfo],
        fault: Fault | None,
    ) -> tuple[bytes, str]:
        """The answer's encoded picture, and its format."""
        width, height = parse_size(params.get("size", DEFAULT_SIZE))  # type: ignore[misc]
        output_format = params.get("output_format", "png")
        compression = params.get("output_compression")
        if endpoint == "generations":
            quality = params.get("quality", "medium")
            data = _render.generation_bytes(
                params["prompt"], width, height, quality, output_format, compression,
                self.sim._next_variant((params["prompt"], quality, width, height)), self.sim.variation,
            )
        else:
            images = [_decode(f, info.field) for f, info in zip(sources, infos, strict=True)]
            editable = None
            if mask is not None:
                editable = np.asarray(_decode(mask, "mask").convert("RGBA").getchannel("A")) == 0
            picture = _render.render_edit(params["prompt"], images, (width, height), editable, self.sim.leak)
            data = _render.encode(picture, output_format, compression)
        if fault and fault.kind == "wrong_format":
            output_format = "png" if output_format == "jpeg" else "jpeg"
            data = _render.encode(Image.open(io.BytesIO(data)), output_format)
        return data, output_format

    def _moderate(self, endpoint: str, params: dict[str, Any]) -> None:
        trigger = self.sim.moderation_trigger
        if not trigger or trigger.lower() not in str(params.get("prompt", "")).lower():
            return
        if endpoint == "generations" and params.get("moderation") == "low":
            return
        raise _Rejection(
            "Your request was rejected as a result of our safety system. safety_violations=[violence].",
            None,
            "moderation_blocked",
            kind="image_generation_user_error",
        )

    def _payload(self, params: dict[str, Any], data: bytes, output_format: str, sources: list[UploadInfo]) -> dict[str, Any]:
        prompt = str(params["prompt"]).strip()
        item: dict[str, Any] = {}
        if params.get("response_format", "url") == "b64_json":
            item["b64_json"] = base64.b64encode(data).decode()
        else:
            item["url"] = self.sim._links.publish(data, output_format, self.sim.download_url, self.sim.url_ttl)
        item["revised_prompt"] = f"{prompt}, rendered in a clean, detailed style"
        width, height = parse_size(params.get("size", DEFAULT_SIZE))  # type: ignore[misc]
        text_tokens = len(prompt.split()) + 6
        image_tokens = sum(max(1, s.width * s.height // 4096) for s in sources)
        output_tokens = max(1, width * height // 4096)
        return {
            "created": int(time.time()),
            "data": [item],
            "usage": {
                "input_tokens": text_tokens + image_tokens,
                "output_tokens": output_tokens,
                "total_tokens": text_tokens + image_tokens + output_tokens,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            },
        }

    # -- admin endpoints, for a test, notebook or benchmark in another process ------------

    def _admin_get(self, path: str) -> None:
        sim = self.sim
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
            return self._send(404, error_body(f"Unknown admin path {path}.", "invalid_request_error"))
        self._send(200, json.dumps(answer).encode())

    def _admin_post(self, path: str, body: bytes) -> None:
        sim = self.sim
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
                return self._send(404, error_body(f"Unknown admin path {path}.", "invalid_request_error"))
        except (ValueError, TypeError) as exc:
            return self._send(400, error_body(str(exc), "invalid_request_error"))
        self._send(200, json.dumps(answer).encode())


# -- request parsing, free of I/O ------------------------------------------------------------


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _parse_body(endpoint: str, body: bytes, content_type: str) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The request's parameters and uploaded files; raises _Rejection for a body of the wrong kind."""
    if endpoint == "generations":
        return _json_params(body, content_type), []
    return _multipart_params(body, content_type)


def _json_params(body: bytes, content_type: str) -> dict[str, Any]:
    if not content_type.lower().startswith("application/json"):
        raise _Rejection(
            f"The generations endpoint takes a JSON body (Content-Type: application/json), not {content_type or 'no content type'}."
        )
    try:
        params = json.loads(body)
    except ValueError:
        raise _Rejection(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
            "library correctly. The OpenAI API expects a JSON payload.)"
        ) from None
    if not isinstance(params, dict):
        raise _Rejection("The JSON body must be an object.")
    return params


def _multipart_params(body: bytes, content_type: str) -> tuple[dict[str, Any], list[UploadedFile]]:
    if not content_type.lower().startswith("multipart/form-data"):
        raise _Rejection(
            f"The edits endpoint takes multipart/form-data, not {content_type or 'no content type'}: "
            "the images must be uploaded as files."
        )
    try:
        fields, files = parse_multipart(body, content_type)
    except MultipartError as exc:
        raise _Rejection(str(exc)) from None
    for name in EDIT_FILE_FIELDS:
        if name in fields:
            raise _Rejection(f"{name!r} must be uploaded as a file (a part with a filename), not as text.", name, "file_required")
    params: dict[str, Any] = dict(fields)
    # Form fields arrive as text; the rules want the integer the spec declares.
    if "output_compression" in params:
        text = params["output_compression"].strip()
        params["output_compression"] = int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else text
    return params, files


def _check_files(files: list[UploadedFile]) -> tuple[list[UploadedFile], UploadedFile | None, list[UploadInfo], list[Violation]]:
    names = {f.field for f in files}
    unknown = sorted(names - set(EDIT_FILE_FIELDS))
    if unknown:
        raise _Rejection(
            f"The edits endpoint does not accept the file field(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(EDIT_FILE_FIELDS)}.",
            unknown[0],
            "unknown_field",
        )
    if "image" in names and "image[]" in names:
        raise _Rejection("Send the source as 'image' or the sources as 'image[]', not both.", "image", "conflict")
    if sum(f.field == "image" for f in files) > 1:
        raise _Rejection("'image' takes one file; send several sources as 'image[]'.", "image", "max_count")
    masks = [f for f in files if f.field == "mask"]
    if len(masks) > 1:
        raise _Rejection("Only one mask may be sent.", "mask", "max_count")
    sources = [f for f in files if f.field in ("image", "image[]")]
    infos = [inspect_upload(f"image[{i}]", f.data) for i, f in enumerate(sources)]
    violations = check_sources(infos)
    mask = masks[0] if masks else None
    if mask is not None:
        violations += check_mask(inspect_upload("mask", mask.data, alpha=True), infos[0] if infos else None, strict=False)
    return sources, mask, infos, violations


def _decode(upload: UploadedFile, field: str) -> Image.Image:
    """The whole picture; a file whose header reads but whose data does not is a 400, not a crash."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload.data))
            image.load()
            return image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
    except Exception as exc:  # noqa: BLE001 - any failure to decode is the upload's fault
        raise _Rejection(f"{field}: the file could not be decoded ({exc}).", field, "unreadable") from None


def _encode_payload(payload: dict[str, Any]) -> bytes:
    """JSON for a success body; the base64 image (megabytes, nothing to escape) is spliced in, not scanned."""
    item = payload["data"][0]
    image = item.pop("b64_json", None)
    if not isinstance(image, str) or not image.isascii() or '"' in image or "\\" in image:
        if image is not None:
            item["b64_json"] = image
        return json.dumps(payload).encode()
    text = json.dumps(payload)
    marker = '"data": [{'
    at = text.index(marker) + len(marker)
    return (text[:at] + '"b64_json": "' + image + '", ' + text[at:]).encode()
