"""The connection loop both hosts share: a selector thread per host, a fixed pool of workers, and their limits.

The selector thread watches every connection nobody is answering (new, idle between
keep-alive requests, still sending its headers, lingering after a close) and hands one
to a worker only once a request's headers are in, so an idle connection costs no thread
and cannot keep a worker from an active one. A worker answers with the host's handler
(:class:`~._http.BaseHandler`), then waits a moment for the same client's next request
before it puts the connection back under watch. An answer that must wait (the simulator's
latency) is not waited for in a worker: the handler leaves the rest of it with the connection
(:meth:`_Connection.answer_later`), the worker moves on, and the selector thread hands the
connection back to a worker when it is due; so ``workers`` threads serve any number of
requests waiting out their latency at once. The limits are the constants below.
"""

from __future__ import annotations

import errno
import heapq
import io
import itertools
import math
import queue
import re
import select
import selectors
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from socketserver import _SocketWriter  # type: ignore[attr-defined]  # http.server's own unbuffered wfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._http import BaseHandler
    from ._simulator import Simulator

#: Seconds from connecting, or from the first byte of a kept-alive connection's next request, to the end of the headers.
HEADER_TIMEOUT = 5.0
#: Seconds a keep-alive connection may wait for its next request (clients give theirs up after 5: httpx, openai).
IDLE_TIMEOUT = 10.0
#: Seconds a request body may stop arriving (then 408 and close), or an answer stop leaving (then the connection ends).
IO_TIMEOUT = 10.0
#: Seconds what a client still sends after a closing answer (a refused body's rest) is read and dropped, so it gets the answer.
LINGER_SECONDS = 2.0
#: Open connections per host; one more closes the watched connection nearest its timeout, or is refused if none is.
MAX_CONNECTIONS = 2048

_PARK_SECONDS = 0.05  # how long a worker done with a request waits on its connection for the next one
_NEW, _HEAD, _IDLE, _LINGER, _BUSY, _CLOSED, _WAITING = range(7)  # where a connection is in its life
_MAX_HEAD = 65_538  # header bytes gathered ahead of a worker; past them http.server reads (and refuses) the rest
_FULL = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)  # accept() failing for want of resources
_VERSION = re.compile(rb"HTTP/(\d{1,10})\.\d{1,10}")
# Where the OS has them, sockets stay blocking with kernel timeouts (no poll before each read and write): a read
# gives up after _PARK_SECONDS (a worker waiting for a client's next request; a body read tries again until
# IO_TIMEOUT), a write after IO_TIMEOUT; the selector thread reads with MSG_DONTWAIT. Elsewhere (Windows)
# sockets switch between timeout modes.
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_KERNEL_TIMEOUTS = bool(_DONTWAIT) and sys.platform != "win32"
_READ_TIMEVAL = struct.pack("ll", 0, int(_PARK_SECONDS * 1_000_000))
_WRITE_TIMEVAL = struct.pack("ll", int(IO_TIMEOUT), int(IO_TIMEOUT % 1 * 1_000_000))


def _head_state(data: bytearray, start: int) -> int:
    """What ``data`` holds of a request: 0 not enough yet; 1 its whole header block; 2 enough for http.server to
    answer without it (a first line it refuses on sight), or more than :data:`_MAX_HEAD`."""
    if data.find(b"\n\r\n", start) >= 0 or data.find(b"\n\n", start) >= 0:
        return 1
    end = data.find(b"\n")
    if end >= 0:  # the request line is whole: only a well-formed one is followed by headers
        words = bytes(data[:end]).split()
        version = _VERSION.fullmatch(words[2]) if len(words) == 3 else None
        if not ((version and int(version[1]) < 2) or (words[:1] == [b"GET"] and len(words) == 2)):
            return 2
    return 2 if len(data) > _MAX_HEAD else 0


