"""The stand-in server: the API's two endpoints over real HTTP on 127.0.0.1.

It validates with the same rules module the client uses (only the API's own
rules), answers with OpenAI-style bodies, serves ``url`` results from a second
listener that plays the presigned download host, and has fault knobs for tests,
demos and benchmarks. See :class:`Simulator`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import io
import json
import queue
import random
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

from .._images import inspect_upload
from .._rules import (
    DEFAULT_SIZE,
    EDITS_PATH,
    GENERATIONS_PATH,
    Violation,
    check_mask,
    check_params,
    check_sources,
    parse_size,
)
from . import _render

MAX_BODY_BYTES = 17 * 50_000_000  # 16 sources and a mask at the API's file limit

FAULT_KINDS = (
    "429",  # rate limited; option retry_after (seconds) adds a Retry-After header
    "500",
    "502",
    "503",
    "504",
    "html",  # a proxy's HTML error page (option status, default 502)
    "drop",  # close the connection without answering
    "drop_mid_body",  # send the headers and half the body, then close
    "malformed_json",  # 200 with a body that is not JSON
    "slow_body",  # the real answer, dribbled out (options chunks, delay)
    "stall",  # say nothing for `seconds`, then close
    "truncated_b64",  # b64_json cut short
    "invalid_b64",  # b64_json with characters base64 does not have
    "wrong_format",  # a JPEG when PNG was asked for, and the other way round
)
DOWNLOAD_FAULT_KINDS = ("expired", "hang", "500")


@dataclass(frozen=True)
class Fault:
    """One scripted failure for the next API (or download) request."""

    kind: str
    retry_after: float | None = None
    seconds: float = 5.0
    status: int = 502
    chunks: int = 8
    delay: float = 0.05


@dataclass
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes = dataclasses.field(repr=False)


@dataclass
class RecordedRequest:
    """What reached the server: for tests to check what a client really sent."""

    host: str  # "api" or "download"
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    fields: dict[str, Any] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    time: float = field(default_factory=time.time)


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param, self.code = param, code


def _error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}}).encode()


_DISPOSITION = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], list[UploadedFile]]:
    """Split a multipart/form-data body into text fields and files, byte-exact."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _BadRequest("The multipart body has no boundary.")
    delimiter = b"--" + match[1].encode()
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise _BadRequest("A multipart part has no header block.")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = {}
        for line in head.decode("utf-8", "replace").strip().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params = dict(_DISPOSITION.findall(headers.get("content-disposition", "")))
        name = params.get("name")
        if name is None:
            raise _BadRequest("A multipart part has no name.")
        if "filename" in params:
            files.append(UploadedFile(name, params["filename"], headers.get("content-type"), content))
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


