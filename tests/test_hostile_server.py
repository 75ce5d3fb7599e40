"""A hostile or broken server cannot hurt the user.

The stand-in server plays a well-behaved API; here a small raw-socket server on
127.0.0.1 answers the way no API should: endless or huge bodies, lying lengths,
gzip bombs, deeply nested JSON, links to ``file://`` and friends, redirects to
strange places and in circles, huge headers, a trickle. Every case must end in an
error of our own tree, after reading little more than the configured cap, in
bounded time, with the key sent nowhere but the API host, and nothing written
outside the run directory (nor anything half-written in it).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import itertools
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from anyfast_widget import (
    AnyfastError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    DownloadError,
    MalformedResponseError,
    RetryPolicy,
    RunStore,
    ServerError,
)
from anyfast_widget.client._body import Body
from anyfast_widget.client._config import DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_RESPONSE_BYTES
from anyfast_widget.core._request import PreparedRequest

NO_RETRY = RetryPolicy(max_retries=0)
KEY = "sk-HOSTILE-0123456789abcdef"
GEN = "/v1/images/generations"
CHUNK = 64 * 1024


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return buffer.getvalue()


PNG = png_bytes()


# -- the hostile server ------------------------------------------------------------------


@dataclass
class Seen:
    """One request as the hostile server read it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class Reply:
    """Writes one answer on a connection and counts what the client took."""

    def __init__(self, server: Hostile, conn: socket.socket, path: str) -> None:
        self.server, self.conn, self.path = server, conn, path

    def send(self, data: bytes) -> None:
        if self.server.stopping.is_set():
            raise ConnectionAbortedError("server stopping")
        self.conn.sendall(data)
        self.server.sent[self.path] += len(data)

    def head(self, status: int = 200, headers: dict[str, str] | None = None, reason: str = "X") -> None:
        lines = [f"HTTP/1.1 {status} {reason}", "Connection: close", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def whole(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.head(status, {"Content-Length": str(len(body)), **(headers or {})})
        self.send(body)

    def json(self, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.whole(json.dumps(payload).encode(), status, {"Content-Type": "application/json", **(headers or {})})

    def endless(self, piece: bytes | Callable[[], bytes]) -> None:
        """Send ``piece`` (or what it makes) until the client hangs up."""
        while True:
            self.send(piece() if callable(piece) else piece)


Handler = Callable[[Reply, Seen], None]


class Hostile:
    """A tiny HTTP/1.1 server on 127.0.0.1 that answers each path as scripted in ``routes``.

    One request per connection (always ``Connection: close``). ``requests`` holds
    what arrived, ``sent[path]`` the bytes the client accepted before it hung up.
    With ``tls`` it speaks https (as ``localhost``) with that server context.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.routes: dict[str, Handler] = {}
        self.requests: list[Seen] = []
        self.sent: defaultdict[str, int] = defaultdict(int)
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        port = self.listener.getsockname()[1]
        return f"https://localhost:{port}" if self.tls else f"http://127.0.0.1:{port}"

    def route(self, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes[path] = handler
            return handler

        return register

    def seen(self, path: str | None = None) -> list[Seen]:
        return [r for r in self.requests if path is None or r.path == path]

    def close(self) -> None:
        self.stopping.set()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with conn:
            try:
                if self.tls:
                    conn = self.tls.wrap_socket(conn, server_side=True)  # a refused handshake is an OSError too
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                first, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = first.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
                while len(body) < int(headers.get("content-length", "0")):
                    body += conn.recv(65536)
                seen = Seen(method, target.split("?")[0], headers, body)
                self.requests.append(seen)
                handler = self.routes.get(seen.path, lambda reply, _: reply.json({"error": {"message": "no such path"}}, 404))
                handler(Reply(self, conn, seen.path), seen)
            except OSError:  # the client hung up: what a hostile server expects
                pass


@pytest.fixture
def hostile():
    server = Hostile()
    yield server
    server.close()


@pytest.fixture
def elsewhere():
    """A second origin: where redirects point, to see whether anything (and what) arrives."""
    server = Hostile()
    yield server
    server.close()


def url_answer(url: str) -> Handler:
    return lambda reply, _: reply.json({"created": 1, "data": [{"url": url}]})


def b64_answer(image: bytes = PNG) -> Handler:
    return lambda reply, _: reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(image).decode()}]})


# -- running a call and checking what it left ------------------------------------------------


def run(
    server: Hostile, run_dir: Path, *, asynchronous: bool = False, response_format: str = "b64_json", **options
) -> tuple[AnyfastError | None, float]:
    """One generate() against ``server``: (the error it raised or None, seconds it took)."""
    options = {"api_key": KEY, "base_url": server.url, "run_dir": run_dir, "retry": NO_RETRY, **options}
    started = time.monotonic()
    try:
        if asynchronous:

            async def call() -> None:
                async with AsyncClient(**options) as client:
                    await client.generate("a hostile picture", response_format=response_format)

            asyncio.run(call())
        else:
            with Client(**options) as client:
                client.generate("a hostile picture", response_format=response_format)
    except AnyfastError as error:
        return error, time.monotonic() - started
    return None, time.monotonic() - started


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def assert_nothing_left(run_dir: Path) -> None:
    """No image, sidecar or temporary file in the run directory: only the (empty) index."""
    deadline = time.monotonic() + 5
    while True:
        left = {p for p in files_under(run_dir) if not p.name.startswith("index.sqlite")}
        if not left or time.monotonic() > deadline:  # reserved files are removed by a helper thread
            break
        time.sleep(0.02)
    assert left == set()
    assert len(RunStore(run_dir)) == 0


def assert_key_only_to_the_api(*servers: Hostile, api: Hostile) -> None:
    for server in servers:
        for seen in server.requests:
            text = json.dumps([seen.method, seen.path, seen.headers]) + seen.body.decode("latin-1")
            if server is api and seen.method == "POST" and seen.path.startswith("/v1/images/"):
                assert seen.headers.get("authorization") == f"Bearer {KEY}"
                assert KEY not in text.replace(f"Bearer {KEY}", "", 1)
            else:
                assert KEY not in text, (seen.path, seen.headers)
                assert "authorization" not in seen.headers


def read_before_abort(error: AnyfastError) -> int:
    """The byte count a size error reports (it names how far reading got)."""
    found = re.search(r"\(([\d,]+)\)", error.message)
    assert found, error.message
    return int(found[1].replace(",", ""))


@pytest.fixture
def outside(tmp_path):
    """Checks that nothing appeared in tmp_path outside the run directory."""
    before = files_under(tmp_path)
    yield
    after = {p for p in files_under(tmp_path) if not p.is_relative_to(tmp_path / "runs")}
    assert after == {p for p in before if not p.is_relative_to(tmp_path / "runs")}


# -- size caps ------------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_an_endless_api_body_is_cut_at_the_cap(hostile, run_dir, outside, asynchronous):
    @hostile.route(GEN)
    def endless(reply, _):
        reply.head(200, {"Content-Type": "application/json"})  # no length: the body runs until the connection ends
        reply.send(b'{"data": [{"b64_json": "')
        reply.endless(b"A" * CHUNK)

    cap = 1_000_000
    error, seconds = run(hostile, run_dir, asynchronous=asynchronous, max_response_bytes=cap)
    assert isinstance(error, MalformedResponseError) and "exceeds" in error.message
    assert cap < read_before_abort(error) <= cap + CHUNK
    assert seconds < 5
    assert_nothing_left(run_dir)
    assert_key_only_to_the_api(hostile, api=hostile)


def test_the_default_caps_hold_against_endless_bodies(hostile, run_dir, record_property):
    """With the shipped defaults: how much is read before the client stops (reported for the record)."""
    hostile.route(GEN)(url_answer(f"{hostile.url}/files/endless.png"))

    @hostile.route("/files/endless.png")
    def endless_download(reply, _):
        reply.head(200, {"Content-Type": "image/png"})
        reply.endless(b"\0" * CHUNK)

    error, seconds = run(hostile, run_dir, response_format="url")
    assert isinstance(error, DownloadError) and "exceeds" in error.message
    read = read_before_abort(error)
    assert DEFAULT_MAX_DOWNLOAD_BYTES < read <= DEFAULT_MAX_DOWNLOAD_BYTES + CHUNK
    record_property("download_read", read)
    record_property("download_sent", hostile.sent["/files/endless.png"])

    @hostile.route(GEN)
    def endless_api(reply, _):
        reply.head(200, {"Content-Type": "application/json"})
        reply.endless(b" " * CHUNK)

    error, seconds = run(hostile, run_dir)
    assert isinstance(error, MalformedResponseError)
    read = read_before_abort(error)
    assert DEFAULT_MAX_RESPONSE_BYTES < read <= DEFAULT_MAX_RESPONSE_BYTES + CHUNK
    # The server could push at most the cap plus what the kernel's socket buffers held.
    assert hostile.sent[GEN] <= DEFAULT_MAX_RESPONSE_BYTES + 16 * 1024 * 1024
    record_property("api_read", read)
    record_property("api_sent", hostile.sent[GEN])
    assert seconds < 20


def test_a_huge_declared_length_is_refused_before_reading(hostile, run_dir):
    @hostile.route(GEN)
    def huge(reply, _):
        reply.head(200, {"Content-Type": "application/json", "Content-Length": str(10**12)})
        reply.send(b"{")
        reply.server.stopping.wait(2)  # the client must not wait for the rest

    error, seconds = run(hostile, run_dir)
    assert isinstance(error, MalformedResponseError) and "1,000,000,000,000" in error.message
    assert seconds < 1.5
    assert_nothing_left(run_dir)


def test_a_download_declaring_a_huge_length_is_refused(hostile, run_dir):
    hostile.route(GEN)(url_answer(f"{hostile.url}/files/huge.png"))

    @hostile.route("/files/huge.png")
    def huge(reply, _):
        reply.head(200, {"Content-Length": str(10**12)})
        reply.send(PNG)
        reply.server.stopping.wait(2)

    error, seconds = run(hostile, run_dir, response_format="url")
    assert isinstance(error, DownloadError) and "exceeds" in error.message and seconds < 1.5
    assert_nothing_left(run_dir)


# -- compression --------------------------------------------------------------------------------


def gzip_bomb() -> Callable[[], bytes]:
    """Compressed zeros, one piece at a time, for ever: each 1 MiB inflates from about a kilobyte."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    pieces = iter([compressor.compress(b"")])  # the gzip header
    zeros = bytes(1024 * 1024)

    def piece() -> bytes:
        return next(pieces, b"") + compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)

    return piece


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("where", ["api", "download"])
def test_a_gzip_bomb_is_capped_by_its_decoded_size_in_bounded_memory(hostile, run_dir, asynchronous, where):
    cap = 2 * 1024 * 1024
    path = GEN if where == "api" else "/files/bomb.png"
    if where == "download":
        hostile.route(GEN)(url_answer(f"{hostile.url}{path}"))

    @hostile.route(path)
    def bomb(reply, _):
        reply.head(200, {"Content-Encoding": "gzip"})
        reply.endless(gzip_bomb())

    tracemalloc.start()
    try:
        error, seconds = run(
            hostile,
            run_dir,
            asynchronous=asynchronous,
            response_format="b64_json" if where == "api" else "url",
            max_response_bytes=cap,
            max_download_bytes=cap,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, MalformedResponseError if where == "api" else DownloadError), error
    assert "exceeds" in error.message
    assert cap < read_before_abort(error) <= cap + CHUNK  # the cap counts decoded bytes
    assert hostile.sent[path] < 256 * 1024  # a few kilobytes on the wire were enough to hit it
    assert peak < 3 * cap + 8 * 1024 * 1024, f"peak {peak:,} bytes"
    assert seconds < 5
    assert_nothing_left(run_dir)


def test_a_nested_gzip_bomb_is_refused_without_inflating(hostile, run_dir):
    """Two layers of gzip: one 64 KiB read would inflate to terabytes in a decoder without limits."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    layer = inner.compress(bytes(64 * 1024 * 1024)) + inner.flush()
    outer = zlib.compressobj(9, zlib.DEFLATED, 31)
    twice = outer.compress(layer) + outer.flush()

    hostile.route(GEN)(lambda reply, _: reply.whole(twice, headers={"Content-Encoding": "gzip, gzip"}))
    tracemalloc.start()
    try:
        error, _ = run(hostile, run_dir, max_response_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, MalformedResponseError), error
    assert peak < 16 * 1024 * 1024, f"peak {peak:,} bytes"


@pytest.mark.parametrize(
    "encoding, body, words",
    [
        ("gzip", b"this is not gzip at all", "gzip"),
        ("br", b"\x0b\x02\x80hello\x03", "br"),
        ("compress", b"\x1f\x9d\x90", "compress"),
    ],
)
def test_a_body_that_cannot_be_decoded_is_a_clear_error(hostile, run_dir, encoding, body, words):
    hostile.route(GEN)(lambda reply, _: reply.whole(body, headers={"Content-Encoding": encoding}))
    error, _ = run(hostile, run_dir)
    assert isinstance(error, MalformedResponseError), error
    assert words in error.message
    assert_nothing_left(run_dir)


def test_gzip_and_deflate_answers_are_read(hostile, run_dir):
    """A well-behaved compressed answer still works (the client asks for gzip or deflate)."""
    payload = json.dumps({"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode()}]}).encode()

    @hostile.route(GEN)
    def compressed(reply, seen):
        assert set(seen.headers["accept-encoding"].replace(" ", "").split(",")) <= {"gzip", "deflate", "identity"}
        reply.whole(zlib.compress(payload), headers={"Content-Encoding": "deflate"})

    hostile.route("/gz")(lambda reply, _: reply.whole(gzip.compress(PNG), headers={"Content-Encoding": "gzip"}))
    with Client(api_key=KEY, base_url=hostile.url, run_dir=run_dir, retry=NO_RETRY) as client:
        assert client.generate("deflated").data == PNG
        hostile.route(GEN)(url_answer(f"{hostile.url}/gz"))
        assert client.generate("gzipped", response_format="url").data == PNG


@settings(max_examples=100, deadline=None)
@given(
    data=st.binary(max_size=20_000),
    repeat=st.integers(1, 200),
    cuts=st.lists(st.integers(0, 10**6), max_size=10),
    wbits=st.sampled_from([31, 15]),
)
def test_inflating_piece_by_piece_equals_inflating_whole(data, repeat, cuts, wbits):
    """Any chunking of a gzip or zlib body inflates to exactly its content (and is counted against the cap)."""
    original = data * repeat
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    wire = compressor.compress(original) + compressor.flush()
    body = Body(10**9, lambda n: AnyfastError(f"too big: {n}"))
    body.start({"content-encoding": "gzip" if wbits == 31 else "deflate"})
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    for a, b in itertools.pairwise(points):
        body.add_raw(wire[a:b])
    body.finish()
    assert body.raw() == original and body.total == len(original)
    assert all(len(chunk) <= 64 * 1024 for chunk in body._chunks)


# -- bad JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 400, 500])
def test_deeply_nested_json_is_malformed_not_a_crash(hostile, run_dir, status):
    nested = b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    hostile.route(GEN)(lambda reply, _: reply.whole(nested, status, {"Content-Type": "application/json"}))
    error, _ = run(hostile, run_dir)
    assert isinstance(error, MalformedResponseError if status == 200 else APIError), repr(error)
    assert error.status == status
    assert_nothing_left(run_dir)


def test_huge_json_under_the_cap_is_parsed_and_over_it_refused(hostile, run_dir):
    filler = "x" * (3 * 1024 * 1024)
    hostile.route(GEN)(
        lambda reply, _: reply.json({"created": 1, "filler": filler, "data": [{"b64_json": base64.b64encode(PNG).decode()}]})
    )
    error, _ = run(hostile, run_dir, max_response_bytes=1_000_000)
    assert isinstance(error, MalformedResponseError) and "exceeds" in error.message
    assert_nothing_left(run_dir)


# -- where links may point -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://files.example.com/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "gopher://127.0.0.1:70/x",
        "/relative/path.png",
        "https://",
        "http://[::1",
        "http://999.0.0.1/x.png",
        "",
    ],
)
def test_a_result_link_that_is_not_http_is_never_fetched(hostile, run_dir, outside, url):
    hostile.route(GEN)(url_answer(url))
    error, _ = run(hostile, run_dir, response_format="url")
    assert isinstance(error, MalformedResponseError), repr(error)
    assert "not fetched" in error.message
    assert [r.path for r in hostile.requests] == [GEN]
    assert_nothing_left(run_dir)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi", "javascript:alert(1)", "gopher://127.0.0.1/"],
)
def test_a_download_redirect_to_another_scheme_is_not_followed(hostile, run_dir, outside, location, asynchronous):
    hostile.route(GEN)(url_answer(f"{hostile.url}/files/r.png"))
    hostile.route("/files/r.png")(lambda reply, _: reply.whole(b"", 302, {"Location": location}))
    error, seconds = run(
        hostile, run_dir, response_format="url", asynchronous=asynchronous, retry=RetryPolicy(max_retries=3, initial_backoff=0.01)
    )
    assert isinstance(error, DownloadError), repr(error)
    assert "redirect" in error.message and "not followed" in error.message
    assert len(hostile.seen("/files/r.png")) == 1, "a refused redirect is not worth retrying"
    assert seconds < 2
    assert_nothing_left(run_dir)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_redirect_loop_ends_after_a_few_hops(hostile, run_dir, asynchronous):
    hostile.route(GEN)(url_answer(f"{hostile.url}/files/loop.png"))
    hostile.route("/files/loop.png")(lambda reply, _: reply.whole(b"", 302, {"Location": "/files/loop.png"}))
    error, seconds = run(
        hostile, run_dir, response_format="url", asynchronous=asynchronous, retry=RetryPolicy(max_retries=3, initial_backoff=0.01)
    )
    assert isinstance(error, DownloadError), repr(error)
    assert "redirect" in error.message
    assert 2 <= len(hostile.seen("/files/loop.png")) <= 8, "followed a few hops, once (a loop is not retried)"
    assert seconds < 2


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_redirects_carry_no_key_and_their_bodies_are_not_read(hostile, elsewhere, run_dir, asynchronous):
    """Download host -> a redirect with an endless body -> another origin -> the API host's own path -> the image."""
    hostile.route(GEN)(url_answer(f"{hostile.url}/files/start.png"))

    @hostile.route("/files/start.png")
    def endless_redirect(reply, _):
        reply.head(302, {"Location": f"{elsewhere.url}/hop"})
        reply.endless(b"<html>" * 10_000)  # httpx's own redirect handling would read all of this

    elsewhere.route("/hop")(lambda reply, _: reply.whole(b"", 307, {"Location": f"{hostile.url}/v1/images/edits"}))
    hostile.route("/v1/images/edits")(lambda reply, _: reply.whole(b"", 301, {"Location": f"{elsewhere.url}/final.png"}))
    elsewhere.route("/final.png")(lambda reply, _: reply.whole(PNG, headers={"Content-Type": "image/png"}))

    error, seconds = run(hostile, run_dir, response_format="url", asynchronous=asynchronous, max_download_bytes=1_000_000)
    assert error is None, repr(error)
    assert [r.path for r in elsewhere.requests] == ["/hop", "/final.png"]
    assert hostile.sent["/files/start.png"] < 16 * 1024 * 1024
    assert seconds < 5
    assert_key_only_to_the_api(hostile, elsewhere, api=hostile)
    (saved,) = RunStore(run_dir)
    assert saved.data == PNG


def test_the_api_host_is_never_followed_when_it_redirects(hostile, elsewhere, run_dir):
    """A redirect from the API itself would re-send the key: it is an error, and nothing goes to the target."""
    hostile.route(GEN)(lambda reply, _: reply.whole(b"", 307, {"Location": f"{elsewhere.url}/v1/images/generations"}))
    error, _ = run(hostile, run_dir)
    assert isinstance(error, APIStatusError) and error.status == 307
    assert elsewhere.requests == []


def test_a_download_redirect_to_plain_http_off_this_machine_gets_no_key(hostile, run_dir):
    """Nothing off loopback is reachable here: the hop fails fast, and the download pool never holds the key."""
    hostile.route(GEN)(url_answer(f"{hostile.url}/files/out.png"))
    hostile.route("/files/out.png")(lambda reply, _: reply.whole(b"", 302, {"Location": "http://10.255.255.1:81/x.png"}))
    error, seconds = run(hostile, run_dir, response_format="url", timeout=0.3)
    assert isinstance(error, DownloadError), repr(error)
    assert seconds < 3
    assert_key_only_to_the_api(hostile, api=hostile)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_kept_alive_connection_the_server_then_closed_is_not_sent_on_again(hostile, run_dir, asynchronous):
    """The server answers as if the connection stays open, then closes it: the next request opens a new one.

    With no retries allowed, a request written to the closed connection would fail."""

    @hostile.route(GEN)
    def keep_alive_then_close(reply, _seen):
        body = json.dumps({"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode()}]}).encode()
        reply.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(0.05)  # then the connection closes (Hostile serves one request per connection)

    options = {"api_key": KEY, "base_url": hostile.url, "run_dir": run_dir, "retry": NO_RETRY}
    if asynchronous:

        async def twice() -> list:
            async with AsyncClient(**options) as client:
                first = await client.generate("first")
                await asyncio.sleep(0.2)
                return [first, await client.generate("second")]

        results = asyncio.run(twice())
    else:
        with Client(**options) as client:
            results = [client.generate("first")]
            time.sleep(0.2)
            results.append(client.generate("second"))
    assert [r.attempts for r in results] == [1, 1] and [r.size for r in results] == [(64, 48), (64, 48)]
    assert len(hostile.seen(GEN)) == 2


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority():
    """A certificate authority nobody trusts unless told to."""
    return trustme.CA()


@pytest.fixture
def secure(authority):
    """A server with a certificate for localhost, signed by ``authority``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server = Hostile(tls=context)
    server.route("/files/r.png")(lambda reply, _: reply.whole(PNG, headers={"Content-Type": "image/png"}))
    yield server
    server.close()


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_certificates_are_checked_for_the_api_and_for_downloads(hostile, secure, run_dir, asynchronous):
    """All clients share one TLS context (making one costs ~40 ms); it still refuses a certificate no trusted authority signed."""
    secure.route(GEN)(b64_answer())
    error, _ = run(secure, run_dir, asynchronous=asynchronous)
    assert isinstance(error, APIConnectionError) and "CERTIFICATE_VERIFY_FAILED" in error.message, repr(error)
    hostile.route(GEN)(url_answer(f"{secure.url}/files/r.png"))
    error, _ = run(hostile, run_dir, response_format="url", asynchronous=asynchronous)
    assert isinstance(error, DownloadError) and "CERTIFICATE_VERIFY_FAILED" in error.message, repr(error)
    assert secure.requests == []  # nothing, the key least of all, got past a handshake
    assert_nothing_left(run_dir)


def test_an_authority_named_by_ssl_cert_file_is_trusted(authority, secure, run_dir, tmp_path):
    """The shared context is made as httpx makes one: SSL_CERT_FILE names whom to trust, for both clients.

    (A fresh process: the context is made once.)"""
    @secure.route(GEN)
    def image_or_link(reply, seen):
        (url_answer(f"{secure.url}/files/r.png") if b'"url"' in seen.body else b64_answer())(reply, seen)

    authority.cert_pem.write_to_path(str(tmp_path / "authority.pem"))
    script = (
        "import sys; from anyfast_widget import Client\n"
        "with Client(api_key=sys.argv[1], base_url=sys.argv[2], run_dir=sys.argv[3]) as client:\n"
        "    print(client.generate('over tls').size)\n"
        "    print(client.generate('and a link', response_format='url').size)\n"
        "import asyncio; from anyfast_widget import AsyncClient\n"
        "async def main():\n"
        "    async with AsyncClient(api_key=sys.argv[1], base_url=sys.argv[2], run_dir=sys.argv[3]) as client:\n"
        "        print((await client.generate('async, over tls')).size)\n"
        "        print((await client.generate('and its link', response_format='url')).size)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, KEY, secure.url, str(run_dir)],
        env={**os.environ, "SSL_CERT_FILE": str(tmp_path / "authority.pem")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == ["(64, 48)"] * 4  # the sync client, then the async one
    assert [r.path for r in secure.requests] == [GEN, GEN, "/files/r.png"] * 2
    assert_key_only_to_the_api(secure, api=secure)


# -- headers and time -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["api", "download"])
def test_huge_headers_end_the_call(hostile, run_dir, where):
    path = GEN if where == "api" else "/files/h.png"
    if where == "download":
        hostile.route(GEN)(url_answer(f"{hostile.url}{path}"))

    @hostile.route(path)
    def huge(reply, _):
        reply.send(b"HTTP/1.1 200 OK\r\nX-Junk: ")
        reply.endless(b"j" * CHUNK)

    error, seconds = run(hostile, run_dir, response_format="b64_json" if where == "api" else "url")
    assert isinstance(error, APIConnectionError if where == "api" else DownloadError), repr(error)
    assert hostile.sent[path] < 16 * 1024 * 1024
    assert seconds < 5


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("where", ["api", "download"])
def test_a_trickling_body_times_out(hostile, run_dir, where, asynchronous):
    """One byte every 20 ms never trips a read timeout; the whole answer must still come in time."""
    path = GEN if where == "api" else "/files/slow.png"
    if where == "download":
        hostile.route(GEN)(url_answer(f"{hostile.url}{path}"))

    @hostile.route(path)
    def trickle(reply, _):
        reply.head(200, {"Content-Length": "100000"})
        for _ in range(100_000):
            reply.send(b" ")
            time.sleep(0.02)

    error, seconds = run(
        hostile, run_dir, asynchronous=asynchronous, response_format="b64_json" if where == "api" else "url", timeout=0.5
    )
    assert isinstance(error, APITimeoutError if where == "api" else DownloadError), repr(error)
    assert "in time" in error.message
    assert seconds < 3
    assert_nothing_left(run_dir)


# -- the key is not echoed back into our errors and files -------------------------------------------


def test_a_server_that_echoes_the_key_does_not_put_it_in_errors_or_files(hostile, run_dir, caplog):
    caplog.set_level("DEBUG")
    answers = iter(
        [
            lambda reply, seen: reply.json(
                {"error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid_api_key"}},
                401,
                {"x-request-id": f"req-{KEY}"},
            ),
            lambda reply, seen: reply.whole(f"<html><pre>{seen.headers['authorization']}</pre></html>".encode(), 502),
            lambda reply, seen: reply.whole(f"{KEY} was not expected here".encode(), 500),
            lambda reply, seen: reply.json(
                {
                    "note": KEY,
                    "data": [{"b64_json": base64.b64encode(PNG).decode(), "revised_prompt": f"made for {KEY}", "by": [KEY]}],
                },
                headers={"x-request-id": KEY},
            ),
            lambda reply, seen: reply.json({"data": [{"url": f"{hostile.url}/files/x.png?token={KEY}"}]}),
        ]
    )
    hostile.route(GEN)(lambda reply, seen: next(answers)(reply, seen))
    errors = []
    with Client(api_key=KEY, base_url=hostile.url, run_dir=run_dir, retry=NO_RETRY) as client:
        for expected in (AuthenticationError, ServerError, ServerError):
            with pytest.raises(expected) as info:
                client.generate("echo")
            errors.append(info.value)
        result = client.generate("echo")
        with pytest.raises(MalformedResponseError) as info:
            client.generate("echo", response_format="url")
        errors.append(info.value)
    assert "key" in errors[-1].message
    assert hostile.seen("/files/x.png") == [], "a link carrying the key is never fetched"
    # (httpcore's own DEBUG lines show the response headers as the server sent them: not ours to filter.)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpcore"))
    texts = [ours, repr(result), json.dumps(result.metadata())]
    for error in errors:
        texts += [str(error), repr(error), repr(vars(error))]
    for text in texts:
        assert KEY not in text
    for path in files_under(run_dir):
        assert KEY.encode() not in path.read_bytes(), path
    assert result.data == PNG and "made for" in result.revised_prompt


# -- file names from prompts ----------------------------------------------------------------------------


NASTY_PROMPTS = st.one_of(
    st.text(min_size=1, max_size=300),
    st.sampled_from(
        [
            "../../x",
            "../../../../etc/passwd",
            "/etc/passwd",
            "C:\\Windows\\system32",
            "..\\..\\x",
            "a\x00b",
            "/",
            "//",
            "\\\\server\\share",
            "x" * 10_000,
            "\u202eexe.png",
            "\U0001f600" * 300,
            "CON",
            "NUL",
            "com1",
            "LPT9.txt",
            "...",
            ".",
            "..",
            "\n\r\t",
            "name\nwith\nnewlines",
            "~",
            "$HOME",
            "%2e%2e%2f",
            "ｆｕｌｌ／ｗｉｄｔｈ",
            "a" * 254 + ".png",
            " ",
        ]
    ),
    st.text(alphabet=st.sampled_from("./\\\x00 \n.:~*?<>|\u202e\u0301é"), min_size=1, max_size=60),
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("names") / "runs")
    yield store
    store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompt=NASTY_PROMPTS, fmt=st.sampled_from(["png", "jpeg"]))
def test_file_names_from_any_prompt_stay_inside_the_run_directory(shared_store, prompt, fmt):
    params = {"model": "gpt-image-2-c", "prompt": prompt, "output_format": fmt}
    data = PNG if fmt == "png" else b"\xff\xd8\xff" + b"\0" * 10
    saved = shared_store.save(
        PreparedRequest("generations", params),
        data,
        size=(64, 48),
        revised_prompt=None,
        request_id=None,
        timings={},
        extras={},
        fmt=fmt,
    )
    derived = shared_store.save_derived(saved, data, size=(64, 48), derivation={"kind": "test"})
    root = shared_store.root.resolve()
    for result in (saved, derived):
        for path in (result.path, result.sidecar_path):
            resolved = path.resolve()
            assert resolved.is_relative_to(root) and resolved.is_file()
            assert resolved.parent.parent == root / "images"
            assert len(path.name.encode()) < 255
            assert path.name.isascii() and path.name.isprintable() and not path.name.startswith(".")
            assert "/" not in path.name and "\\" not in path.name and "\x00" not in path.name
        assert shared_store.get(result.id).prompt == prompt  # the prompt itself is kept whole, only the name is tamed


def test_a_nasty_prompt_through_the_client_is_saved_inside_the_run_directory(hostile, run_dir, outside):
    hostile.route(GEN)(b64_answer())
    prompt = "../../../" * 50 + "\u202e" + "CON" + "\\..\\..\\" + "x" * 3000
    with Client(api_key=KEY, base_url=hostile.url, run_dir=run_dir, retry=NO_RETRY) as client:
        result = client.generate(prompt)
    assert result.path.resolve().is_relative_to(run_dir.resolve())
    assert len(result.path.name.encode()) < 255
