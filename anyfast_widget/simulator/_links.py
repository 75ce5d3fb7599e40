"""The download host's files: results published under signed links that expire, like presigned storage URLs."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

#: Published files kept at most, in bytes: past it the oldest links answer as expired.
MAX_STORED_BYTES = 512_000_000

_PATH = re.compile(r"/files/([A-Za-z0-9_-]+)\.(png|jpg)")


@dataclass(frozen=True)
class Download:
    """What the download host answers for one GET."""

    status: int
    body: bytes
    content_type: str


def _s3_error(status: int, code: str, message: str, **extra: str) -> Download:
    items = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{items}</Error>'
    return Download(status, body.encode(), "application/xml")


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LinkStore:
    """Published results by token, each link signed with a key only this store knows. Thread-safe."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._files: OrderedDict[str, tuple[bytes, str, float]] = OrderedDict()
        self._bytes = 0

    def _signature(self, token: str, expires: int) -> str:
        return hmac.new(self._key, f"{token}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def publish(self, data: bytes, output_format: str, origin: str, ttl: float) -> str:
        """Store ``data`` and return its link on ``origin``, valid for ``ttl`` seconds."""
        token = secrets.token_urlsafe(16)
        now = time.time()
        expires_at = now + ttl
        with self._lock:
            self._forget_expired(now)
            self._files[token] = (data, "image/jpeg" if output_format == "jpeg" else "image/png", expires_at)
            self._bytes += len(data)
            while self._bytes > MAX_STORED_BYTES and len(self._files) > 1:
                self._bytes -= len(self._files.popitem(last=False)[1][0])
        stamp = int(expires_at)
        ext = "jpg" if output_format == "jpeg" else "png"
        return f"{origin}/files/{token}.{ext}?expires={stamp}&signature={self._signature(token, stamp)}"

    def _forget_expired(self, now: float) -> None:
        # Links are published in order of expiry only while the ttl is unchanged, so look at all of them.
        for token in [t for t, (_, _, expires_at) in self._files.items() if expires_at <= now]:
            self._bytes -= len(self._files.pop(token)[0])

    def get(self, path: str, query: str) -> Download:
        """The answer for ``GET path?query``: the file, or an S3-style XML error."""
        match = _PATH.fullmatch(path)
        params = {k: v[0] for k, v in parse_qs(query).items()}
        stamp_text = params.get("expires", "")
        if not match or not stamp_text.isdigit() or "signature" not in params:
            return _s3_error(403, "AccessDenied", "Query-string authentication requires the expires and signature parameters.")
        token, stamp = match[1], int(stamp_text)
        if not hmac.compare_digest(params["signature"], self._signature(token, stamp)):
            return _s3_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
            )
        with self._lock:
            stored = self._files.get(token)
        now = time.time()
        # A correctly signed link whose file is gone was forgotten because it expired.
        if stored is None or now >= stored[2]:
            return self.expired(stamp)
        return Download(200, stored[0], stored[1])

    @staticmethod
    def expired(stamp: float | None = None) -> Download:
        now = time.time()
        return _s3_error(
            403, "AccessDenied", "Request has expired", Expires=_iso(now if stamp is None else stamp), ServerTime=_iso(now)
        )
