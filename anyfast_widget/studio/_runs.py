"""A studio's runs: one request sent ``variants`` times at once, each variant a job the browser follows, one run at a time.

A variant that fails shows its error in its job and the others go on; cancelling
abandons the requests not finished (results already saved stay). Each result is
in the run store before it is shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from PIL import Image

from ..client import AsyncClient
from ..core import PreparedRequest, error_card
from ..store import ImageResult, RunStore
from ._after_edit import after_edit
from ._gallery import Gallery


class RunTraits(Protocol):
    """What shows a run: the studio's ``jobs``, ``notice`` and ``running`` traits."""

    jobs: list[dict[str, Any]]
    notice: dict[str, Any]
    running: bool


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What every variant of one run sends, and what is done with each answer."""

    prepared: PreparedRequest
    client: AsyncClient
    variants: int
    original: Image.Image | None  # the primary source as sent, to measure an edit against
    keep_outside: bool
    feather: float
    extended: dict[str, Any] | None = None  # the primary was outpainted: where its original lies (Source.extended)
    paid: Callable[[ImageResult], None] | None = None  # told of each answer as it is saved (the session's spend)


class Runner:
    """The runs of one studio: ``shown`` gets their progress, ``gallery`` their results, ``store`` keeps those."""

    def __init__(
        self, shown: RunTraits, store: RunStore, gallery: Gallery, finished: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._shown = shown
        self._store = store
        self._gallery = gallery
        self._finished = finished  # awaited once a run is over (the studio's static copy is renewed)
        self.task: asyncio.Task[list[ImageResult]] | None = None  # the run started on an event loop, if any
        self._variant_tasks: list[asyncio.Task[ImageResult | None]] = []

    @property
    def busy(self) -> bool:
        """Whether a run started with :meth:`start` is still going."""
        return self.task is not None and not self.task.done()

    def start(self, plan: Callable[[], Awaitable[RunPlan]]) -> asyncio.Task[list[ImageResult]]:
        """Start a run on the running event loop and return its task; RuntimeError while one is going."""
        if self.busy:
            raise RuntimeError("A run is already in progress; cancel() it or await it first.")
        self.task = asyncio.get_running_loop().create_task(self.run(plan))
        return self.task

    async def run(
        self, plan: Callable[[], Awaitable[RunPlan]], close_client: Callable[[], Awaitable[None]] | None = None
    ) -> list[ImageResult]:
        """Make the plan, send its variants at once and return the results that came; ``close_client`` at the end."""
        run = await plan()
        self._shown.notice = {}
        self._shown.jobs = [_queued_job(i + 1) for i in range(run.variants)]
        self._shown.running = True
        try:
            self._variant_tasks = [asyncio.create_task(self._run_variant(run, i)) for i in range(run.variants)]
            outcomes = await asyncio.gather(*self._variant_tasks, return_exceptions=True)
        finally:
            self._variant_tasks = []
            self._shown.running = False
            if close_client is not None:  # its event loop ends with this run
                await close_client()
        if self._finished is not None:
            await self._finished()
        return [o for o in outcomes if isinstance(o, ImageResult)]

    def cancel(self) -> None:
        """Cancel the variants not finished; callable from any thread."""
        for task in self._variant_tasks:
            # The button's message may arrive on another thread (a kernel subshell) than the run's loop.
            task.get_loop().call_soon_threadsafe(task.cancel)

    async def _run_variant(self, run: RunPlan, index: int) -> ImageResult | None:
        self._update_job(index, status="running", started_at=_now_ms())
        try:
            raw = await run.client.send(run.prepared)  # on disk and indexed when this returns
            if run.paid is not None:
                run.paid(raw)
            shown = await asyncio.to_thread(
                after_edit,
                self._store,
                raw,
                run.prepared.mask,
                run.original,
                keep=run.keep_outside,
                feather=run.feather,
                extended=run.extended,
            )
        except asyncio.CancelledError:
            self._update_job(index, status="cancelled", finished_at=_now_ms())
            raise
        except Exception as error:  # shown in the widget; the other variants go on
            self._update_job(index, status="error", finished_at=_now_ms(), error=error_card(error))
            raise
        if mismatch := raw.annotations.get("format_mismatch"):
            asked, received = mismatch["asked"].upper(), mismatch["received"].upper()
            self._shown.notice = {
                "kind": "warning",
                "title": "The API sent another format",
                "message": f"Asked for {asked}, got {received}: kept as it came ({raw.path.name}).",
                "hint": "Nothing to do; the image was paid for, so it is kept rather than refused.",
            }
        await self._gallery.add(shown)
        self._update_job(index, status="done", finished_at=_now_ms(), result_id=shown.id)
        return shown

    def _update_job(self, index: int, **changes: Any) -> None:
        self._shown.jobs = [{**job, **changes} if i == index else job for i, job in enumerate(self._shown.jobs)]


def _queued_job(variant: int) -> dict[str, Any]:
    """A job of the ``jobs`` trait, before its request goes out."""
    fields = ("started_at", "finished_at", "error", "result_id")
    return {"id": secrets.token_hex(4), "variant": variant, "status": "queued", **dict.fromkeys(fields)}


def _now_ms() -> float:
    return time.time() * 1000.0
