"""One AsyncClient per event loop, for the widgets: an httpx client cannot move between loops.

A notebook runs the studio's and the grids' requests on the kernel's loop; a script
runs each ``run()`` in a loop of its own (``asyncio.run``), which ends with it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ._base import DEFAULT_MAX_CONNECTIONS
from ._clients import AsyncClient
from ._config import Settings

logger = logging.getLogger("anyfast_widget")


class ClientPerLoop:
    """The client to use on the running loop: the one given, or one made from ``settings`` for each loop.

    ``options`` are the other arguments of those clients (``run_dir`` for a store
    already open, ``timeout``, ``retry``). The key stays wrapped in the settings: no
    repr, vars() or pickle of the widget holding this can show it.
    """

    def __init__(self, settings: Settings | None = None, *, client: AsyncClient | None = None, **options: Any) -> None:
        if (settings is None) == (client is None):
            raise TypeError("give either a client or the settings to make one from")
        self._given = client
        self._settings = settings
        self._options = options
        self._made: dict[int, tuple[asyncio.AbstractEventLoop, AsyncClient]] = {}
        self._warned = False  # that a given client opens fewer connections than are asked for

    def _make(self, connections: int) -> AsyncClient:
        assert self._settings is not None
        options = {"run_dir": self._settings.run_dir, **self._options}
        options["max_connections"] = max(connections, options.get("max_connections", DEFAULT_MAX_CONNECTIONS))
        return AsyncClient(self._settings.require_key(), base_url=self._settings.base_url, **options)

    def get(self, *, connections: int = 0) -> AsyncClient:
        """The client for the running event loop (made on first use); call it from inside the loop.

        ``connections``: how many requests the caller sends at once. A client made for it opens
        that many connections (or its usual number, if more), so that no request waits in its
        pool's queue: httpx's pool looks at every connection for every request queued there,
        which costs milliseconds per request at a hundred connections. A given client is used as it is
        (with a warning, once, if it opens fewer).
        """
        if self._given is not None:
            if connections > self._given.max_connections and not self._warned:
                self._warned = True
                logger.warning(
                    "The client given opens at most %d connections, and %d requests are sent at once: the rest wait for "
                    "a connection. Make it with AsyncClient(max_connections=%d).",
                    self._given.max_connections, connections, connections,
                )  # fmt: skip
            return self._given
        loop = asyncio.get_running_loop()
        # A loop that has ended took its client's connections with it: forget both.
        self._made = {key: pair for key, pair in self._made.items() if not pair[0].is_closed()}
        if id(loop) not in self._made:
            self._made[id(loop)] = (loop, self._make(connections))
        return self._made[id(loop)][1]

    async def close_for_loop(self) -> None:
        """Close the client made for the running loop, before the loop ends (a given client is the caller's to close)."""
        pair = self._made.pop(id(asyncio.get_running_loop()), None)
        if pair is not None:
            await pair[1].close()