class _Connection(io.RawIOBase):
    """One client connection: its socket, the bytes read ahead of its handler, and where it is in its life.

    As a raw stream (its handler's ``rfile`` buffers it) it gives those bytes first, then the socket's.
    """

    def __init__(self, sock: socket.socket, address: Any) -> None:
        super().__init__()
        self.sock, self.address = sock, address
        self.pending = bytearray()
        self.state = _NEW
        self.deadline: float | None = None  # when the selector thread closes it (time.monotonic)
        self.head_deadline: float | None = None  # while a worker reads headers the selector thread did not see whole
        self.ready_at = 0.0  # time.time() when the request's headers were in: its arrival
        self.later: tuple[float, Callable[[], None]] | None = None  # (when, the rest of the answer): see answer_later
        self.exhausted = False  # reads end here: what is left is kept for the next request
        self.handler: BaseHandler | None = None
        self.rfile: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        pending = self.pending
        if pending:
            count = min(len(buffer), len(pending))
            buffer[:count] = pending[:count]
            del pending[:count]
            return count
        if self.exhausted:
            return 0
        if self.head_deadline is not None:
            left = self.head_deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request's headers did not arrive in time")
            self.sock.settimeout(left)
        elif _KERNEL_TIMEOUTS:  # the kernel gives up after _PARK_SECONDS; a body may pause for IO_TIMEOUT
            since = time.monotonic()
            while True:
                try:
                    return self.sock.recv_into(buffer)
                except BlockingIOError:
                    if time.monotonic() - since >= IO_TIMEOUT:
                        raise
        return self.sock.recv_into(buffer)

    def answer_later(self, seconds: float, finish: Callable[[], None]) -> None:
        """Have ``finish()`` (the rest of the answer) called by a worker in ``seconds``; no thread waits meanwhile.

        Called by a handler, which then returns: its worker leaves the connection to the selector thread."""
        self.later = (time.monotonic() + seconds, finish)

    def headers_read(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline = None
            self.sock.settimeout(None if _KERNEL_TIMEOUTS else IO_TIMEOUT)

    def take_leftover(self) -> None:
        """Keep what the handler's buffer read past its request (a pipelined next one) as pending bytes."""
        self.exhausted = True
        try:
            leftover = self.rfile.read()  # type: ignore[union-attr]
        finally:
            self.exhausted = False
        if leftover:
            self.pending = bytearray(leftover)


class Server:
    """A host: a listening socket, the selector thread's loop (:meth:`serve`), and ``workers`` threads that answer.

    The loop accepts connections, reads each request's headers without blocking, and closes
    connections whose time is up; a worker answers, then puts the connection back under
    watch (kept alive, or lingering before its close). ``server_close`` ends open
    connections too, and stops the workers. The lock guards the deadlines and the open set.
    """

    def __init__(self, address: tuple[str, int], handler: type[BaseHandler], sim: Simulator, workers: int) -> None:
        self.sim, self.handler_class = sim, handler
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.create_server(address, family=family, backlog=1024)
        self.server_address = self.socket.getsockname()
        self.socket.setblocking(False)
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.socket, selectors.EVENT_READ, None)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, self)
        # epoll and kqueue watch a socket registered while the loop waits on them; select and poll need a wake-up.
        self._direct = type(self._selector).__name__ in ("EpollSelector", "KqueueSelector", "DevpollSelector")
        self._stopped = self._closed = False
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()
        self._deadlines: list[tuple[float, int, _Connection]] = []  # a heap; entries a connection outlived are skipped
        self._due: list[tuple[float, int, _Connection]] = []  # a heap: answers waiting (state _WAITING), by when they are due
        self._order = itertools.count()
        self._planned = 0.0  # when the loop wakes at the latest, for want of events (time.monotonic)
        self._paused_until: float | None = None  # accepting paused: out of file descriptors
        self._scratch = bytearray(65536)
        self._ready: queue.SimpleQueue[_Connection | None] = queue.SimpleQueue()
        self._free: set[int] = set()  # the workers waiting for a request (a set: adding and removing are atomic)
        self._reserve = max(1, workers // 4)  # how many must wait, for one to wait a moment on its client instead
        self._workers = [
            threading.Thread(target=self._work, args=(i,), name="anyfast-sim-worker", daemon=True) for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def serve(self) -> None:
        """Accept and watch connections until :meth:`wake` is called (the selector thread's loop)."""
        wait = self._selector.select
        while not self._stopped:
            for key, _ in wait(self._expire()):
                if key.data is None:
                    self._accept()
                elif key.data is self:
                    try:
                        self._wake_reader.recv(4096)
                    except OSError:
                        pass
                elif key.data.state != _CLOSED:
                    self._receive(key.data)

    def wake(self) -> None:
        """Make :meth:`serve` return."""
        self._stopped = True
        self._signal()

    def _signal(self) -> None:
        try:
            self._wake_writer.send(b"\0")
        except OSError:
            pass

    def _expire(self) -> float | None:
        """Close the connections whose time is up; the seconds until the next one's is."""
        with self._lock:
            now = time.monotonic()
            heap = self._deadlines
            while heap and heap[0][0] <= now:
                deadline, _, conn = heapq.heappop(heap)
                if conn.deadline == deadline:
                    self._close(conn)
            due = self._due
            while due and due[0][0] <= now:
                conn = heapq.heappop(due)[2]
                if conn.state == _WAITING:  # (not closed meanwhile)
                    conn.state = _BUSY
                    self._ready.put(conn)
            if self._paused_until is not None and self._paused_until <= now:
                self._paused_until = None
                self._selector.register(self.socket, selectors.EVENT_READ, None)
            wait = min(heap[0][0] if heap else math.inf, due[0][0] if due else math.inf) - now
            wait = None if wait == math.inf else wait
            if self._paused_until is not None:
                wait = min(wait if wait is not None else 1.0, self._paused_until - now)
            self._planned = math.inf if wait is None else now + wait
            return wait

    def _accept(self) -> None:
        for _ in range(128):
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                with self._lock:
                    if exc.errno in _FULL and not self._evict():  # out of file descriptors, nothing to close: wait
                        self._selector.unregister(self.socket)
                        self._paused_until = time.monotonic() + 0.1
                return
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)  # headers and body may go out apart
                if _KERNEL_TIMEOUTS:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _READ_TIMEVAL)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _WRITE_TIMEVAL)
                else:
                    sock.settimeout(0.0)
            except OSError:
                sock.close()
                continue
            with self._lock:
                if len(self._open) >= MAX_CONNECTIONS and not self._evict():
                    sock.close()  # every connection is being answered: refused
                    continue
                conn = _Connection(sock, address)
                self._open.add(conn)
                conn.deadline = deadline = time.monotonic() + HEADER_TIMEOUT
                heapq.heappush(self._deadlines, (deadline, next(self._order), conn))
                self._selector.register(sock, selectors.EVENT_READ, conn)

    def _evict(self) -> bool:
        """Close the watched connection nearest its timeout, to make room (the lock held); False if none is."""
        heap = self._deadlines
        while heap:
            deadline, _, conn = heapq.heappop(heap)
            if conn.deadline == deadline:
                self._close(conn)
                return True
        return False

    def _receive(self, conn: _Connection) -> None:
        try:
            if conn.state == _LINGER:
                if conn.sock.recv_into(self._scratch, 0, _DONTWAIT):
                    return  # dropped: the rest of a body nobody will read
                data = b""
            else:
                data = conn.sock.recv(65536, _DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client hung up
            with self._lock:
                return self._close(conn)
        pending = conn.pending
        start = max(0, len(pending) - 2)
        pending += data
        head = _head_state(pending, start)
        if head:
            self._selector.unregister(conn.sock)
            if head == 2:  # the worker reads the rest of the headers, in the time they have left
                conn.head_deadline = conn.deadline if conn.state != _IDLE else time.monotonic() + HEADER_TIMEOUT
            conn.state, conn.deadline = _BUSY, None
            conn.ready_at = time.time()
            self._ready.put(conn)
        elif conn.state == _IDLE:  # a kept-alive connection's next request began: its headers get HEADER_TIMEOUT
            with self._lock:
                conn.state = _HEAD
                conn.deadline = deadline = time.monotonic() + HEADER_TIMEOUT
                heapq.heappush(self._deadlines, (deadline, next(self._order), conn))
        else:
            conn.state = _HEAD

    def _close(self, conn: _Connection) -> None:
        """Close a watched connection (the lock held)."""
        if conn.state == _CLOSED:
            return
        if conn.state != _BUSY:
            try:
                self._selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
        conn.state, conn.deadline = _CLOSED, None
        self._open.discard(conn)
        conn.sock.close()

    def _work(self, index: int) -> None:
        while True:
            self._free.add(index)
            conn = self._ready.get()
            self._free.discard(index)
            if conn is None:
                return
            try:
                self._answer(conn)
            except Exception:  # noqa: BLE001 - a worker must outlive any one connection
                self._discard(conn)

    def _answer(self, conn: _Connection) -> None:
        """Answer the request whose headers ``conn`` holds (and any the client sends right after), then watch it again."""
        sock, handler = conn.sock, conn.handler
        if handler is None:
            handler = conn.handler = self.handler_class.__new__(self.handler_class)
            handler.request = handler.connection = sock
            handler.client_address, handler.server, handler.wire = conn.address, self, conn
            handler.rfile = conn.rfile = io.BufferedReader(conn)
            handler.wfile = _SocketWriter(sock)
        later, conn.later = conn.later, None
        while not self._closed:
            if not _KERNEL_TIMEOUTS:
                sock.settimeout(IO_TIMEOUT)
            try:
                if later is not None:  # an answer that waited: its rest (the request was read and handled)
                    later[1]()
                    later = None
                else:
                    handler.close_connection = True
                    handler.handle_one_request()
            except Exception as exc:  # noqa: BLE001 - as socketserver does: report it, and end the connection
                handler.close_connection = True
                if not isinstance(exc, OSError):  # a client that hung up is normal here, not news
                    print(f"Exception while answering {conn.address}:", file=sys.stderr)
                    traceback.print_exc()
            conn.head_deadline = None
            if conn.later is not None:  # the handler left the rest of its answer for later
                return self._defer(conn)
            if handler.close_connection:
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    break
                return self._finish(conn, _LINGER, LINGER_SECONDS)
            conn.take_leftover()
            if not conn.pending:
                data = self._next_bytes(sock)
                if data == b"":
                    break  # the client hung up
                conn.pending += data or b""
            head = _head_state(conn.pending, 0) if conn.pending else 0
            if not head:
                return self._finish(conn, _HEAD, HEADER_TIMEOUT) if conn.pending else self._finish(conn, _IDLE, IDLE_TIMEOUT)
            if head == 2:
                conn.head_deadline = time.monotonic() + HEADER_TIMEOUT
            conn.ready_at = time.time()  # the next request, already here
        self._discard(conn)

    def _next_bytes(self, sock: socket.socket) -> bytes | None:
        """What the client sent next, waiting a moment for it if other workers are free; None if nothing yet.

        (Then a client sending one request after another is answered without a hand-over to the loop and back.)
        """
        wait = len(self._free) >= self._reserve and self._ready.empty()
        try:
            if _KERNEL_TIMEOUTS:
                return sock.recv(65536, 0 if wait else _DONTWAIT)  # a blocking read gives up after _PARK_SECONDS
            if wait:
                try:
                    if not select.select([sock], [], [], _PARK_SECONDS)[0]:
                        return None
                except ValueError:  # a descriptor number select() cannot watch: look without waiting
                    pass
            sock.settimeout(0.0)
            return sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""

    def _defer(self, conn: _Connection) -> None:
        """Leave ``conn`` (its answer to finish later) with the selector thread until the answer is due."""
        with self._lock:
            if self._closed:
                return self._discard(conn, locked=True)
            conn.state = _WAITING
            heapq.heappush(self._due, (conn.later[0], next(self._order), conn))  # type: ignore[index]
            wake = conn.later[0] < self._planned  # type: ignore[index]
        if wake:
            self._signal()

    def _finish(self, conn: _Connection, state: int, seconds: float) -> None:
        """Watch ``conn`` again, as ``state``, for up to ``seconds``."""
        if not _KERNEL_TIMEOUTS:
            conn.sock.settimeout(0.0)
        with self._lock:
            if self._closed:
                return self._discard(conn, locked=True)
            conn.state = state
            conn.deadline = deadline = time.monotonic() + seconds
            heapq.heappush(self._deadlines, (deadline, next(self._order), conn))
            wake = deadline < self._planned or not self._direct
        try:  # outside the lock: the loop may wake for it at once
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
        except (KeyError, ValueError, OSError):
            return  # closed meanwhile (to make room, or by server_close)
        if wake:
            self._signal()

    def _discard(self, conn: _Connection, locked: bool = False) -> None:
        """Close a connection no thread watches."""
        conn.state = _CLOSED
        if locked:
            self._open.discard(conn)
        else:
            with self._lock:
                self._open.discard(conn)
        conn.sock.close()

    def server_close(self) -> None:
        """Close the listening socket and every connection (ending any request being answered), and stop the workers."""
        with self._lock:
            self._closed = True
            for conn in list(self._open):
                if conn.state != _BUSY:
                    self._close(conn)
                    continue
                try:  # its worker closes it; this ends a read or a write it is blocked in
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.socket.close()
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()
        for _ in self._workers:
            self._ready.put(None)


def make_server(host: str, port: int, handler: type[BaseHandler], sim: Simulator, workers: int) -> Server:
    """A bound :class:`Server` for ``sim``, its workers started; serve with ``server.serve()``."""
    return Server((host, port), handler, sim, workers)
