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

from ..browser import BrowserWidget
from ..client import AsyncClient, ClientPerLoop, RetryPolicy, Settings
from ..core import (
    MAX_SOURCES,
    AnyfastError,
    ConfigurationError,
    Mask,
    ValidationError,
    Violation,
    error_card,
    prepare_edit,
    prepare_generation,
)
from ..store import ImageResult, RunStore
from ._gallery import Gallery
from ._limits import BROWSER_TRAITS, check_state, check_trait
from ._mask_state import MaskState, mask_violations
from ._messages import BrowserMessages
from ._runs import Runner, RunPlan
from ._settings import DEFAULT_PARAMS, MAX_VARIANTS, endpoint_for, judge, tidy_params, variants_violations, wire_params
from ._sources import Sources

if TYPE_CHECKING:  # annotations only
    from ..core import EncodedImage, ImageInput, MaskInput, PreparedRequest

_STATIC = Path(__file__).parent.parent / "static"
_UNSET = object()
logger = logging.getLogger("anyfast_widget")


def _same_items(a: list[Any], b: list[Any]) -> bool:
    """The same objects in the same order (traitlets copies a list, not its items)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class ImageStudio(BrowserWidget):
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
    mask_edits = t.List(t.Dict()).tag(sync=True)  # the browser's strokes, clears and inverts, in order
    mask_redo = t.List(t.Dict()).tag(sync=True)  # mask edits undone, most recent last
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
    base_mask = t.Bytes(b"").tag(sync=True)
    send_preview = t.Bytes(b"").tag(sync=True)
    coverage = t.Float(0.0).tag(sync=True)
    mask_checks = t.List(t.Dict()).tag(sync=True)
    jobs = t.List(t.Dict()).tag(sync=True)
    running = t.Bool(False).tag(sync=True)
    gallery = t.List(t.Dict()).tag(sync=True)
    limits = t.Dict({"variants": MAX_VARIANTS, "sources": MAX_SOURCES}, read_only=True).tag(sync=True)

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
        **params: Any,
    ) -> None:
        """``params`` are request parameters (``size``, ``quality``, ``output_format``, ...).

        ``client`` is an AsyncClient to use; otherwise one is made from ``api_key``
        (or ``ANYFAST_API_KEY``), ``base_url``, ``run_dir``, ``timeout`` and ``retry``.
        ``history`` is how many past results of the run store the gallery starts with.
        """
        unknown = set(params) - set(DEFAULT_PARAMS)
        if unknown:
            raise TypeError(f"ImageStudio() got unexpected parameters: {', '.join(sorted(unknown))}")
        self._client = client
        if client is not None:
            self._settings: Settings | None = None
            self._clients = ClientPerLoop(client=client)
            self.store = client.store
        else:
            self._settings = settings = Settings.resolve(api_key, base_url, run_dir)
            self.store = settings.open_store()
            self._clients = ClientPerLoop(settings, run_dir=self.store, timeout=timeout, retry=retry)
        # The traits' observers below use these from the first trait set on.
        self._sources = Sources()
        self._mask = MaskState()
        self._gallery = Gallery(self.store, self)
        self._runner = Runner(self, self.store, self._gallery)
        super().__init__(
            prompt=prompt,
            params={**DEFAULT_PARAMS, **params},
            variants=variants,
            brush={"radius": 40.0, "mode": "paint", "opacity": 0.5, "visible": True},
            mask_tools={"grow": 0, "feather": 4, "keep_outside": False},
        )
        self.on_msg(BrowserMessages(self, self._runner, self._gallery))
        if sources:
            self.sources = sources  # type: ignore[assignment]
        if mask is not None:
            self.mask = mask  # type: ignore[assignment]
        self._gallery.load_history(history)
        self._refresh_settings()

    def __repr__(self) -> str:
        counts = f"sources={len(self._sources)} results={len(self._gallery.results)}"
        return f"<ImageStudio {self.endpoint} {counts} run_dir={str(self.store.root)!r}>"

    def _check_browser_state(self, sync_data: dict[str, Any]) -> None:
        check_state(sync_data, self.keys)

    @t.validate(*sorted(BROWSER_TRAITS - {"params"}))
    def _check_browser_trait(self, proposal: t.Bunch) -> Any:
        return self._check(proposal["trait"].name, proposal["value"])

    def _check(self, name: str, value: Any) -> Any:
        """``value`` checked for trait ``name`` (``_limits``), unless it is what :meth:`set_state` has just checked."""
        checked = self._checked.get(name, _UNSET)
        if value is checked or (isinstance(value, list) and isinstance(checked, list) and _same_items(value, checked)):
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
                self._refresh_mask_views()
            else:
                self._reset_mask(None)
            self._refresh_settings()

    @property
    def mask(self) -> Mask | None:
        """The mask painted so far (and any mask assigned), at the primary's full size; None without sources.

        ``.region`` is True where the model may edit; ``.rgba`` has alpha 0 there.
        Assign an array, an image or a :class:`Mask` (a segmentation model's output,
        say) to show it on the canvas, where the brush can edit it further.
        """
        return self._mask.mask

    @mask.setter
    def mask(self, value: MaskInput | None) -> None:
        primary = self._sources.primary
        if primary is None:
            message = "there is no source image for the mask to belong to."
            raise ValidationError([Violation("mask", "primary", message, "add a source image first.")])
        if value is None:
            self._reset_mask(None)
        else:
            mask = Mask.coerce(value)
            if wrong_size := [v for v in mask_violations(mask, primary.encoded) if v.rule == "same_size"]:
                raise ValidationError(wrong_size)
            self._reset_mask(mask)
        self._refresh_settings()

    @property
    def mask_to_send(self) -> Mask | None:
        """The mask as it will be sent: the painted one grown or shrunk by ``mask_tools["grow"]``; None when empty."""
        return self._mask.to_send

    def _reset_mask(self, base: Mask | None) -> None:
        """Start the mask again from ``base`` (or from nothing), forgetting the browser's mask edits."""
        primary = self._sources.primary
        self._mask.reset(base, primary.encoded.size if primary is not None else None)
        with self.hold_sync():
            self.mask_edits, self.mask_redo = [], []
            self.base_mask = self._mask.base_png(tuple(self.canvas_size))  # type: ignore[arg-type]
            self._refresh_mask_views()

    @t.observe("mask_edits")
    def _on_mask_edits(self, change: dict[str, Any]) -> None:
        edits: list[dict[str, Any]] = list(change["new"])
        if edits == self._mask.edits:
            return
        if self._mask.region is None:  # no source to paint on
            if edits:
                self.mask_edits = []
            return
        try:
            self._mask.apply(edits)
        except (ValueError, OverflowError) as error:  # checked before (``_limits``); the rasterizer's own checks, in case
            self.notice = {"kind": "error", "title": "A brush stroke was not understood", "message": str(error), "hint": ""}
            self.mask_edits = list(self._mask.edits)
            return
        self._refresh_mask_views()
        self._refresh_settings()

    @t.observe("mask_tools")
    def _on_mask_tools(self, change: dict[str, Any]) -> None:
        if (change["old"] or {}).get("grow") != (change["new"] or {}).get("grow"):
            self._refresh_mask_views()
            self._refresh_settings()

    def _refresh_mask_views(self) -> None:
        """Work out the mask to send and show it: the preview with its holes, the coverage, the checks."""
        primary = self._sources.primary.encoded if self._sources.primary is not None else None
        self._mask.settle(int(self.mask_tools.get("grow", 0) or 0), primary)
        views = self._mask.views(primary, self._sources.canvas)
        self.send_preview, self.coverage = views.send_preview, views.coverage
        self.mask_checks = views.mask_checks

    @t.validate("params")
    def _tidy_params(self, proposal: dict[str, Any]) -> dict[str, Any]:
        return tidy_params(self._check("params", proposal["value"]))

    @t.observe("prompt", "params", "variants", "running")
    def _on_settings(self, change: dict[str, Any]) -> None:
        self._refresh_settings()

    def _refresh_settings(self) -> None:
        has_key = self._settings is None or self._settings.api_key is not None
        sources, mask_problems = self._sources.encoded, self._mask.problems
        judged = judge(self.prompt, self.params, self.variants, sources, mask_problems, has_key=has_key, running=self.running)
        with self.hold_sync():
            self.endpoint = judged.endpoint
            self.controls = judged.controls
            self.violations = judged.violations
            self.run_blocked = judged.run_blocked

    def _wire_params(self) -> dict[str, Any]:
        return wire_params(self.prompt, self.params, endpoint_for(self._sources.encoded))

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
        are passed on. Results go to the studio's run store.
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
        )

    def _client_for_loop(self) -> AsyncClient:
        if self._settings is not None and self._settings.api_key is None:
            raise ConfigurationError("No API key.", hint="Set ANYFAST_API_KEY, or pass api_key= (or client=) to ImageStudio.")
        return self._clients.get()