class Simulator:
    """A local stand-in for the Anyfast image API.

    ``with Simulator() as sim:`` serves on ``sim.base_url`` (no ``/v1``; clients add
    it), accepting ``Authorization: Bearer {sim.api_key}``. Knobs can be changed
    while it runs: ``latency`` (seconds per image), ``url_ttl`` (seconds a download
    link lives), ``leak`` (0-1: how much an edit changes outside its mask),
    ``moderation_trigger`` (a word that gets prompts refused), ``refuse_masks``
    (answer masked edits as an account without the Direct group), ``failure_rate``
    (a share of API requests failing transiently, seeded). ``fail_next(kind, ...)``
    scripts failures; ``requests``, ``api_requests`` and ``download_requests`` show
    what arrived.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        latency: float = 0.0,
        url_ttl: float = 300.0,
        leak: float = 0.0,
        moderation_trigger: str = "blockme",
        refuse_masks: bool = False,
        failure_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.host, self.port = host, port
        self.api_key = api_key or f"sk-sim-{secrets.token_hex(8)}"
        self.latency = latency
        self.url_ttl = url_ttl
        self.leak = leak
        self.moderation_trigger = moderation_trigger
        self.refuse_masks = refuse_masks
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._download_faults: deque[Fault] = deque()
        self._records: list[RecordedRequest] = []
        self._files: dict[str, tuple[bytes, str, float]] = {}
        self._signing_key = secrets.token_bytes(16)
        self._stopping = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    # -- life cycle ------------------------------------------------------------

    def start(self) -> Simulator:
        if self._servers:
            return self
        self._stopping.clear()
        for handler, port in ((_ApiHandler, self.port), (_DownloadHandler, 0)):
            server = _Server((self.host, port), handler, self)
            # A short poll interval makes stop() quick: tests start and stop hundreds of these.
            thread = threading.Thread(
                target=server.serve_forever, args=(0.02,), name=f"anyfast-sim-{handler.host}", daemon=True
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5)
        self._servers, self._threads = [], []

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _url(self, index: int) -> str:
        host, port = self._servers[index].server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """Where the API answers, e.g. http://127.0.0.1:54321 (clients append /v1/images/...)."""
        return self._url(0)

    @property
    def download_url(self) -> str:
        """The separate origin that serves ``url`` results, as a presigned storage host would."""
        return self._url(1)

    def __repr__(self) -> str:
        where = self.base_url if self._servers else "stopped"
        return f"<Simulator {where}>"

    # -- knobs -----------------------------------------------------------------

    def fail_next(self, kind: str, count: int = 1, **options: Any) -> None:
        """Make the next ``count`` API requests fail as ``kind`` (see FAULT_KINDS); or, for
        ``download_expired``/``download_hang``/``download_500``, the next downloads."""
        if kind.startswith("download_"):
            kind = kind[len("download_") :]
            if kind not in DOWNLOAD_FAULT_KINDS:
                raise ValueError(f"unknown download fault {kind!r}; known: {DOWNLOAD_FAULT_KINDS}")
            queue = self._download_faults
        else:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; known: {FAULT_KINDS}")
            queue = self._faults
        with self._lock:
            queue.extend(Fault(kind, **options) for _ in range(count))

    def configure(self, **settings: Any) -> None:
        """Change knobs by name (what the admin endpoint calls)."""
        for name, value in settings.items():
            if name not in ("latency", "url_ttl", "leak", "moderation_trigger", "refuse_masks", "failure_rate"):
                raise ValueError(f"unknown setting {name!r}")
            setattr(self, name, value)

    def reset(self) -> None:
        """Forget recorded requests and queued faults."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
            self._download_faults.clear()

    def _next_fault(self, downloads: bool = False) -> Fault | None:
        with self._lock:
            queue = self._download_faults if downloads else self._faults
            if queue:
                return queue.popleft()
            if not downloads and self.failure_rate and self._random.random() < self.failure_rate:
                return Fault("429", retry_after=0.05) if self._random.random() < 0.5 else Fault("503")
        return None

    # -- what arrived ------------------------------------------------------------

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    @property
    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.host == "api" and not r.path.startswith("/_simulator")]

    @property
    def download_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.host == "download"]

    def request_count(self, path: str | None = None) -> int:
        """API requests received, all or for one path (e.g. "/v1/images/edits")."""
        return sum(1 for r in self.api_requests if path is None or r.path == path)

    # -- download links ------------------------------------------------------------

    def _sign(self, token: str, expires: int) -> str:
        return hmac.new(self._signing_key, f"{token}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def _publish(self, data: bytes, output_format: str) -> str:
        token = secrets.token_urlsafe(12)
        expires = time.time() + self.url_ttl
        with self._lock:
            self._files[token] = (data, f"image/{output_format}", expires)
        ext = "jpg" if output_format == "jpeg" else "png"
        stamp = int(expires)
        return f"{self.download_url}/files/{token}.{ext}?X-Expires={stamp}&X-Signature={self._sign(token, stamp)}"

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    """A threading HTTP server whose handler threads are started ahead of need.

    Starting a thread waits for it to get the GIL; while other threads draw pictures
    that wait made the accept loop fall behind a burst of new connections. Here the
    loop only queues the connection; a waiting worker takes it, and a new worker is
    started only when none is idle (so keep-alive connections never starve others).
    """

    daemon_threads = True
    request_queue_size = 256
    prestarted_workers = 24

    def __init__(self, address: tuple[str, int], handler: type, sim: Simulator) -> None:
        self.sim = sim
        self._connections: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._idle = 0
        self._workers: list[threading.Thread] = []
        self._pool_lock = threading.Lock()
        super().__init__(address, handler)
        for _ in range(self.prestarted_workers):
            self._add_worker()

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
            self.process_request_thread(*item)
            with self._pool_lock:
                self._idle += 1

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pool_lock:
            starved = self._idle <= self._connections.qsize()
        self._connections.put((request, client_address))
        if starved:
            self._add_worker()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timeout, a dropped-connection test) is normal here, not news.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        for _ in self._workers:
            self._connections.put(None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    host = "api"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        pass

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req_{secrets.token_hex(12)}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def parse_request(self) -> bool:
        # Latency counts from here, when the request line arrived, not from when a busy
        # server got round to looking at the rest: that is what a client experiences.
        self.arrived = time.time()
        return super().parse_request()


class _DownloadHandler(_Handler):
    host = "download"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.sim._record(RecordedRequest("download", "GET", self.path, self._headers()))
        parts = urlsplit(self.path)
        match = re.fullmatch(r"/files/([\w-]+)\.(png|jpg)", parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        denied = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        fault = self.sim._next_fault(downloads=True)
        if fault and fault.kind == "hang":
            self.sim._wait(fault.seconds)
            return self._drop()
        if fault and fault.kind == "500":
            return self._send(500, b"<Error><Code>InternalError</Code></Error>", "application/xml")
        token = match[1] if match else ""
        with self.sim._lock:
            stored = self.sim._files.get(token)
        try:
            stamp = int(query.get("X-Expires", "0"))
        except ValueError:
            stamp = 0
        if stored is None or not hmac.compare_digest(query.get("X-Signature", ""), self.sim._sign(token, stamp)):
            return self._send(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", "application/xml")
        data, mime, expires = stored
        if (fault and fault.kind == "expired") or time.time() >= expires:
            return self._send(403, denied, "application/xml")
        self._send(200, data, mime)


class _ApiHandler(_Handler):
    host = "api"

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _BadRequest("A Content-Length header is required.")
        if int(length) > MAX_BODY_BYTES:
            raise _BadRequest("The request body is too large.")
        return self.rfile.read(int(length))

    # -- admin endpoints, for a test or benchmark in another process -------------

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/_simulator/requests"):
            counts: dict[str, int] = {}
            for record in self.sim.api_requests:
                counts[record.path] = counts.get(record.path, 0) + 1
            body = json.dumps({"count": sum(counts.values()), "by_path": counts, "downloads": len(self.sim.download_requests)})
            return self._send(200, body.encode())
        self._send(404, _error_body(f"Unknown path {self.path}.", "invalid_request_error"))

    def _admin(self, path: str, body: bytes) -> None:
        try:
            payload = json.loads(body or b"{}")
            if path == "/_simulator/faults":
                options = {k: v for k, v in payload.items() if k not in ("kind", "count")}
                self.sim.fail_next(payload["kind"], int(payload.get("count", 1)), **options)
            elif path == "/_simulator/config":
                self.sim.configure(**payload)
            elif path == "/_simulator/reset":
                self.sim.reset()
            else:
                return self._send(404, _error_body(f"Unknown path {path}.", "invalid_request_error"))
        except (ValueError, KeyError, TypeError) as exc:
            return self._send(400, _error_body(str(exc), "invalid_request_error"))
        self._send(200, b'{"ok": true}')

    # -- the API -------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        record = RecordedRequest("api", "POST", path, self._headers(), time=self.arrived)
        self.sim._record(record)
        try:
            body = self._read_body()
            if path.startswith("/_simulator/"):
                return self._admin(path, body)
            if path not in (GENERATIONS_PATH, EDITS_PATH):
                return self._send(404, _error_body(f"Invalid URL (POST {path})", "invalid_request_error"))
            if not self._authorized():
                return self._send(
                    401,
                    _error_body("Incorrect API key provided.", "invalid_request_error", None, "invalid_api_key"),
                )
            fault = self.sim._next_fault()
            if fault and fault.kind not in ("slow_body", "truncated_b64", "invalid_b64", "wrong_format"):
                return self._fail(fault)
            endpoint = "generations" if path == GENERATIONS_PATH else "edits"
            payload = self._answer(endpoint, body, record, fault)
        except _BadRequest as bad:
            return self._send(400, _error_body(str(bad), "invalid_request_error", bad.param, bad.code))
        except _Refusal as refusal:
            return self._send(400, refusal.body)
        except Exception as exc:  # noqa: BLE001 - a bug here must still get an answer, and be seen
            traceback.print_exc()
            return self._send(500, _error_body(f"The simulator failed: {exc!r}", "simulator_error"))
        self._deliver(payload, fault, record.time)

    def _authorized(self) -> bool:
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.sim.api_key}".encode())

    def _fail(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "429":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            body = _error_body("Rate limit reached for requests.", "requests", None, "rate_limit_exceeded")
            return self._send(429, body, headers=headers)
        if kind in ("500", "502", "503", "504"):
            return self._send(int(kind), _error_body("The server had an error while processing your request.", "server_error"))
        if kind == "html":
            page = f"<html><head><title>{fault.status} Bad Gateway</title></head><body><h1>{fault.status} Bad Gateway</h1></body></html>"
            return self._send(fault.status, page.encode(), "text/html")
        if kind == "drop":
            return self._drop()
        if kind == "stall":
            self.sim._wait(fault.seconds)
            return self._drop()
        if kind == "malformed_json":
            return self._send(200, b'{"created": 1, "data": [{"b64_json": "iVBORw0KGgo')
        if kind == "drop_mid_body":
            body = _error_body("x" * 4096, "padding")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            return self._drop()
        raise AssertionError(kind)

    def _deliver(self, payload: dict[str, Any], fault: Fault | None, arrived: float) -> None:
        item = payload["data"][0]
        if fault and fault.kind == "truncated_b64" and "b64_json" in item:
            item["b64_json"] = item["b64_json"][: len(item["b64_json"]) // 2 // 4 * 4]
        if fault and fault.kind == "invalid_b64" and "b64_json" in item:
            item["b64_json"] = "!!" + item["b64_json"][2:]
        body = _encode_payload(payload)
        # Latency counts from arrival, as a client sees it: all the work above happens while "the model" thinks.
        remaining = self.sim.latency - (time.time() - arrived)
        if remaining > 0:
            self.sim._wait(remaining)
        if not (fault and fault.kind == "slow_body"):
            return self._send(200, body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        step = max(1, len(body) // fault.chunks + 1)
        for start in range(0, len(body), step):
            self.wfile.write(body[start : start + step])
            self.wfile.flush()
            self.sim._wait(fault.delay)

    # -- validation and pictures ------------------------------------------------------

    def _answer(self, endpoint: str, body: bytes, record: RecordedRequest, fault: Fault | None) -> dict[str, Any]:
        content_type = self.headers.get("Content-Type", "")
        if endpoint == "generations":
            if not content_type.startswith("application/json"):
                raise _BadRequest("The generations endpoint takes a JSON body (Content-Type: application/json).")
            try:
                params = json.loads(body)
            except ValueError:
                raise _BadRequest("We could not parse the JSON body of your request.") from None
            if not isinstance(params, dict):
                raise _BadRequest("The JSON body must be an object.")
            files: list[UploadedFile] = []
        else:
            if not content_type.startswith("multipart/form-data"):
                raise _BadRequest("The edits endpoint takes multipart/form-data.")
            fields, files = parse_multipart(body, content_type)
            params = dict(fields)
            if "output_compression" in params:
                text = params["output_compression"].strip()
                params["output_compression"] = int(text) if re.fullmatch(r"-?\d+", text) else text
        record.fields, record.files = params, files
        violations = check_params(endpoint, params, strict=False)
        sources, mask = self._files(endpoint, files, violations)
        if violations:
            first = violations[0]
            raise _BadRequest(" ".join(str(v) for v in violations), first.field, first.rule)
        self._moderate(endpoint, params)
        if mask is not None and self.sim.refuse_masks:
            raise _Refusal(
                "Mask editing is not available for this account's group. Select the Direct group in the console to use masks.",
                "invalid_request_error",
                "mask",
                "mask_not_allowed",
            )
        width, height = parse_size(params.get("size", DEFAULT_SIZE))  # type: ignore[misc]
        output_format = params.get("output_format", "png")
        compression = params.get("output_compression")
        if endpoint == "generations":
            data = _render.generation_bytes(params["prompt"], width, height, params.get("quality", "medium"), output_format, compression)
        else:
            images: list[Image.Image] = [Image.open(io.BytesIO(f.data)) for f in sources]
            editable = None
            if mask is not None:
                editable = np.asarray(Image.open(io.BytesIO(mask.data)).convert("RGBA").getchannel("A")) == 0
            picture = _render.render_edit(params["prompt"], images, (width, height), editable, self.sim.leak)
            data = _render.encode(picture, output_format, compression)
        return self._payload(params, data, output_format, fault)

    def _files(
        self, endpoint: str, files: list[UploadedFile], violations: list[Violation]
    ) -> tuple[list[UploadedFile], UploadedFile | None]:
        if endpoint == "generations":
            return [], None
        names = {f.field for f in files}
        unknown = names - {"image", "image[]", "mask"}
        if unknown:
            raise _BadRequest(f"Unknown file field(s): {', '.join(sorted(unknown))}.", sorted(unknown)[0], "unknown_field")
        if "image" in names and "image[]" in names:
            raise _BadRequest("Send the source as 'image' or the sources as 'image[]', not both.", "image", "conflict")
        sources = [f for f in files if f.field in ("image", "image[]")]
        masks = [f for f in files if f.field == "mask"]
        if len(masks) > 1:
            raise _BadRequest("Only one mask may be sent.", "mask", "max_count")
        infos = [inspect_upload(f"image[{i}]", f.data) for i, f in enumerate(sources)]
        violations += check_sources(infos)
        mask = masks[0] if masks else None
        if mask is not None:
            violations += check_mask(inspect_upload("mask", mask.data, alpha=True), infos[0] if infos else None, strict=False)
        return sources, mask

    def _moderate(self, endpoint: str, params: dict[str, Any]) -> None:
        trigger = self.sim.moderation_trigger
        if not trigger or trigger.lower() not in str(params.get("prompt", "")).lower():
            return
        if endpoint == "generations" and params.get("moderation") == "low":
            return
        raise _Refusal(
            "Your request was rejected as a result of our safety system. safety_violations=[violence].",
            "image_generation_user_error",
            None,
            "moderation_blocked",
        )

    def _payload(self, params: dict[str, Any], data: bytes, output_format: str, fault: Fault | None) -> dict[str, Any]:
        prompt = str(params["prompt"]).strip()
        item: dict[str, Any] = {"revised_prompt": f"{prompt}, rendered in a clean, detailed style"}
        if fault and fault.kind == "wrong_format":
            output_format = "png" if output_format == "jpeg" else "jpeg"
            data = _render.encode(Image.open(io.BytesIO(data)), output_format)
        if params.get("response_format", "url") == "b64_json":
            item["b64_json"] = base64.b64encode(data).decode()
        else:
            item["url"] = self.sim._publish(data, output_format)
        width, height = parse_size(params.get("size", DEFAULT_SIZE))  # type: ignore[misc]
        tokens_in = len(prompt.split()) + 6
        tokens_out = max(1, width * height // 4096)
        return {
            "created": int(time.time()),
            "data": [item],
            "usage": {
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
                "input_tokens_details": {"text_tokens": tokens_in, "image_tokens": 0},
            },
        }


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


class _Refusal(Exception):
    """A 400 from the provider's own checks (moderation, account), not from the parameter rules."""

    def __init__(self, message: str, kind: str, param: str | None, code: str) -> None:
        super().__init__(message)
        self.body = _error_body(message, kind, param, code)
