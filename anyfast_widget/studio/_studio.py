"""ImageStudio: the notebook widget, its synced traits and its Python API, with Python as the source of truth.

The browser (``js/studio/``, contract in ``js/README.md``) draws and collects: prompt
and settings, files, brush strokes as vectors. Python checks every setting with the
core's rules, rasterizes the strokes at the source's full resolution, sends the
requests, stores every result and tells the browser what to show. Everything the
buttons do is also a method here. The widget composes the pieces beside it: the
settings (``_settings``), the sources (``_sources``), the mask (``_mask_state``),
the runs (``_runs``), the gallery (``_gallery``) and the browser's messages
(``_messages``). Every value and message from the browser passes the checks of
``_limits`` first, and a bad one is refused whole with one notice.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import traitlets as t

from ..browser import BrowserWidget, StaticCopy, display_with_copy, separate
from ..client import AsyncClient, ClientPerLoop, RetryPolicy, Settings
from ..core import (
    MAX_SOURCES,
    AnyfastError,
    ConfigurationError,
    EncodedImage,
    PriceTable,
    Pricing,
    TokenPrices,
    ValidationError,
    error_card,
    prepare_edit,
    prepare_generation,
)
from ..store import ImageResult, RunStore
from ._gallery import Gallery
from ._limits import BROWSER_TRAITS, check_state, check_trait
from ._mask_api import MaskEditing
from ._mask_state import MaskState
from ._messages import BrowserMessages
from ._runs import Runner, RunPlan
from ._settings import (
    DEFAULT_PARAMS,
    MAX_VARIANTS,
    NO_KEY,
    NO_KEY_HINT,
    auto_size,
    endpoint_for,
    judge,
    tidy_params,
    variants_violations,
    wire_params,
)
from ._sources import Sources
from ._spend import Spend, settings_request
from ._static import StudioSummary, static_bundle, static_data

if TYPE_CHECKING:  # annotations only
    from ..core import ImageInput, MaskInput, PreparedRequest

_STATIC = Path(__file__).parent.parent / "static"
DEFAULT_BRUSH: dict[str, Any] = {
    "tool": "brush",
    "radius": 40.0,
    "mode": "paint",
    "opacity": 0.5,
    "visible": True,
    "colour": "#ff00ff",
    "outline": False,
    "tolerance": 32,
    "contiguous": True,
}
_UNSET = object()
logger = logging.getLogger("anyfast_widget")


class ImageStudio(MaskEditing, BrowserWidget):
    """A studio for the Anyfast image API in a notebook cell.

    Write a prompt and press Generate; add source images and it becomes Edit, with
    a brush to paint the area the model may change. Everything is also reachable
    from Python: ``prompt``, ``params``, ``sources``, ``mask``, ``run()``,
    ``results``, ``last``. Results are saved in the run store (``run_dir``) before
    they are shown, and the studio's history is read back from it.

    The API key stays in Python: it is never part of the widget's state.
    """

    _esm = _STATIC / "studio.js"
    _css = _STATIC / "studio.css"

    # Written by the browser and by Python.
    prompt = t.Unicode("").tag(sync=True)
    params = t.Dict().tag(sync=True)
    variants = t.Int(1).tag(sync=True)
    brush = t.Dict().tag(sync=True)
    mask_tools = t.Dict().tag(sync=True)

    # Written by Python only.
    endpoint = t.Unicode("generations").tag(sync=True)
    controls = t.List(t.Dict()).tag(sync=True)
    violations = t.List(t.Dict()).tag(sync=True)
    run_blocked = t.Unicode("").tag(sync=True)
    source_cards = t.List(t.Dict()).tag(sync=True)
    canvas_image = t.Bytes(b"").tag(sync=True)
    canvas_size = t.List(t.Int(), default_value=[0, 0]).tag(sync=True)
    mask_history = t.Dict({"undo": 0, "redo": 0}).tag(sync=True)
    coverage = t.Float(0.0).tag(sync=True)
    mask_checks = t.List(t.Dict()).tag(sync=True)
    jobs = t.List(t.Dict()).tag(sync=True)
    running = t.Bool(False).tag(sync=True)
    gallery = t.List(t.Dict()).tag(sync=True)
    gallery_more = t.Bool(False).tag(sync=True)
    limits = t.Dict({"variants": MAX_VARIANTS, "sources": MAX_SOURCES}, read_only=True).tag(sync=True)
    offline = t.Bool(False).tag(sync=True)  # talking to the built-in stand-in: the widget shows a badge
    key_missing = t.Bool(False).tag(sync=True)  # no key: the widget offers "Try offline"
    spend = t.Dict().tag(sync=True)  # the session's spend ("spent 0.42 of 5.00"), from _spend

    def __init__(
        self,
        prompt: str = "",
        *,
        sources: Sequence[ImageInput] | None = None,
        mask: MaskInput | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        run_dir: str | os.PathLike[str] | RunStore | None = None,
        client: AsyncClient | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        history: int = 24,
        variants: int = 1,
        offline: bool = False,
        prices: PriceTable | None = None,
        token_prices: TokenPrices | None = None,
        budget: float | None = None,
        **params: Any,
    ) -> None:
        """``params`` are request parameters (``size``, ``quality``, ``output_format``, ...).

        ``client`` is an AsyncClient to use; otherwise one is made from ``api_key``
        (or ``ANYFAST_API_KEY``), ``base_url``, ``run_dir``, ``timeout`` and ``retry``.
        ``history`` is how many past results of the run store the gallery starts with (and
        shows more of at each "Show more"). ``offline=True`` talks to the built-in
        stand-in server instead of the API: synthetic pictures, nothing paid, and a
        badge in the widget says so. Without a key the widget offers it; it never
        falls back to it by itself. ``prices`` and ``token_prices`` price each result (see
        :class:`Client`); ``budget`` caps the session's spend (it needs prices): the widget
        shows "spent 0.42 of 5.00", and a run whose expected cost is more than is left is
        refused before it is sent. Results in the history were paid for before and do not count.
        """
        unknown = set(params) - set(DEFAULT_PARAMS)
        if unknown:
            raise TypeError(f"ImageStudio() got unexpected parameters: {', '.join(sorted(unknown))}")
        if offline:
            if client is not None or api_key is not None or base_url is not None:
                raise TypeError("ImageStudio(offline=True) talks to the built-in stand-in: pass no client, api_key or base_url.")
            from ..simulator import offline_server  # only when asked for: a script never loads the stand-in

            server = offline_server()
            api_key, base_url = server.api_key, server.base_url
        self._client, self._timeout, self._retry = client, timeout, retry
        self._prices = {"prices": prices, "token_prices": token_prices}  # for the clients made here: each result priced
        self._spend = Spend(Pricing.of(prices, token_prices) or (client.pricing if client is not None else None), budget)
        if client is not None:
            self._settings: Settings | None = None
            self._clients = ClientPerLoop(client=client)
            self.store = client.store
        else:
            self._settings = settings = Settings.resolve(api_key, base_url, run_dir)
            self.store = settings.open_store()
            self._clients = ClientPerLoop(settings, run_dir=self.store, timeout=timeout, retry=retry, **self._prices)
        # The traits' observers below use these from the first trait set on.
        self._sources = Sources()
        self._mask = MaskState()
        self._mask_judged: tuple[bool, bool] | None = None
        self._gallery = Gallery(self.store, self, page=history or 24)
        self._static = StaticCopy(self._static_data)
        self._runner = Runner(self, self.store, self._gallery, finished=self._static.renew)
        super().__init__(
            prompt=prompt,
            params={**DEFAULT_PARAMS, **params},
            variants=variants,
            brush=dict(DEFAULT_BRUSH),
            mask_tools={"grow": 0, "feather": 4, "keep_outside": False},
        )
        self.on_msg(BrowserMessages(self, self._runner, self._gallery))
        self.observe(lambda _: self._static.changed(), names=["gallery", "endpoint", "source_cards", "offline"])
        if sources:
            self.sources = sources  # type: ignore[assignment]
        if mask is not None:
            self.mask = mask  # type: ignore[assignment]
        self._gallery.load_history(history)
        self.offline = offline
        self._refresh_settings()
        if not self.has_key:
            self.notice = {"kind": "warning", "title": "No API key", "message": NO_KEY, "hint": NO_KEY_HINT}

    def go_offline(self) -> None:
        """Talk to the built-in stand-in from now on (what "Try offline" does); only a studio without a key may."""
        if self.has_key:
            raise ConfigurationError("This studio has an API key: it talks to the API, never to the stand-in.")
        from ..simulator import offline_server

        server = offline_server()
        self._settings = Settings.resolve(server.api_key, server.base_url, self.store)
        options = {"timeout": self._timeout, "retry": self._retry, **self._prices}
        self._clients = ClientPerLoop(self._settings, run_dir=self.store, **options)
        self.offline, self.notice = True, {}
        self._refresh_settings()

    @property
    def has_key(self) -> bool:
        """Whether runs can be sent: an API key (or a client) was given, or the studio is offline."""
        return self._settings is None or self._settings.api_key is not None

    def close(self) -> None:
        """Close the widget; the history's previews still being made are dropped (they are made again when next shown)."""
        gallery = getattr(self, "_gallery", None)  # (ipywidgets closes a widget whose __init__ failed, too)
        if gallery is not None:
            gallery.close()
        static = getattr(self, "_static", None)
        if static is not None:
            static.close()
        super().close()

    def __repr__(self) -> str:
        counts = f"sources={len(self._sources)} results={len(self._gallery.results)}"
        return f"<ImageStudio {self.endpoint} {counts} run_dir={str(self.store.root)!r}>"

    def _static_data(self) -> dict[str, str]:
        results = list(self._gallery.results)
        return static_data(StudioSummary(self.endpoint, len(self._sources), len(results), self.offline), results)

    def _ipython_display_(self) -> None:
        """In IPython: the live view, then its static copy as an output of its own, kept up to date (``_static``)."""
        if not separate():
            display_with_copy(self._repr_mimebundle_(), None)
            return
        display_with_copy(super()._repr_mimebundle_(), self._static)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live view, and beside it its latest results as HTML for a notebook opened without a kernel (``_static``)."""
        results = list(self._gallery.results)
        summary = StudioSummary(self.endpoint, len(self._sources), len(results), self.offline)
        return static_bundle(super()._repr_mimebundle_(**kwargs), summary, results)

    def _check_browser_state(self, sync_data: dict[str, Any]) -> None:
        check_state(sync_data, self.keys)

    @t.validate(*sorted(BROWSER_TRAITS - {"params"}))
    def _check_browser_trait(self, proposal: t.Bunch) -> Any:
        return self._check(proposal["trait"].name, proposal["value"])

    def _check(self, name: str, value: Any) -> Any:
        """``value`` checked for trait ``name`` (``_limits``), unless it is what :meth:`set_state` has just checked."""
        if value is self._checked.get(name, _UNSET):
            return value
        return check_trait(name, value, browser=False)

    @property
    def sources(self) -> list[EncodedImage]:
        """The source images as they will be sent (PNG or JPEG), primary first. Assign a list to replace them."""
        return self._sources.encoded

    @sources.setter
    def sources(self, values: Sequence[ImageInput]) -> None:
        self._sources.replace(values)
        self._show_sources(keep_mask=False)

    def add_source(self, value: ImageInput, *, name: str | None = None, primary: bool = False) -> None:
        """Add one source image (last, or first with ``primary=True``); raises ValidationError if it is unusable."""
        self._sources.add(value, name=name, primary=primary)
        self._show_sources(keep_mask=not primary)

    def remove_source(self, index: int) -> None:
        """Remove the source at ``index`` (0 is the primary)."""
        self._sources.remove(index)
        self._show_sources(keep_mask=index != 0)

    def move_source(self, index: int, to: int) -> None:
        """Move the source at ``index`` to position ``to``; moving one to 0 makes it the primary."""
        self._sources.move(index, to)
        self._show_sources(keep_mask=0 not in (index, to))

    def use_as_source(self, result: ImageResult | str) -> None:
        """Put a result in front as the new primary source, for iterative editing.

        The mask stays when the result has the old primary's size, so the same area can be edited again.
        """
        if isinstance(result, str):
            result = self._gallery.find(result)
        old = self._sources.primary
        self._sources.put_first(result.data, name=result.path.name)
        new = self._sources.primary
        self._show_sources(keep_mask=old is not None and new is not None and old.encoded.size == new.encoded.size)

    def _show_sources(self, *, keep_mask: bool) -> None:
        """Show the sources as they now are; the mask stays if ``keep_mask`` and it still fits the primary."""
        primary = self._sources.primary
        with self.hold_sync():
            self.source_cards = self._sources.cards()
            self.canvas_image, self.canvas_size = self._sources.canvas_data, self._sources.canvas_size
            if keep_mask and primary is not None and self._mask.fits(primary.encoded.size):
                self._mask_changed(None, send=False)
            else:
                self._reset_mask(None, send=False)
            self._refresh_settings()
        self._send_mask(None)  # after the new canvas_size has reached the browser

    @t.observe("mask_tools")
    def _on_mask_tools(self, change: dict[str, Any]) -> None:
        grow = int((change["new"] or {}).get("grow", 0) or 0)
        if grow != self._mask.grow:
            self._mask.set_grow(grow)
            self._mask_changed(None)

    @t.validate("params")
    def _tidy_params(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return tidy_params(self._check("params", proposal["value"]))

    @t.observe("prompt", "params", "variants", "running")
    def _on_settings(self, change: dict[str, Any]) -> None:
        self._refresh_settings()

    def _refresh_settings(self) -> None:
        has_key = self.has_key
        self.key_missing = not has_key
        sources, mask_problems = self._sources.encoded, self._mask.problems(self._primary_encoded())
        request = settings_request(endpoint_for(sources), self._wire_params(), sources)
        judged = judge(self.prompt, self.params, self.variants, sources, mask_problems, has_key=has_key, running=self.running,
                       spend_problems=self._spend.problems(request, self.variants))
        with self.hold_sync():
            self.endpoint = judged.endpoint
            self.controls = judged.controls
            self.violations = judged.violations
            self.run_blocked = judged.run_blocked
            self.spend = self._spend.shown(self._next_run_cost(request))

    def _next_run_cost(self, request: PreparedRequest) -> float | None:
        """What a run of the current settings should cost (all its variants), or None if that cannot be said."""
        try:
            each = self._spend.expected(request)
        except ValidationError:
            return None
        return each * self.variants if each is not None else None

    @property
    def spent(self) -> float:
        """What this session's runs have cost so far (results of the history it started with not counted)."""
        return self._spend.spent

    def _paid(self, result: ImageResult, prepared: PreparedRequest) -> None:
        """A variant's answer was saved: count it, and show what is left (the next run may no longer fit)."""
        self._spend.add(result, prepared)
        self._refresh_settings()

    def _wire_params(self) -> dict[str, Any]:
        sources = self._sources.encoded
        return wire_params(self.prompt, self.params, endpoint_for(sources), auto_size(sources))

    def prepare(self) -> PreparedRequest:
        """The request the studio would send now, checked against every rule (ValidationError if not)."""
        wire = self._wire_params()
        prompt = wire.pop("prompt")
        if problems := variants_violations(self.variants):
            raise ValidationError(problems)
        if not self._sources:
            return prepare_generation(prompt, **wire)
        return prepare_edit(prompt, [s.data for s in self._sources.encoded], mask=self.mask_to_send, **wire)

    def run(self) -> Any:
        """Send the current request ``variants`` times at once; returns the results of this run.

        In a notebook (a running event loop) this starts the run in the background and
        returns the task: ``await studio.run()`` waits for it, and the kernel stays
        free meanwhile. Outside an event loop it blocks until the run is over.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._runner.run(self._plan_run, close_client=self._clients.close_for_loop))
        return self._runner.start(self._plan_run)

    def cancel(self) -> None:
        """Cancel the run: requests not finished are abandoned (results already saved stay)."""
        self._runner.cancel()

    def compare(self, **options: Any) -> Any:
        """A comparison grid (see :func:`anyfast_widget.compare`) that starts from the studio's settings.

        The studio's prompt, sources, mask (as it would be sent) and parameters are
        the defaults every cell shares; ``rows=``, ``cols=``, ``pages=`` and the rest
        are passed on. Results go to the studio's run store, priced with the studio's prices.
        The grid's spend is its own: pass ``budget=`` to cap it (the session's budget caps the studio's runs).
        """
        from ..grid import compare

        wire = self._wire_params()
        defaults: dict[str, Any] = {"prompt": wire.pop("prompt")}
        defaults.update({k: v for k, v in wire.items() if k != "model"})
        if self._sources:
            defaults.update(sources=self._sources.encoded, mask=self.mask_to_send)
        if self._settings is None:
            defaults["client"] = self._client
        else:
            defaults.update(api_key=self._settings.api_key, base_url=self._settings.base_url, run_dir=self.store)
        defaults.update({k: v for k, v in self._prices.items() if v is not None})
        return compare(**{**defaults, **options})

    @property
    def results(self) -> list[ImageResult]:
        """Every result the studio shows, newest first (its history from the run store included)."""
        return list(self._gallery.results)

    @property
    def last(self) -> ImageResult | None:
        """The newest result, or None."""
        return self._gallery.results[0] if self._gallery.results else None

    async def _plan_run(self) -> RunPlan:
        """The run the current settings make: the request (built off the event loop), the client, what follows each answer."""
        try:
            prepared = await asyncio.to_thread(self.prepare)
            self._spend.check(prepared, self.variants)  # refused, nothing sent, if it would cost more than is left
            client = self._client_for_loop()
        except AnyfastError as error:
            self.notice = {"kind": "error", **error_card(error)}
            raise
        return RunPlan(
            prepared=prepared,
            client=client,
            variants=self.variants,
            original=self._sources.primary_image,
            keep_outside=bool(self.mask_tools.get("keep_outside")) and prepared.mask is not None,
            feather=float(self.mask_tools.get("feather", 0) or 0),
            extended=self._sources.primary.extended if self._sources.primary is not None else None,
            paid=lambda result: self._paid(result, prepared),
        )

    def _client_for_loop(self) -> AsyncClient:
        if not self.has_key:
            raise ConfigurationError("No API key.", hint=NO_KEY_HINT)
        return self._clients.get()
