"""Response bodies as they arrive: size-capped, and with the image decoded on the way in.

A 200 from the API is a few hundred bytes of JSON around megabytes of base64.
:class:`ImageBody` decodes that base64 chunk by chunk while the rest of the body
is still on the wire (with pybase64's SIMD decoder, some 30 times faster than the
standard library's), and hands the JSON parser only the small remainder. Both
clients feed it from their read loops; it does no I/O itself.

Bodies are fed as they come off the wire (``iter_raw``), still compressed: a gzip
or deflate body is inflated here a bounded piece at a time, so the size cap counts
decoded bytes and a compression bomb never gets further than the cap. (httpx's own
decoders inflate each network read whole: one read of nested gzip can become
terabytes.) A body must also arrive whole within ``seconds`` of its start, so a
server that trickles a byte at a time, never tripping a read timeout, is still cut off.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import pybase64

from ..core import AnyfastError

_B64_KEY = re.compile(rb'"b64_json"\s*:\s*"')
_HEAD_LIMIT = 64 * 1024  # the key comes early; past this, stop looking
# Content-Encodings we ask for (Accept-Encoding) and inflate; 32 + 15 window bits read a gzip or zlib header.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 32 + zlib.MAX_WBITS, "x-gzip": 32 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}
_PIECE = 64 * 1024  # at most this many inflated bytes at a time: the most a body can overshoot its cap


class Body:
    """Collects a body and stops a server that sends more than ``limit`` (decoded) bytes.

    ``malformed(text)`` makes the error for a body that cannot be decoded, and
    ``too_slow(seconds)`` the one for a body not whole within ``seconds`` of :meth:`start`.
    """

    def __init__(
        self,
        limit: int,
        too_big: Callable[[int], AnyfastError],
        *,
        malformed: Callable[[str], AnyfastError] = AnyfastError,
        seconds: float | None = None,
        too_slow: Callable[[float], AnyfastError] | None = None,
    ) -> None:
        self.limit, self.too_big, self.malformed = limit, too_big, malformed
        self.seconds, self.too_slow = seconds, too_slow
        self._chunks: list[bytes] = []
        self.total = 0
        self._deadline: float | None = None
        self._encoding = ""
        self._inflater: zlib._Decompress | None = None

    def start(self, headers: Mapping[str, str]) -> None:
        """Refuse at once a body whose declared length is over the limit, or whose encoding was not asked for."""
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            raise self.too_big(int(declared))
        if self.seconds is not None:
            self._deadline = time.monotonic() + self.seconds
        self._encoding = headers.get("content-encoding", "").strip().lower()
        if self._encoding in _WBITS:
            self._inflater = zlib.decompressobj(_WBITS[self._encoding])
        elif self._encoding not in ("", "identity"):
            raise self.malformed(f"the body is encoded as {self._encoding!r}; only one layer of gzip or deflate was asked for")

    def add_raw(self, chunk: bytes) -> None:
        """A chunk as it came off the wire: inflated (a bounded piece at a time) if compressed, then added."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise self.too_slow(self.seconds) if self.too_slow else self.malformed("the body did not arrive in time")
        if self._inflater is None:
            self.add(chunk)
            return
        data = chunk
        while True:
            try:
                piece = self._inflater.decompress(data, _PIECE)
            except zlib.error as exc:
                raise self.malformed(f"its {self._encoding} compression is broken ({exc})") from None
            if piece:
                self.add(piece)
            data = self._inflater.unconsumed_tail
            if not data and len(piece) < _PIECE:
                return

    def finish(self) -> None:
        """The body has ended: whatever the inflater still holds is added."""
        if self._inflater is not None:
            self.add_raw(b"")
            if rest := self._inflater.flush():
                self.add(rest)

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > self.limit:
            raise self.too_big(self.total)
        self._chunks.append(chunk)

    def raw(self) -> bytes:
        return b"".join(self._chunks)


class ImageBody(Body):
    """A body that may carry ``"b64_json": "<base64>"``, decoded as it streams in.

    Base64 holds no quotes or escapes, so the string ends at the next quote. If the
    body has any other shape (an escape inside the string, bad base64, no key),
    :meth:`split` returns None and the caller parses :meth:`raw` the ordinary way.
    """

    def __init__(self, limit: int, too_big: Callable[[int], AnyfastError], **options: Any) -> None:
        super().__init__(limit, too_big, **options)
        self._state = "head"  # then "image", then "tail"; "off" once the shape is unusual
        self._head = bytearray()
        self._tail = bytearray()
        self._carry = b""
        self._padded = False  # an "=" was seen: the image's base64 is over
        self._decoded: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        super().add(chunk)
        if self._state == "head":
            searched_from = max(0, len(self._head) - 32)
            self._head += chunk
            found = _B64_KEY.search(self._head, searched_from)
            if found is None:
                if len(self._head) > _HEAD_LIMIT:
                    self._state = "off"
                return
            chunk = bytes(self._head[found.end() :])
            del self._head[found.end() :]
            self._state = "image"
        if self._state == "image":
            end = chunk.find(b'"')
            self._decode(chunk if end < 0 else chunk[:end], final=end >= 0)
            if end >= 0 and self._state == "image":
                self._state = "tail"
                self._tail += chunk[end:]
        elif self._state == "tail":
            self._tail += chunk

    def _decode(self, text: bytes, final: bool) -> None:
        pad = text.find(b"=")
        if self._padded and text:
            pad = 0  # after padding only more padding may come
        if b"\\" in text or (pad >= 0 and text[pad:].strip(b"=")):
            # An escape, or data after padding (which strict base64 refuses but a
            # chunk-by-chunk decode would not notice): leave it to the exact parse.
            self._state = "off"
            return
        self._padded = self._padded or pad >= 0
        # Base64 decodes in groups of 4 characters. The 1-3 left over from the last
        # chunk are completed from the start of this one; the rest of the chunk is
        # decoded through a memoryview, so its megabytes are never copied first.
        view = memoryview(text)
        pieces: list[bytes | memoryview] = []
        if self._carry:
            take = 4 - len(self._carry)
            group, view = self._carry + bytes(view[:take]), view[take:]
            if len(group) < 4 and not final:
                self._carry = group
                return
            pieces.append(group)
        cut = len(view) if final else len(view) - len(view) % 4
        if cut:
            pieces.append(view[:cut])
        try:
            self._decoded += [pybase64.b64decode(piece, validate=True) for piece in pieces]
        except ValueError:
            self._state = "off"
            return
        self._carry = bytes(view[cut:])

    def split(self) -> tuple[bytes, bytes] | None:
        """(the JSON with an empty string for the image, the image's bytes), or None."""
        if self._state != "tail":
            return None
        return bytes(self._head) + bytes(self._tail), b"".join(self._decoded)
