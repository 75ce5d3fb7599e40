"""The :class:`Simulator`: two listeners (the API and its download host), its knobs, and what it recorded."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from typing import Any, Self

from ._api import ApiHandler
from ._downloads import DownloadHandler
from ._faults import DEFAULT_TRANSIENT, Fault, FaultPlan, api_fault
from ._links import LinkStore
from ._rate_limit import RateLimiter
from ._records import RecordedRequest
from ._serving import Server, make_server


def _number(name: str, value: object, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {value!r}")
    if not (low <= value and (high is None or value <= high)):
        bounds = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise ValueError(f"{name} must be {bounds}, not {value!r}")
    return float(value)


class Simulator:
    """A local stand-in for the Anyfast image API, over real HTTP.

    ``with Simulator() as sim:`` serves the API on ``sim.base_url`` (no ``/v1``: clients
    append ``/v1/images/...``) and ``url`` results on ``sim.download_url``, a second
    origin playing the presigned storage host. Clients must send
    ``Authorization: Bearer {sim.api_key}`` (a random ``sk-sim-...`` key unless given).

    Knobs, plain attributes that may change while it serves (or all at once with
    :meth:`configure`, which checks them):

    - ``latency``: seconds from a request's arrival to its successful answer;
    - ``url_ttl``: seconds a download link lives, then 403 with S3-style XML;
    - ``leak`` (0-1): how much an edit changes pixels outside its mask (0: none at all);
    - ``moderation_trigger``: a word (any case) that gets a prompt refused with
      ``moderation_blocked``, unless a generation sends ``moderation="low"``; "" disables;
    - ``refuse_masks``: answer every masked edit as an account without the Direct group;
    - ``rate_limit`` (requests a second, 0: none), ``rate_burst`` (requests the bucket holds, None: one
      second's worth) and ``max_concurrent`` (requests answered at once, 0: none): per API key, a request
      over either is refused with 429 and a true Retry-After (see :mod:`._rate_limit`). ``extra_keys``
      are keys it accepts besides ``api_key``, each limited on its own;
    - ``variation`` (0-1): how much a repeated generation differs from the last one
      with the same prompt, quality and size (the real model has no seed; 0: identical).
      The first answer to a request is always the same picture;
    - ``failure_rate`` (0-1): a share of API requests answered with a transient failure,
      drawn from an RNG seeded with ``seed``;
    - ``failure_kinds``: the failures ``failure_rate`` picks from, equally likely: kinds
      (``"503"``, ``"drop"``) or dicts with options (``{"kind": "429", "retry_after": 0.3}``);
      by default a 429 with a 0.05 s Retry-After, and a 503;
    - ``fast``: the fast path for load (off by default): every generation of a size and format is
      one picture painted once, made a distinct file by a text chunk holding its prompt and request
      id (see :mod:`._fast`); hundreds a second, where painting each gives about 18.

    ``workers`` threads answer API requests (8 more serve downloads): a request waits for one once its
    headers are in, while one thread per host watches every idle connection. A request waiting out
    ``latency`` does not hold one: 128 requests at once with 1 s latency take about 1 s.
    The limits (timeouts, connections; the body size in :mod:`._http`) are in :mod:`._serving`.

    :meth:`fail_next` queues scripted faults; :attr:`requests`, :attr:`api_requests`
    and :attr:`download_requests` show what arrived. The same controls are served over
    HTTP under ``/_simulator/`` for a process that only has the URL.
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
        rate_limit: float = 0.0,
        rate_burst: float | None = None,
        max_concurrent: int = 0,
        extra_keys: Sequence[str] = (),
        failure_rate: float = 0.0,
        failure_kinds: Sequence[Fault | str | dict[str, Any]] = DEFAULT_TRANSIENT,
        variation: float = 0.25,
        seed: int = 0,
        workers: int = 24,
        fast: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.api_key = api_key or f"sk-sim-{secrets.token_hex(16)}"
        self.latency = 0.0
        self.url_ttl = 300.0
        self.leak = 0.0
        self.moderation_trigger = "blockme"
        self.refuse_masks = False
        self.rate_limit, self.rate_burst, self.max_concurrent = 0.0, None, 0
        if isinstance(extra_keys, str) or not all(isinstance(k, str) and k.strip() for k in extra_keys):
            raise TypeError("extra_keys must be a list of non-empty keys")
        self.extra_keys: tuple[str, ...] = tuple(extra_keys)
        self.failure_rate = 0.0
        self.failure_kinds: tuple[Fault, ...] = DEFAULT_TRANSIENT
        self.variation = 0.25
        self.fast = False
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
        self.workers = workers
        self._faults = FaultPlan(seed)
        self.configure(
            latency=latency,
            url_ttl=url_ttl,
            leak=leak,
            moderation_trigger=moderation_trigger,
            refuse_masks=refuse_masks,
            rate_limit=rate_limit,
            rate_burst=rate_burst,
            max_concurrent=max_concurrent,
            failure_rate=failure_rate,
            failure_kinds=failure_kinds,
            variation=variation,
            fast=fast,
        )
        self._links = LinkStore()
        self._rate_limiter = RateLimiter()
        self._lock = threading.Lock()
        self._variants: dict[tuple[object, ...], int] = {}
        self._records: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._servers: list[Server] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> Self:
        """Start serving (both listeners); returns self. Starting a started simulator does nothing."""
        if self._servers:
            return self
        self._stopping.clear()
        # The download host needs few workers: a download is a dictionary look-up (or a scripted hang).
        for handler, port, workers in ((ApiHandler, self.port, self.workers), (DownloadHandler, 0, 8)):
            try:
                server = make_server(self.host, port, handler, self, workers)
            except OSError:
                self.stop()
                raise
            thread = threading.Thread(target=server.serve, name=f"anyfast-sim-{handler.host_role}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving, end open connections (and any stall in progress), free the ports."""
        self._stopping.set()
        for server in self._servers:
            server.wake()
        for thread in self._threads:
            thread.join(5)
        for server in self._servers:
            server.server_close()
        self._servers, self._threads = [], []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _origin(self, index: int) -> str:
        if not self._servers:
            raise RuntimeError("the simulator is not running; call start() or use it in a with block")
        host, port = self._servers[index].server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """Where the API answers, e.g. ``http://127.0.0.1:54321`` (clients append ``/v1/images/...``)."""
        return self._origin(0)

    @property
    def download_url(self) -> str:
        """The separate origin that serves ``url`` results, as a presigned storage host would."""
        return self._origin(1)

    def __repr__(self) -> str:
        return f"<Simulator {self.base_url if self._servers else 'stopped'}>"

    def fail_next(self, kind: str | int, count: int = 1, **options: Any) -> None:
        """Make the next ``count`` API requests fail as ``kind``, in order, before any other queued later.

        ``kind`` is a key of ``FAULT_KINDS`` (``"429"``, ``"503"``, ``"html"``, ``"drop"``,
        ``"stall"``, ``"slow_body"``, ...), or ``"download_expired"``, ``"download_hang"``,
        ``"download_500"`` for the next downloads. ``options`` are :class:`Fault`'s fields:
        ``retry_after`` (429), ``seconds`` (stall, hang), ``status`` (html), ``chunks`` and
        ``delay`` (slow_body). Faults hit requests that passed the key check.
        Raises ValueError for an unknown kind or option, TypeError for an option of the wrong type.
        """
        self._faults.add(kind, count, **options)

    def _next_variant(self, request: tuple[object, ...]) -> int:
        """How many times this generation was asked for before (its repeat number)."""
        with self._lock:
            count = self._variants.get(request, 0)
            self._variants[request] = count + 1
        return count

    def pending_faults(self) -> list[str]:
        """Queued fault kinds, in the order they will happen (download ones prefixed ``download_``)."""
        return self._faults.pending()

    def configure(self, **settings: Any) -> None:
        """Change knobs by name, checking each (what the admin endpoint and the CLI call).

        Accepts latency, url_ttl, leak, moderation_trigger, refuse_masks, rate_limit, rate_burst, max_concurrent, failure_rate,
        failure_kinds, variation, fast and seed (re-seeds the failure RNG). Raises ValueError for an unknown name or a
        value out of range, TypeError for a value of the wrong type, before changing anything.
        """
        checked: dict[str, Any] = {}
        for name, value in settings.items():
            if name in ("latency", "url_ttl"):
                checked[name] = _number(name, value, 0)
            elif name in ("leak", "failure_rate", "variation"):
                checked[name] = _number(name, value, 0, 1)
            elif name == "moderation_trigger":
                if value is not None and not isinstance(value, str):
                    raise TypeError(f"moderation_trigger must be text, not {value!r}")
                checked[name] = value or ""
            elif name in ("refuse_masks", "fast"):
                if not isinstance(value, bool):
                    raise TypeError(f"{name} must be true or false, not {value!r}")
                checked[name] = value
            elif name == "rate_limit":
                checked[name] = _number(name, value, 0)
            elif name == "rate_burst":
                checked[name] = None if value is None else _number(name, value, 1)
            elif name == "max_concurrent":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"max_concurrent must be a whole number, not {value!r}")
                if value < 0:
                    raise ValueError(f"max_concurrent must be at least 0 (0: no limit), not {value!r}")
                checked[name] = value
            elif name == "failure_kinds":
                if isinstance(value, (str, bytes, dict)) or not isinstance(value, Sequence):
                    raise TypeError(f"failure_kinds must be a list of faults, not {value!r}")
                if not value:
                    raise ValueError("failure_kinds must name at least one fault (set failure_rate to 0 for none)")
                checked[name] = tuple(api_fault(spec) for spec in value)
            elif name == "seed":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"seed must be an integer, not {value!r}")
                checked[name] = value
            else:
                raise ValueError(
                    f"unknown setting {name!r}; known: latency, url_ttl, leak, moderation_trigger, refuse_masks, "
                    "rate_limit, rate_burst, max_concurrent, "
                    "failure_rate, failure_kinds, variation, fast, seed"
                )
        for name, value in checked.items():
            if name == "seed":
                self._faults.reseed(value)
            else:
                setattr(self, name, value)

    def settings(self) -> dict[str, Any]:
        """The knobs' current values."""
        return {
            "latency": self.latency,
            "url_ttl": self.url_ttl,
            "leak": self.leak,
            "moderation_trigger": self.moderation_trigger,
            "refuse_masks": self.refuse_masks,
            "rate_limit": self.rate_limit,
            "rate_burst": self.rate_burst,
            "max_concurrent": self.max_concurrent,
            "failure_rate": self.failure_rate,
            "failure_kinds": [fault.spec() for fault in self.failure_kinds],
            "variation": self.variation,
            "fast": self.fast,
        }

    def reset(self) -> None:
        """Forget recorded requests, queued faults and what each key used of its rate limit (knobs and published links stay)."""
        with self._lock:
            self._records.clear()
        self._faults.clear()
        self._rate_limiter.clear()

    def _wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the simulator stops."""
        self._stopping.wait(seconds)

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far (API, download and admin), in order of arrival."""
        with self._lock:
            return list(self._records)

    @property
    def api_requests(self) -> list[RecordedRequest]:
        """Requests to the API host, admin endpoints left out."""
        return [r for r in self.requests if r.host == "api"]

    @property
    def download_requests(self) -> list[RecordedRequest]:
        """Requests to the download host: a test can check that none carried the API key."""
        return [r for r in self.requests if r.host == "download"]

    def request_count(self, path: str | None = None) -> int:
        """API requests received, all or for one path (e.g. ``"/v1/images/edits"``)."""
        return sum(1 for r in self.api_requests if path is None or r.path == path)
