"""A grid as a Hugging Face ``datasets.Dataset``: the result, the sources and the mask as images, beside the table's columns.

Made with ``Dataset.from_generator``: the generator yields one request's row at a time (the
result's file read from the run store as that row is written), and ``datasets`` writes the
rows to an Arrow file in batches of ``writer_batch_size``, then memory-maps it. So however
large the grid, only one batch of pictures is ever in memory; the sources and masks are the
ones the grid's requests already hold. The images are the files' bytes, unchanged (no
re-encoding), so ``save_to_disk``, ``to_parquet`` and ``push_to_hub`` carry them whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import ValidationError, Violation
from ._research import require
from ._table import table

if TYPE_CHECKING:
    import datasets

    from ..core import EncodedImage
    from ._grid import Grid

_VALUES = {"category": "string", "string": "string", "float": "float64", "int": "int64"}
_VERSION = "1"  # of the rows' layout: a new one never reuses an old cached dataset


def to_dataset(grid: Grid, *, cache_dir: str | os.PathLike[str] | None = None, writer_batch_size: int = 16) -> datasets.Dataset:
    """The grid as a ``datasets.Dataset``: one row per request, ``result``, ``sources`` and ``mask`` as images.

    ``result`` is None for a request without a result yet; ``sources`` is the edit's source
    images (empty for a generation); ``mask`` the mask as sent (RGBA PNG, alpha 0 where the model
    may edit), or None. The other columns are :meth:`Grid.to_pandas`'s, labels and state as
    strings. ``writer_batch_size`` rows are held in memory at once (a ValidationError if it is not a
    positive whole number). The Arrow file is written under ``cache_dir`` (by default ``<run dir>/exports/datasets``),
    keyed by the rows' content, so asking again for an unchanged grid reads it back. Raises
    ImportError naming the ``[research]`` extra when ``datasets`` is not installed.
    """
    if isinstance(writer_batch_size, bool) or not isinstance(writer_batch_size, int) or writer_batch_size < 1:
        fix = "use a positive whole number of rows (16 by default): the rows held in memory at once."
        raise ValidationError([Violation("writer_batch_size", "range", f"writer_batch_size={writer_batch_size!r}.", fix)])
    hf = require("datasets", "Grid.to_dataset()")
    made = table(grid)
    features = hf.Features({
        "result": hf.Image(),
        "sources": hf.List(hf.Image()),
        "mask": hf.Image(),
        **{name: hf.Value(_VALUES[kind]) for name, kind in made.kinds.items()},
    })  # fmt: skip
    names: dict[int, str] = {}  # id of an input -> its file name (its hash), each input hashed once
    specs = []
    slots = list(grid.slots())
    for i, (cell, slot) in enumerate(slots):
        scalars = {name: values[i] for name, values in made.columns.items()}
        sources = [(_name(image, names), image.data) for image in cell.prepared.sources]
        mask = cell.prepared.mask_file
        specs.append({
            "scalars": scalars,
            "result": str(slot.result.path) if slot.result is not None else None,
            "sources": sources,
            "mask": (_name(mask, names), mask.data) if mask is not None else None,
        })  # fmt: skip
    key = [_VERSION, [{**s, "sources": [n for n, _ in s["sources"]], "mask": s["mask"] and s["mask"][0]} for s in specs]]
    fingerprint = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
    target = Path(cache_dir) if cache_dir is not None else grid.store.root / "exports" / "datasets"
    return hf.Dataset.from_generator(
        _rows,
        features=features,
        cache_dir=str(target),
        gen_kwargs={"specs": specs},
        fingerprint=fingerprint,
        writer_batch_size=writer_batch_size,
    )


def _rows(specs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One row per spec, its result's file read only now."""
    for spec in specs:
        path = spec["result"]
        result = {"bytes": Path(path).read_bytes(), "path": Path(path).name} if path is not None else None
        sources = [{"bytes": data, "path": name} for name, data in spec["sources"]]
        mask = {"bytes": spec["mask"][1], "path": spec["mask"][0]} if spec["mask"] is not None else None
        yield {"result": result, "sources": sources, "mask": mask, **spec["scalars"]}


def _name(image: EncodedImage, names: dict[int, str]) -> str:
    if id(image) not in names:
        names[id(image)] = f"{image.sha256}.{'jpg' if image.format == 'jpeg' else 'png'}"
    return names[id(image)]
