"""ImageStudio: the notebook widget, with Python as the source of truth.

The browser (``js/``, contract in ``js/README.md``) draws and collects: prompt and
settings, files, brush strokes as vectors. Python checks every setting with the
rules in ``_rules.py``, rasterizes the strokes at the source's full resolution,
sends the requests, stores every result and tells the browser what to show.
Everything the buttons do is also a method here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t
from PIL import Image

from ..client import AsyncClient, ClientPerLoop, RetryPolicy, Settings
from ..core import (
    CANVAS_EDGE,
    DEFAULT_SIZE,
    EDIT_FIELDS,
    GALLERY_EDGE,
    GENERATION_FIELDS,
    MAX_SOURCES,
    MODERATIONS,
    OUTPUT_FORMATS,
    QUALITIES,
    RESPONSE_FORMATS,
    THUMB_EDGE,
    AnyfastError,
    ConfigurationError,
    EncodedImage,
    ImageInput,
    Mask,
    MaskInput,
    PreparedRequest,
    UploadInfo,
    ValidationError,
    Violation,
    apply_op,
    apply_ops,
    check_mask,
    check_params,
    check_sources,
    cutout_png,
    decode_image,
    encode_preview,
    encode_source,
    error_card,
    format_size,
    is_valid_size,
    keep_outside,
    nearest_sizes,
    parse_size,
    prepare_edit,
    prepare_generation,
    region_at,
    region_png,
)
from ..store import ImageResult, RunStore

_STATIC = Path(__file__).parent.parent / "static"

MAX_VARIANTS = 8
DEFAULT_PARAMS: dict[str, Any] = {
    "size": DEFAULT_SIZE,
    "quality": "medium",
    "output_format": "png",
    "output_compression": None,
    "moderation": "auto",
    "response_format": "b64_json",
}
SIZE_PRESETS = tuple(
    s
    for s in ("1024x1024", "1536x1024", "1024x1536", "2048x2048", "2048x1152", "1152x2048", "3840x2160", "2160x3840")
    if is_valid_size(*parse_size(s))  # type: ignore[misc]
)
_LABELS = {
    "size": ("Size", "Width x height in pixels; edges multiples of 16, at most 3:1, up to 3840."),
    "quality": ("Quality", "Higher quality takes longer and costs more."),
    "output_format": ("Format", "PNG is lossless; JPEG is smaller."),
    "output_compression": ("JPEG compression", "0 is the smallest file, 100 the best quality."),
    "moderation": ("Moderation", "'low' is less strict about what it blocks."),
    "response_format": ("Delivery", "b64_json returns the image in the response; url returns a link, downloaded at once."),
}
_OPTIONS = {"quality": QUALITIES, "output_format": OUTPUT_FORMATS, "moderation": MODERATIONS, "response_format": RESPONSE_FORMATS}
_MASK_CHECKS = (  # (rule in _rules.check_mask, label when it passes)
    ("format", "Sent as a PNG with an alpha channel"),
    ("same_size", "Same size as the first image"),
    ("same_format", "First image sent as PNG too"),
    ("nothing_to_edit", "Marks something to edit"),
    ("keeps_nothing", "Keeps something (otherwise use no mask)"),
)


@dataclasses.dataclass(frozen=True)
class _Source:
    id: str
    name: str
    encoded: EncodedImage
    thumb: bytes


def _now_ms() -> float:
    return time.time() * 1000.0


class ImageStudio(anywidget.AnyWidget):
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
    ops = t.List(t.Dict()).tag(sync=True)
    redo = t.List(t.Dict()).tag(sync=True)
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
    notice = t.Dict().tag(sync=True)
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
        self._sources: list[_Source] = []
        self._primary_id: str | None = None
        self._primary_image: Image.Image | None = None
        self._canvas_rgb: Image.Image | None = None
        self._base: Mask | None = None
        self._region: np.ndarray | None = None
        self._region_ops: list[dict[str, Any]] = []
        self._to_send: Mask | None = None  # the mask as it will be sent, kept in step by _refresh_mask_views
        self._to_send_problems: list[Violation] = []
        self._results: list[ImageResult] = []
        self._task: asyncio.Task[list[ImageResult]] | None = None
        self._variant_tasks: list[asyncio.Task[ImageResult | None]] = []
        super().__init__(
            prompt=prompt,
            params={**DEFAULT_PARAMS, **params},
            variants=variants,
            brush={"radius": 40.0, "mode": "paint", "opacity": 0.5, "visible": True},
            mask_tools={"grow": 0, "feather": 4, "keep_outside": False},
        )
        self.on_msg(self._on_message)
        if sources:
            self.sources = sources  # type: ignore[assignment]
        if mask is not None:
            self.mask = mask  # type: ignore[assignment]
        self._load_history(history)
        self._refresh_settings()

    def __repr__(self) -> str:
        return f"<ImageStudio {self.endpoint} sources={len(self._sources)} results={len(self._results)} run_dir={str(self.store.root)!r}>"

    # -- sources -------------------------------------------------------------------

    @property
    def sources(self) -> list[EncodedImage]:
        """The source images as they will be sent (PNG or JPEG), primary first. Assign a list to replace them."""
        return [s.encoded for s in self._sources]

    @sources.setter
    def sources(self, values: Sequence[ImageInput]) -> None:
        if isinstance(values, (str, bytes, os.PathLike, Image.Image, np.ndarray)):
            values = [values]
        made = [self._make_source(v, i) for i, v in enumerate(values)]
        self._sources = made
        self._primary_changed(keep_mask=False)

    def _make_source(self, value: ImageInput, index: int, name: str | None = None) -> _Source:
        field = f"image[{index}]"
        encoded = value if isinstance(value, EncodedImage) else encode_source(value, field)
        if name is None:
            name = Path(os.fspath(value)).name if isinstance(value, (str, os.PathLike)) else f"image {index + 1}"
        thumb, _, _ = encode_preview(decode_image(encoded.data), THUMB_EDGE)
        return _Source(secrets.token_hex(4), name, encoded, thumb)

    def add_source(self, value: ImageInput, *, name: str | None = None, primary: bool = False) -> None:
        """Add one source image (last, or first with ``primary=True``); raises ValidationError if it is unusable."""
        if len(self._sources) >= MAX_SOURCES:
            raise ValidationError(
                [Violation("image[]", "max_count", f"the studio already holds {MAX_SOURCES} sources, the API's limit.", "remove one first.")]
            )
        source = self._make_source(value, 0 if primary else len(self._sources), name)
        if primary:
            self._sources.insert(0, source)
        else:
            self._sources.append(source)
        self._primary_changed(keep_mask=not primary)

    def remove_source(self, index: int) -> None:
        """Remove the source at ``index`` (0 is the primary)."""
        del self._sources[index]
        self._primary_changed(keep_mask=index != 0)

    def move_source(self, index: int, to: int) -> None:
        """Move the source at ``index`` to position ``to``; moving one to 0 makes it the primary."""
        source = self._sources.pop(index)
        self._sources.insert(max(0, min(to, len(self._sources))), source)
        self._primary_changed(keep_mask=0 not in (index, to))

    def use_as_source(self, result: ImageResult | str) -> None:
        """Put a result in front as the new primary source, for iterative editing.

        The mask stays when the result has the old primary's size, so the same area can be edited again.
        """
        if isinstance(result, str):
            result = next((r for r in self._results if r.id == result), None) or self.store.get(result)
        old_size = self._sources[0].encoded.size if self._sources else None
        source = self._make_source(result.data, 0, name=result.path.name)
        self._sources.insert(0, source)
        keep = old_size == source.encoded.size
        if len(self._sources) > MAX_SOURCES:
            self._sources.pop()
        self._primary_changed(keep_mask=keep)

    def _primary_changed(self, *, keep_mask: bool) -> None:
        primary = self._sources[0] if self._sources else None
        if primary is None:
            self._primary_id, self._primary_image, self._canvas_rgb = None, None, None
        elif primary.id != self._primary_id:
            self._primary_id = primary.id
            self._primary_image = decode_image(primary.encoded.data).convert("RGB")
        with self.hold_sync():
            self.source_cards = [self._card(s) for s in self._sources]
            if self._primary_image is not None:
                data, _, canvas = encode_preview(self._primary_image, CANVAS_EDGE)
                self._canvas_rgb = self._primary_image.resize(canvas, Image.Resampling.BOX)
                self.canvas_image, self.canvas_size = data, list(canvas)
            else:
                self.canvas_image, self.canvas_size = b"", [0, 0]
            same_size = (
                primary is not None
                and self._region is not None
                and self._region.shape == (primary.encoded.height, primary.encoded.width)
            )
            if keep_mask and same_size:
                self._refresh_mask_views()
            else:
                self._reset_mask(None)
            self._refresh_settings()

    @staticmethod
    def _card(source: _Source) -> dict[str, Any]:
        return {
            "id": source.id,
            "name": source.name,
            "width": source.encoded.width,
            "height": source.encoded.height,
            "format": source.encoded.format,
            "note": source.encoded.converted_from or "",
            "thumb": source.thumb,
        }

    # -- the mask ------------------------------------------------------------------

    @property
    def mask(self) -> Mask | None:
        """The mask painted so far (and any mask assigned), at the primary's full size; None without sources.

        ``.region`` is True where the model may edit; ``.rgba`` has alpha 0 there.
        Assign an array, an image or a :class:`Mask` (a segmentation model's output,
        say) to show it on the canvas, where the brush can edit it further.
        """
        return Mask(self._region) if self._region is not None else None

    @mask.setter
    def mask(self, value: MaskInput | None) -> None:
        if not self._sources:
            raise ValidationError([Violation("mask", "primary", "there is no source image for the mask to belong to.", "add a source image first.")])
        if value is None:
            self._reset_mask(None)
        else:
            mask = Mask.coerce(value)
            if wrong_size := [v for v in self._mask_violations(mask) if v.rule == "same_size"]:
                raise ValidationError(wrong_size)
            self._reset_mask(mask)
        self._refresh_settings()

    @property
    def mask_to_send(self) -> Mask | None:
        """The mask as it will be sent: the painted one grown or shrunk by ``mask_tools["grow"]``; None when empty."""
        return self._to_send

    def _make_mask_to_send(self) -> Mask | None:
        if self._region is None or not self._region.any():
            return None
        grow = int(self.mask_tools.get("grow", 0) or 0)
        return Mask(self._region).grow(grow) if grow else Mask(self._region)

    def _reset_mask(self, base: Mask | None) -> None:
        """Start the mask again from ``base`` (or from nothing), forgetting the strokes."""
        self._base = base
        if self._sources:
            width, height = self._sources[0].encoded.size
            self._region = base.region.copy() if base is not None else np.zeros((height, width), bool)
        else:
            self._region = None
        self._region_ops = []
        with self.hold_sync():
            self.ops, self.redo = [], []
            canvas = tuple(self.canvas_size)
            self.base_mask = region_png(region_at(base.region, canvas)) if base is not None and self._region is not None else b""
            self._refresh_mask_views()

    @t.observe("ops")
    def _on_ops(self, change: dict[str, Any]) -> None:
        new: list[dict[str, Any]] = list(change["new"])
        if new == self._region_ops:
            return
        if self._region is None:
            if new:
                self.ops = []
            return
        height, width = self._region.shape
        try:
            if len(new) == len(self._region_ops) + 1 and new[:-1] == self._region_ops:
                apply_op(self._region, new[-1])  # one more stroke: only its box is touched
            else:
                self._region = apply_ops(new, (width, height), self._base).region.copy()
        except ValueError as error:
            self.notice = {"kind": "error", "title": "A brush stroke was not understood", "message": str(error), "hint": ""}
            self.ops = list(self._region_ops)
            return
        self._region_ops = new
        self._refresh_mask_views()
        self._refresh_settings()

    @t.observe("mask_tools")
    def _on_mask_tools(self, change: dict[str, Any]) -> None:
        if (change["old"] or {}).get("grow") != (change["new"] or {}).get("grow"):
            self._refresh_mask_views()
            self._refresh_settings()

    def _refresh_mask_views(self) -> None:
        """What will be sent (worked out once per change of the mask, not per keystroke elsewhere):
        the mask itself, the preview with its holes, the coverage, the checks."""
        mask = self._to_send = self._make_mask_to_send()
        self._to_send_problems = self._mask_violations(mask) if mask is not None and self._sources else []
        if mask is None or self._canvas_rgb is None:
            self.send_preview, self.coverage = b"", 0.0
            self.mask_checks = (
                [{"label": "No mask", "ok": True, "message": "Nothing painted: the model may change the whole image."}]
                if self._sources
                else []
            )
            return
        editable = region_at(mask.region, self._canvas_rgb.size)
        self.send_preview = cutout_png(self._canvas_rgb, editable)
        self.coverage = round(100.0 * mask.coverage, 3)
        failed = {v.rule: v for v in self._to_send_problems}
        primary = self._sources[0].encoded
        checks = []
        for rule, label in _MASK_CHECKS:
            if rule == "same_format" and primary.format == "png":
                continue
            if rule == "same_format":
                checks.append({"label": label, "ok": True, "message": "The API wants the image and its mask in one format: the JPEG goes as PNG."})
                continue
            violation = failed.get(rule)
            checks.append({"label": label, "ok": violation is None, "message": f"{violation.message} {violation.fix}" if violation else ""})
        self.mask_checks = checks

    def _mask_violations(self, mask: Mask) -> list[Violation]:
        """The mask rules, on what Mask.to_png() will make of it, without encoding 4K PNGs at every stroke."""
        width, height = mask.size
        any_edit, any_keep = bool(mask.region.any()), not bool(mask.region.all())
        info = UploadInfo("mask", "png", width, height, 0, has_alpha=True, alpha_min=0 if any_edit else 255, alpha_max=255 if any_keep else 0)
        primary = self._sources[0].encoded.upload_info("image[0]")
        return [v for v in check_mask(info, dataclasses.replace(primary, format="png")) if v.rule != "same_format"]

    # -- settings ------------------------------------------------------------------

    def _wire_params(self) -> dict[str, Any]:
        """The request's fields as they would be sent for the current endpoint (prompt included)."""
        accepted = EDIT_FIELDS if self._sources else GENERATION_FIELDS
        out: dict[str, Any] = {"prompt": self.prompt}
        for name, value in self.params.items():
            if name not in accepted or value is None or value == "":
                continue
            if name == "output_compression" and self.params.get("output_format") != "jpeg":
                continue  # its control is hidden for PNG, so a stale value is not "set"
            out[name] = value
        return out

    @t.validate("params")
    def _tidy_params(self, proposal: dict[str, Any]) -> dict[str, Any]:
        """A readable size typed by hand ("1536 × 1024") is written as the API spells it; the rest is judged as is."""
        params = dict(proposal["value"])
        size = params.get("size")
        parsed = parse_size(size) if isinstance(size, str) else None
        if parsed is not None:
            params["size"] = format_size(*parsed)
        return params

    @t.observe("prompt", "params", "variants")
    def _on_settings(self, change: dict[str, Any]) -> None:
        self._refresh_settings()

    def _refresh_settings(self) -> None:
        endpoint = "edits" if self._sources else "generations"
        violations = check_params(endpoint, self._wire_params())
        violations += self._variants_violations()
        if self._sources:
            violations += check_sources([s.encoded.upload_info(f"image[{i}]") for i, s in enumerate(self._sources)])
            violations += self._to_send_problems
        if self._settings is not None and self._settings.api_key is None:
            blocked = "No API key: set ANYFAST_API_KEY, or pass api_key= (or client=) to ImageStudio."
        elif self.running:
            blocked = "A run is in progress."
        elif violations:
            first = violations[0]
            more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
            blocked = f"{first.field}: {first.message}{more}"
        else:
            blocked = ""
        with self.hold_sync():
            self.endpoint = endpoint
            self.controls = self._controls(endpoint)
            self.violations = [{"field": v.field, "rule": v.rule, "message": v.message, "fix": v.fix} for v in violations]
            self.run_blocked = blocked

    def _variants_violations(self) -> list[Violation]:
        if 1 <= self.variants <= MAX_VARIANTS:
            return []
        return [Violation("variants", "range", f"{self.variants} variants were asked for.", f"ask for 1 to {MAX_VARIANTS} (each is one request).")]

    def _controls(self, endpoint: str) -> list[dict[str, Any]]:
        accepted = GENERATION_FIELDS if endpoint == "generations" else EDIT_FIELDS
        out: list[dict[str, Any]] = []
        for name in DEFAULT_PARAMS:
            if name not in accepted:
                continue
            if name == "output_compression" and self.params.get("output_format") != "jpeg":
                continue
            label, help_text = _LABELS[name]
            control: dict[str, Any] = {"name": name, "label": label, "help": help_text, "default": DEFAULT_PARAMS[name]}
            if name == "size":
                options = list(SIZE_PRESETS)
                if self._sources:  # the source's own shape, at the nearest valid size
                    shaped = nearest_sizes(*self._sources[0].encoded.size, k=1)[0]
                    if shaped not in options:
                        options.insert(0, shaped)
                control.update(kind="size", options=options)
            elif name == "output_compression":
                control.update(kind="int", min=0, max=100, default=100)
            else:
                control.update(kind="select", options=list(_OPTIONS[name]))
            out.append(control)
        return out

    # -- running -------------------------------------------------------------------

    def prepare(self) -> PreparedRequest:
        """The request the studio would send now, checked against every rule (ValidationError if not)."""
        wire = self._wire_params()
        prompt = wire.pop("prompt")
        if problems := self._variants_violations():
            raise ValidationError(problems)
        if not self._sources:
            return prepare_generation(prompt, **wire)
        return prepare_edit(prompt, [s.encoded.data for s in self._sources], mask=self.mask_to_send, **wire)

    def run(self) -> Any:
        """Send the current request ``variants`` times at once; returns the results of this run.

        In a notebook (a running event loop) this starts the run in the background and
        returns the task: ``await studio.run()`` waits for it, and the kernel stays
        free meanwhile. Outside an event loop it blocks until the run is over.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run(close_client=True))
        if self._task is not None and not self._task.done():
            raise RuntimeError("A run is already in progress; cancel() it or await it first.")
        self._task = loop.create_task(self._run())
        return self._task

    def cancel(self) -> None:
        """Cancel the run: requests not finished are abandoned (results already saved stay)."""
        for task in self._variant_tasks:
            # The button's message may arrive on another thread (a kernel subshell) than the run's loop.
            task.get_loop().call_soon_threadsafe(task.cancel)

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
            defaults.update(sources=[s.encoded for s in self._sources], mask=self.mask_to_send)
        if self._settings is None:
            defaults["client"] = self._client
        else:
            defaults.update(api_key=self._settings.api_key, base_url=self._settings.base_url, run_dir=self.store)
        return compare(**{**defaults, **options})

    @property
    def results(self) -> list[ImageResult]:
        """Every result the studio shows, newest first (its history from the run store included)."""
        return list(self._results)

    @property
    def last(self) -> ImageResult | None:
        """The newest result, or None."""
        return self._results[0] if self._results else None

    def _client_for_loop(self) -> AsyncClient:
        if self._settings is not None and self._settings.api_key is None:
            raise ConfigurationError("No API key.", hint="Set ANYFAST_API_KEY, or pass api_key= (or client=) to ImageStudio.")
        return self._clients.get()

    async def _run(self, close_client: bool = False) -> list[ImageResult]:
        try:
            prepared = await asyncio.to_thread(self.prepare)
            client = self._client_for_loop()
        except AnyfastError as error:
            self.notice = {"kind": "error", **error_card(error)}
            raise
        original = self._primary_image
        feather = float(self.mask_tools.get("feather", 0) or 0)
        keep = bool(self.mask_tools.get("keep_outside")) and prepared.mask is not None
        self.notice = {}
        self.jobs = [
            {"id": secrets.token_hex(4), "variant": i + 1, "status": "queued", "started_at": None, "finished_at": None, "error": None, "result_id": None}
            for i in range(self.variants)
        ]
        self.running = True
        self._refresh_settings()
        try:
            self._variant_tasks = [
                asyncio.create_task(self._run_variant(client, prepared, i, original, keep, feather)) for i in range(self.variants)
            ]
            outcomes = await asyncio.gather(*self._variant_tasks, return_exceptions=True)
        finally:
            self._variant_tasks = []
            self.running = False
            self._refresh_settings()
            if close_client:  # its event loop ends with this run
                await self._clients.close_for_loop()
        return [o for o in outcomes if isinstance(o, ImageResult)]

    async def _run_variant(
        self, client: AsyncClient, prepared: PreparedRequest, index: int, original: Image.Image | None, keep: bool, feather: float
    ) -> ImageResult | None:
        self._update_job(index, status="running", started_at=_now_ms())
        try:
            raw = await client.send(prepared)  # on disk and indexed when this returns
            shown = await asyncio.to_thread(self._after_edit, raw, prepared, original, keep, feather)
        except asyncio.CancelledError:
            self._update_job(index, status="cancelled", finished_at=_now_ms())
            raise
        except Exception as error:  # shown in the widget; the other variants go on
            self._update_job(index, status="error", finished_at=_now_ms(), error=error_card(error))
            raise
        if mismatch := raw.annotations.get("format_mismatch"):
            self.notice = {
                "kind": "warning",
                "title": "The API sent another format",
                "message": f"Asked for {mismatch['asked'].upper()}, got {mismatch['received'].upper()}: kept as it came ({raw.path.name}).",
                "hint": "Nothing to do; the image was paid for, so it is kept rather than refused.",
            }
        self._results.insert(0, shown)
        entry = await asyncio.to_thread(self._gallery_entry, shown)
        self.gallery = [entry, *self.gallery]
        self._update_job(index, status="done", finished_at=_now_ms(), result_id=shown.id)
        return shown

    def _after_edit(
        self, raw: ImageResult, prepared: PreparedRequest, original: Image.Image | None, keep: bool, feather: float
    ) -> ImageResult:
        """Measure an edit's change inside and outside its mask; paste the original back outside if asked."""
        if prepared.mask is None or original is None:
            return raw
        change = self.store.record_mask_change(raw, original, prepared.mask)
        if not keep:
            return raw
        pasted = keep_outside(original, raw.data, prepared.mask, feather)
        buffer = io.BytesIO()
        pasted.save(buffer, "JPEG" if raw.format == "jpeg" else "PNG", **({"quality": 95} if raw.format == "jpeg" else {}))
        derived = self.store.save_derived(
            raw, buffer.getvalue(), size=pasted.size, derivation={"kind": "keep_outside", "feather": feather}
        )
        self.store.annotate(derived, mask_change=change)
        self.store.annotate(raw, shown_as=derived.id)
        return derived

    def _update_job(self, index: int, **changes: Any) -> None:
        self.jobs = [{**job, **changes} if i == index else job for i, job in enumerate(self.jobs)]

    # -- gallery -------------------------------------------------------------------

    def _load_history(self, limit: int) -> None:
        if limit <= 0:
            return
        found = [r for r in self.store.find(limit=limit * 2) if "shown_as" not in r.annotations][:limit]
        self._results = found
        self.gallery = [self._gallery_entry(r) for r in found]

    def _gallery_entry(self, result: ImageResult) -> dict[str, Any]:
        preview, mime, _ = encode_preview(result.image, GALLERY_EDGE)
        change = result.annotations.get("mask_change")
        return {
            "id": result.id,
            "endpoint": result.endpoint,
            "prompt": result.prompt,
            "revised_prompt": result.revised_prompt,
            "size": list(result.size),
            "format": result.format,
            "created_at": result.created_at,
            "elapsed_s": result.timings.get("total_s"),
            "preview": preview,
            "preview_mime": mime,
            "change_outside": round(100 * change["changed_outside"], 2) if change else None,
            "change_inside": round(100 * change["changed_inside"], 2) if change else None,
            "kept_outside": "derivation" in result.annotations,
            "params": result.params,
            "file_name": result.path.name,
        }

    # -- messages from the browser ----------------------------------------------------

    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        kind = content.get("type")
        try:
            if kind == "run":
                if self._task is None or self._task.done():
                    self.run().add_done_callback(_swallow)  # the widget shows its errors
            elif kind == "cancel":
                self.cancel()
            elif kind == "add_sources":
                self._add_uploads(list(content.get("names") or []), buffers)
            elif kind == "remove_source":
                self.remove_source(int(content["index"]))
            elif kind == "move_source":
                self.move_source(int(content["from"]), int(content["to"]))
            elif kind == "use_as_source":
                self.use_as_source(str(content["id"]))
            elif kind == "fetch":
                self._send_file(str(content["id"]), str(content.get("purpose", "download")))
        except Exception as error:  # never a traceback in the kernel for a click
            self.notice = {"kind": "error", **error_card(error)}

    def _add_uploads(self, names: list[str], buffers: list[bytes]) -> None:
        problems = []
        for i, data in enumerate(buffers):
            name = names[i] if i < len(names) else f"upload {i + 1}"
            try:
                self.add_source(bytes(data), name=name)
            except ValidationError as error:
                problems.append(f"{name}: {error.violations[0].message} {error.violations[0].fix}")
        if problems:
            self.notice = {"kind": "error", "title": f"{len(problems)} file(s) not added", "message": "\n".join(problems), "hint": ""}

    def _send_file(self, result_id: str, purpose: str) -> None:
        result = next((r for r in self._results if r.id == result_id), None) or self.store.get(result_id)
        if purpose == "enlarge":
            data, mime, _ = encode_preview(result.image, CANVAS_EDGE)
        else:
            data, mime = result.data, f"image/{result.format}"
        self.send({"type": "file", "id": result_id, "purpose": purpose, "name": result.path.name, "mime": mime}, [data])


def _swallow(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: already shown in the widget
