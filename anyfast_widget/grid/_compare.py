"""compare(): a grid from its axes, every cell's request built, checked and priced before anything is sent.

``compare(prompt, rows=..., cols=..., pages=..., repeats=k)`` expands the axes into
cells, checks every cell's request against the API's rules (one ValidationError
lists every problem, by cell), prices it when prices are given, and makes the
:class:`~anyfast_widget.grid._grid.Grid`, which looks each request up in the run
store by its hash (results already paid for are reused) and sends only what is
missing, at most ``concurrency`` at a time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..client import AsyncClient, ClientPerLoop, Secret, Settings
from ..core import (
    EDIT_FIELDS,
    REQUEST_PARAMS,
    EncodedImage,
    ImageInput,
    Mask,
    MaskInput,
    PreparedRequest,
    PriceTable,
    Pricing,
    TokenPrices,
    ValidationError,
    Violation,
    check_params,
    encode_source,
    prepare_edit,
    prepare_generation,
)
from ..store import RunStore
from ._axes import Axis, as_axis
from ._grid import Grid
from ._model import Cell, Slot
from ._progress import in_kernel

Prices = PriceTable  # per request: {"low", "medium", "high", "edits"}, or a function of the request's parameters


def compare(
    prompt: str | None = None,
    *,
    rows: Axis | Mapping[str, Sequence[Any]] | None = None,
    cols: Axis | Mapping[str, Sequence[Any]] | None = None,
    pages: Axis | Mapping[str, Sequence[Any]] | None = None,
    repeats: int = 1,
    sources: Sequence[ImageInput] | None = None,
    mask: MaskInput | None = None,
    prices: Prices | None = None,
    token_prices: TokenPrices | None = None,
    budget: float | None = None,
    concurrency: int = 8,
    confirm: bool = False,
    client: AsyncClient | None = None,
    api_key: str | Secret | None = None,
    base_url: str | None = None,
    run_dir: str | os.PathLike[str] | RunStore | None = None,
    run: bool = True,
    progress: bool | None = None,
    offline: bool = False,
    **params: Any,
) -> Grid:
    """A comparison grid over ``rows`` x ``cols`` (x ``pages``), each cell sent ``repeats`` times.

    Axes are :class:`Axis` objects (``axis``, ``prompts``, ``replace``, ``sources``,
    ``masks``) or ``{"field": [values]}``; ``params``, ``sources`` and ``mask`` are
    what every cell shares. Every cell is checked before anything is sent (one
    ValidationError lists every problem, by cell). Results already in the run
    store for the same request are reused; only the rest is sent, at most
    ``concurrency`` at a time. More than 50 requests to send need ``confirm=True``.
    ``prices`` (``{"low": 0.01, "medium": 0.04, "high": 0.17, "edits": 0.05}``, or a
    function of the request's parameters) puts a cost on each cell and on
    :meth:`Grid.plan`; ``token_prices`` (:class:`TokenPrices`, per million tokens) price
    each result by the tokens its answer's ``usage`` reports, and estimate a cell's cost
    when there is no table. Each result records its cost (``result.cost``).
    ``budget`` (in the prices' currency; it needs prices) caps what this grid sends:
    each request reserves its expected cost before it goes, none is sent that would
    take the spend over, and those left unsent are ``over_budget`` (see :meth:`Grid.plan`).
    Results reused from the run store were paid for before and do not count against it.
    With ``run=False`` nothing is sent until :meth:`Grid.run`.
    ``offline=True`` sends to the built-in stand-in server instead of the API
    (synthetic pictures, nothing paid); it is never used unless asked for.
    """
    unknown = set(params) - set(REQUEST_PARAMS)
    if unknown:
        raise TypeError(f"compare() got unexpected parameters: {', '.join(sorted(unknown))}")
    if not isinstance(repeats, int) or not 1 <= repeats <= 16:
        raise _invalid("repeats", "range", f"repeats={repeats!r}.", "use 1 to 16 repeats per cell.")
    if not isinstance(concurrency, int) or concurrency < 1:
        raise _invalid("concurrency", "range", f"concurrency={concurrency!r}.", "use a positive integer.")
    pricing = Pricing.of(prices, token_prices) or (client.pricing if client is not None else None)
    if budget is not None:
        _check_budget(budget, pricing)
    page_axis, row_axis, col_axis = as_axis(pages, "pages"), as_axis(rows, "rows"), as_axis(cols, "cols")
    base = {"prompt": prompt, "sources": list(sources) if sources else [], "mask": mask, **params}

    if offline:
        if client is not None or api_key is not None or base_url is not None:
            raise TypeError("compare(offline=True) sends to the built-in stand-in: pass no client, api_key or base_url.")
        from ..simulator import offline_server  # only when asked for: a script never loads the stand-in

        server = offline_server()
        api_key, base_url = server.api_key, server.base_url
    if client is not None:
        store, clients = client.store, ClientPerLoop(client=client)
    else:
        # The key and base URL are checked now; the key stays wrapped, so no repr or vars() of the grid shows it.
        settings = Settings.resolve(api_key, base_url, run_dir, key_required=run)  # looking needs no key; sending does
        store = settings.open_store()
        clients = ClientPerLoop(settings, run_dir=store, prices=prices, token_prices=token_prices)  # each result priced

    cells = _cells(base, page_axis, row_axis, col_axis, repeats, pricing)
    shown = not in_kernel() if progress is None else progress  # a tqdm bar where no widget shows the grid
    # What was asked for, as given (grid.save_spec writes it out as a spec file).
    definition = {"prompt": prompt, "rows": row_axis, "cols": col_axis, "pages": page_axis, "repeats": repeats,
                  "sources": base["sources"], "mask": mask, "prices": prices, "token_prices": token_prices, "budget": budget,
                  "concurrency": concurrency, "params": params}
    grid = Grid(cells, rows=row_axis, cols=col_axis, pages=page_axis, repeats=repeats, store=store, clients=clients,
                concurrency=concurrency, confirm=confirm, progress=shown, definition=definition,
                budget=budget)
    if run:
        grid.run()
    return grid


def _cells(
    base: dict[str, Any], pages: Axis | None, rows: Axis | None, cols: Axis | None, repeats: int, pricing: Pricing | None
) -> list[Cell]:
    """Every cell of the grid, page by page, row by row; a ValidationError naming each cell's problems."""
    encoded: dict[int, EncodedImage] = {}
    masks_seen: dict[int, Mask] = {}
    cells: list[Cell] = []
    problems: list[Violation] = []
    page_steps = list(zip(pages.labels, pages.steps)) if pages else [("", {})]
    row_steps = list(zip(rows.labels, rows.steps)) if rows else [("", {})]
    col_steps = list(zip(cols.labels, cols.steps)) if cols else [("", {})]
    for p, (page_label, page_step) in enumerate(page_steps):
        for r, (row_label, row_step) in enumerate(row_steps):
            for c, (col_label, col_step) in enumerate(col_steps):
                where = " / ".join(label for label in (page_label, row_label, col_label) if label) or "the cell"
                try:
                    request = _cell_request(base, [page_step, row_step, col_step])
                    prepared, primary = _prepare(request, encoded, masks_seen)
                except ValidationError as error:
                    problems += [dataclasses.replace(v, message=f"[{where}] {v.message}") for v in error.violations]
                    continue
                labels = (page_label, row_label, col_label)
                cost = pricing.expected(prepared) if pricing is not None else None
                cells.append(Cell(p, r, c, labels, prepared, [Slot(k) for k in range(repeats)], cost, primary))
    if problems:
        raise ValidationError(problems)
    return cells


def _check_budget(budget: Any, pricing: Pricing | None) -> None:
    """A budget is an amount, and needs prices to measure requests against it."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 <= budget < float("inf"):
        raise _invalid("budget", "range", f"budget={budget!r}.", "give the most to spend as a number, 0 or more.")
    if pricing is None:
        fix = 'pass prices={"low": .., "medium": .., "high": .., "edits": ..} or token_prices=TokenPrices(...).'
        raise _invalid("budget", "prices", "a budget was given without prices, so no request can be measured against it.", fix)


def _cell_request(base: dict[str, Any], steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The shared request with each axis step's changes applied; word swaps (``replace``) last."""
    request = dict(base)
    swaps = []
    for step in steps:
        for name, value in step.items():
            if name == "replace":
                swaps.append(value)
            else:
                request[name] = value
    for word, value in swaps:
        prompt = request.get("prompt") or ""
        if word not in prompt:
            raise _invalid(
                "prompt", "replace", f"{word!r} does not occur in the prompt {prompt!r}.", "replace a word the prompt contains."
            )
        request["prompt"] = prompt.replace(word, value)
    return request


def _prepare(
    request: dict[str, Any], encoded: dict[int, EncodedImage], masks: dict[int, Mask]
) -> tuple[PreparedRequest, EncodedImage | None]:
    """A cell's checked request, and its first source image (for edits); sources and masks converted once per grid."""
    params = {k: request[k] for k in REQUEST_PARAMS if request.get(k) is not None}
    images = request.get("sources") or []
    if not images:
        if request.get("mask") is not None:
            raise _invalid("mask", "sources", "a mask was given without source images.", "add sources, or drop the mask.")
        return prepare_generation(request.get("prompt"), **params), None  # type: ignore[arg-type]
    rejected = [k for k in params if k not in EDIT_FIELDS]
    if rejected:
        found = check_params("edits", {"prompt": request.get("prompt"), **{k: params[k] for k in rejected}})
        raise ValidationError([v for v in found if v.rule == "unknown_field"])
    sources = []
    for image in images:  # each distinct source is read and converted once for the whole grid
        if id(image) not in encoded:
            encoded[id(image)] = image if isinstance(image, EncodedImage) else encode_source(image, "image[]")
        sources.append(encoded[id(image)].data)
    mask = request.get("mask")
    if mask is not None and id(mask) not in masks:
        masks[id(mask)] = Mask.coerce(mask)
    prepared = prepare_edit(request.get("prompt"), sources, mask=masks[id(mask)] if mask is not None else None, **params)  # type: ignore[arg-type]
    return prepared, prepared.sources[0]


def _invalid(field: str, rule: str, message: str, fix: str) -> ValidationError:
    return ValidationError([Violation(field, rule, message, fix)])
