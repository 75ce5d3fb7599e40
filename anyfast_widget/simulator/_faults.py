"""Failures on demand: what the next API request or download does instead of answering well.

Faults are queued (``Simulator.fail_next``) and taken in order, one per request,
from any thread; a seeded random ``failure_rate`` adds transient failures for
load tests.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

#: API fault kinds and what each does. Options are the fields of :class:`Fault`.
FAULT_KINDS: dict[str, str] = {
    "429": "rate limited; with retry_after (seconds) a Retry-After header says when to come back",
    "500": "a JSON server_error",
    "502": "a JSON server_error",
    "503": "a JSON server_error (overloaded)",
    "504": "a JSON server_error (timed out upstream)",
    "html": "an HTML error page from a proxy, with status (default 502)",
    "drop": "the connection closes without an answer",
    "drop_mid_body": "the real answer's headers and half its body, then the connection closes",
    "malformed_json": "200 with a body that is not whole JSON",
    "slow_body": "the real answer, its body dribbled out in chunks (chunks, delay seconds apart)",
    "stall": "no answer for seconds, then the connection closes (trips client timeouts)",
    "truncated_b64": "200 whose b64_json is cut to half (still valid base64 of half a file)",
    "invalid_b64": "200 whose b64_json holds characters base64 does not have",
    "wrong_format": "200 with a JPEG when PNG was asked for, and the other way round",
}

#: Download-host fault kinds (queued as ``"download_" + kind``).
DOWNLOAD_FAULT_KINDS: dict[str, str] = {
    "expired": "403 with the storage host's 'Request has expired' XML, however fresh the link",
    "hang": "no answer for seconds, then the connection closes",
    "500": "500 with the storage host's XML InternalError",
}

#: API faults that alter the real answer, so the request is validated and rendered first.
ANSWER_FAULTS = frozenset({"drop_mid_body", "slow_body", "truncated_b64", "invalid_b64", "wrong_format"})


@dataclass(frozen=True)
class Fault:
    """One scripted failure. Only the options its kind uses matter."""

    kind: str
    retry_after: float | None = None  # 429: seconds for the Retry-After header; None sends none
    seconds: float = 5.0  # stall, download hang: how long nothing is said
    status: int = 502  # html: the proxy's status
    chunks: int = 8  # slow_body: how many pieces the body comes in
    delay: float = 0.05  # slow_body: seconds between pieces

    def __post_init__(self) -> None:
        # Options may come from JSON (the admin endpoint): coerce and check them here, once.
        def number(name: str, value: object, minimum: float) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise TypeError(f"{name} must be a number, not {value!r}")
            result = float(value)  # a string that is no number raises ValueError
            if not result >= minimum:
                raise ValueError(f"{name} must be at least {minimum}, not {value!r}")
            return result

        if self.retry_after is not None:
            object.__setattr__(self, "retry_after", number("retry_after", self.retry_after, 0))
        object.__setattr__(self, "seconds", number("seconds", self.seconds, 0))
        object.__setattr__(self, "delay", number("delay", self.delay, 0))
        object.__setattr__(self, "chunks", int(number("chunks", self.chunks, 1)))
        status = int(number("status", self.status, 400))
        if status > 599:
            raise ValueError(f"status must be an HTTP error status (400-599), not {self.status!r}")
        object.__setattr__(self, "status", status)

    @classmethod
    def options(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "kind")

    def spec(self) -> dict[str, object]:
        """JSON-ready: the kind and the options that differ from their defaults."""
        defaults = {f.name: f.default for f in fields(self)}
        return {"kind": self.kind, **{k: getattr(self, k) for k in self.options() if getattr(self, k) != defaults[k]}}


#: What ``failure_rate`` draws from unless told otherwise, as a busy gateway fails:
#: half rate limits that say when to retry, half overloads.
DEFAULT_TRANSIENT: tuple[Fault, ...] = (Fault("429", retry_after=0.05), Fault("503"))

#: Every kind of transient failure, for load tests (``failure_kinds=ALL_TRANSIENT``): rate limits
#: with a short and a longer Retry-After and without one, an overload, a proxy's HTML page, and
#: connections dropped before and during the answer.
ALL_TRANSIENT: tuple[Fault, ...] = (
    Fault("429", retry_after=0.3),
    Fault("429", retry_after=0.8),
    Fault("429"),
    Fault("503"),
    Fault("html", status=502),
    Fault("drop"),
    Fault("drop_mid_body"),
)


def api_fault(spec: Fault | str | int | Mapping[str, object]) -> Fault:
    """An API fault from a :class:`Fault`, a kind (``"503"``) or a dict (``{"kind": "429", "retry_after": 0.3}``).

    Raises ValueError for an unknown kind or option or a value out of range, TypeError for a value of the wrong type.
    """
    if isinstance(spec, Fault):
        spec = spec.spec()  # checked like any other
    if isinstance(spec, Mapping):
        options: dict[str, object] = {k: v for k, v in spec.items() if k != "kind"}
        if "kind" not in spec:
            raise ValueError(f"a fault needs a 'kind', got {dict(spec)!r}")
        kind: object = spec["kind"]
    elif isinstance(spec, (str, int)) and not isinstance(spec, bool):
        kind, options = spec, {}
    else:
        raise TypeError(f"a fault is a kind or a dict with 'kind' and options, not {spec!r}")
    kind = str(kind)
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown API fault {kind!r}; known kinds: {', '.join(FAULT_KINDS)}")
    unknown = set(options) - set(Fault.options())
    if unknown:
        raise ValueError(f"unknown fault option(s) {', '.join(sorted(unknown))}; known: {', '.join(Fault.options())}")
    return Fault(kind, **options)  # type: ignore[arg-type]


class FaultPlan:
    """The queued faults for API requests and for downloads, and the random ones. Thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._api: deque[Fault] = deque()
        self._downloads: deque[Fault] = deque()
        self._random = random.Random(seed)

    def add(self, kind: str | int, count: int = 1, **options: object) -> None:
        """Queue ``count`` faults of ``kind`` (a FAULT_KINDS key, or ``"download_"`` + a DOWNLOAD_FAULT_KINDS key).

        Raises ValueError for an unknown kind or option or a value out of range, TypeError for a value of the wrong type.
        """
        kind = str(kind)
        if kind.startswith("download_") and kind[len("download_") :] in DOWNLOAD_FAULT_KINDS:
            kind, queue = kind[len("download_") :], self._downloads
        elif kind in FAULT_KINDS:
            queue = self._api
        else:
            known = ", ".join([*FAULT_KINDS, *(f"download_{k}" for k in DOWNLOAD_FAULT_KINDS)])
            raise ValueError(f"unknown fault {kind!r}; known kinds: {known}")
        unknown = set(options) - set(Fault.options())
        if unknown:
            raise ValueError(f"unknown fault option(s) {', '.join(sorted(unknown))}; known: {', '.join(Fault.options())}")
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be a whole number, not {count!r}")
        if count < 1:
            raise ValueError(f"count must be a whole number of at least 1, not {count!r}")
        fault = Fault(kind, **options)  # type: ignore[arg-type]
        with self._lock:
            queue.extend([fault] * count)

    def next_api(self, failure_rate: float = 0.0, kinds: Sequence[Fault] = DEFAULT_TRANSIENT) -> Fault | None:
        """The fault for the API request being answered now, if any: queued first, then one of ``kinds``
        (equally likely) for a ``failure_rate`` share of requests."""
        with self._lock:
            if self._api:
                return self._api.popleft()
            if failure_rate > 0 and kinds and self._random.random() < failure_rate:
                return kinds[int(self._random.random() * len(kinds))]
        return None

    def next_download(self) -> Fault | None:
        with self._lock:
            return self._downloads.popleft() if self._downloads else None

    def pending(self) -> list[str]:
        """The queued kinds, API faults first, in the order they will happen."""
        with self._lock:
            return [f.kind for f in self._api] + [f"download_{f.kind}" for f in self._downloads]

    def clear(self) -> None:
        with self._lock:
            self._api.clear()
            self._downloads.clear()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random = random.Random(seed)
