"""After a masked edit comes back: its change measured on each side of the mask, and the original pasted back outside it if asked.

The real model treats a mask as guidance and may change pixels outside it. Every
masked edit gets its change recorded in the run store (``mask_change``); with
"keep outside" the studio shows, and saves beside the raw result, a copy with the
original pasted back outside the mask over a feathered seam.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from ..core import Mask, keep_outside
from ..store import ImageResult, RunStore


def after_edit(
    store: RunStore,
    raw: ImageResult,
    mask: Mask | None,
    original: Image.Image | None,
    *,
    keep: bool,
    feather: float,
    extended: dict[str, Any] | None = None,
) -> ImageResult:
    """The result to show for ``raw``: ``raw`` itself, or its derived copy with ``original`` kept outside ``mask``.

    ``extended`` is the provenance of an outpainted primary (where the original lies
    in it): recorded on the result, and on its derived copy.
    """
    if extended:
        store.annotate(raw, extended=extended)
    if mask is None or original is None:
        return raw
    change = store.record_mask_change(raw, original, mask)
    if not keep:
        return raw
    pasted = keep_outside(original, raw.data, mask, feather)
    buffer = io.BytesIO()
    pasted.save(buffer, "JPEG" if raw.format == "jpeg" else "PNG", **({"quality": 95} if raw.format == "jpeg" else {}))
    derivation = {"kind": "keep_outside", "feather": feather}
    derived = store.save_derived(raw, buffer.getvalue(), size=pasted.size, derivation=derivation)
    store.annotate(derived, mask_change=change, **({"extended": extended} if extended else {}))
    store.annotate(raw, shown_as=derived.id)
    return derived
