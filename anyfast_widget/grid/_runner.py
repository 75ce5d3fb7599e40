"""Sending a grid's requests: at most ``concurrency`` at a time (fewer while 429s say so), each slot's changes reported.

A result is on disk when its request returns; its picture is then dropped from
memory (a big grid must not hold every picture). ``concurrency`` bounds the requests
at the API: a request's place goes to the next once its image is in memory, while it
is saved. An edit with a mask gets its
change inside and outside the mask measured. A request moderation refuses is
remembered in the grid's state, so no later run sends it again. A cancel stops
what has not started; requests already under way finish and are kept.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from ..client import AsyncClient, ClientPerLoop
from ..core import AnyfastError, ModerationBlockedError, decode_image
from ..store import ImageResult, RunStore
from ._budget import Budget, paid
from ._model import Cell, Slot, SlotState
from ._pacing import Pacing
from ._progress import progress_bar
from ._state import GridState


class Sender:
    """Sends slots of a grid's cells with its clients, into its run store, telling ``changed`` of each step."""

    def __init__(self, clients: ClientPerLoop, store: RunStore, state: GridState, changed: Callable[[Cell, Slot], None]) -> None:
        self.clients = clients
        self.store = store
        self.state = state
        self.changed = changed
        self.cancelled = False
        self.pacing: Pacing | None = None  # the last run's: how far 429s brought its concurrency down
        self.budget: Budget | None = None  # the grid's, when it has one: each request reserves its price before it goes

    async def send(self, todo: list[tuple[Cell, Slot]], *, concurrency: int, progress: bool, close_client: bool = False) -> None:
        """Send every slot of ``todo``; ``close_client`` when the event loop ends with this run."""
        self.cancelled = False
        client = self.clients.get(connections=concurrency)  # a pool as big as the gate: no request queues in it
        bar = progress_bar(len(todo)) if progress and todo else None
        gate = self.pacing = Pacing(concurrency)
        try:
            await asyncio.gather(*(self._send_slot(client, gate, cell, slot, bar) for cell, slot in todo))
        finally:
            if bar is not None:
                bar.close()
            if close_client:
                await self.clients.close_for_loop()

    async def _send_slot(self, client: AsyncClient, gate: Pacing, cell: Cell, slot: Slot, bar: Any) -> None:
        async with gate.slot() as ticket:
            if self.cancelled:
                slot.status = SlotState.CANCELLED
                self.changed(cell, slot)
                return
            expected = cell.cost or 0.0
            if self.budget is not None and not self.budget.reserve(expected):
                slot.status = SlotState.OVER_BUDGET  # sending it would take the spend over the budget: left unsent
                self.changed(cell, slot)
                return
            slot.status, slot.error, slot.started = SlotState.RUNNING, None, time.time()
            self.changed(cell, slot)
            try:
                # On disk when it returns; the gate hears of every 429 on the way, and sends again one the client gave up on.
                # Its place goes to the next request as soon as the image is in: saving it needs no place.
                answered = functools.partial(gate.answered, ticket)
                result = await gate.send(
                    ticket, lambda heard: client.send(cell.prepared, on_failed_attempt=heard, on_answered=answered)
                )
                if cell.prepared.mask is not None and cell.primary is not None:
                    await asyncio.to_thread(_measure, self.store, result, cell)
            except ModerationBlockedError as error:
                slot.status, slot.error = SlotState.BLOCKED, error
                await asyncio.to_thread(self.state.remember_blocked, cell.prepared.request_hash, error.message)
            except asyncio.CancelledError:
                slot.status = SlotState.CANCELLED
                raise
            except AnyfastError as error:
                slot.status, slot.error = SlotState.ERROR, error
            else:
                # The image is on disk; a big grid must not hold every picture in memory.
                result.release()
                slot.status, slot.result = SlotState.DONE, result
            finally:
                if self.budget is not None:
                    self.budget.settle(expected, paid(slot, expected))
                slot.finished = time.time()
                if bar is not None:
                    bar.update(1)
                self.changed(cell, slot)


def _measure(store: RunStore, result: ImageResult, cell: Cell) -> None:
    """How much an edit changed inside and outside its mask, kept with the result."""
    if "mask_change" in result.annotations or cell.primary is None or cell.prepared.mask is None:
        return
    store.record_mask_change(result, decode_image(cell.primary.data), cell.prepared.mask)
