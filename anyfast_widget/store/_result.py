"""One image the API made, as it lies in the run store."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..core import decode_image
from ._files import atomic_write

_PREVIEW_EDGE = 768  # notebooks get a preview, not a 4K original in every saved .ipynb


@dataclass(eq=False)
class ImageResult:
    """An image the API returned, already saved on disk with its metadata.

    ``data`` is the file's bytes; ``image`` and ``array`` decode them on first use.
    ``params`` are the request's parameters as sent (never the key); ``extras`` is
    whatever else the server said (``created``, ``usage``, ...). ``cost`` is what the
    request cost with the client's prices (None without prices), ``cost_source`` how it
    was priced: ``"usage"`` (the answer's tokens) or ``"table"`` (the price table).
    """

    id: str
    path: Path
    endpoint: str
    prompt: str
    params: dict[str, Any]
    format: str
    size: tuple[int, int]
    revised_prompt: str | None = None
    request_id: str | None = None
    request_hash: str = ""
    created_at: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    mask: dict[str, Any] | None = None
    attempts: int = 1
    cost: float | None = None  # what this request cost, priced when it was saved; None: not priced
    cost_source: str | None = None  # "usage" (the answer's tokens at token prices) or "table" (the price table)
    annotations: dict[str, Any] = field(default_factory=dict)  # added after saving: measures, ratings, links
    _data: bytes | None = field(default=None, repr=False)
    _image: Image.Image | None = field(default=None, repr=False)

    @property
    def sidecar_path(self) -> Path:
        """The JSON file beside the image that holds this metadata."""
        return self.path.with_suffix(".json")

    @property
    def data(self) -> bytes:
        """The image file's bytes, exactly as the API sent them."""
        if self._data is None:
            self._data = self.path.read_bytes()
        return self._data

    @property
    def loaded(self) -> bool:
        """True while the file's bytes or the decoded picture are held in memory (until :meth:`release`)."""
        return self._data is not None or self._image is not None

    def save_to(self, path: str | os.PathLike[str]) -> Path:
        """Write a copy of this result somewhere else: the image, and its metadata beside it as JSON.

        ``path`` is a folder (an existing one, or a name without a suffix: it is made; the
        file keeps its name) or a file name. Works from the bytes in memory too, as when
        the run directory could not take them (see StorageError). Returns the copy's path;
        the result itself still points to its place in the store.
        """
        target = Path(path).expanduser()
        if target.is_dir() or not target.suffix:
            target = target / self.path.name
        data = self.data  # before anything is written: a result whose bytes are gone fails here
        target.parent.mkdir(parents=True, exist_ok=True)
        meta = {**self.metadata(), "file": target.name}
        atomic_write(target.with_suffix(".json"), json.dumps(meta, indent=2, ensure_ascii=False).encode())
        atomic_write(target, data)
        return target

    def release(self) -> None:
        """Drop the bytes and picture held in memory; they are read from disk again when asked for."""
        self._data = self._image = None

    @property
    def image(self) -> Image.Image:
        """The image as a PIL image (decoded once)."""
        if self._image is None:
            self._image = decode_image(self.data)
        return self._image

    @property
    def array(self) -> np.ndarray:
        """The image as an HxWxC uint8 numpy array."""
        return np.asarray(self.image)

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def metadata(self) -> dict[str, Any]:
        """Everything known about this result, as JSON-ready data (what the sidecar holds)."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "endpoint": self.endpoint,
            "prompt": self.prompt,
            "params": self.params,
            "revised_prompt": self.revised_prompt,
            "format": self.format,
            "width": self.size[0],
            "height": self.size[1],
            "file": self.path.name,
            "request_id": self.request_id,
            "request_hash": self.request_hash,
            "timings": self.timings,
            "attempts": self.attempts,
            "cost": self.cost,
            "cost_source": self.cost_source,
            "sources": self.sources,
            "mask": self.mask,
            "extras": self.extras,
            "annotations": self.annotations,
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], path: Path) -> ImageResult:
        return cls(
            id=meta["id"],
            path=path,
            endpoint=meta["endpoint"],
            prompt=meta["prompt"],
            params=meta.get("params", {}),
            format=meta["format"],
            size=(int(meta["width"]), int(meta["height"])),
            revised_prompt=meta.get("revised_prompt"),
            request_id=meta.get("request_id"),
            request_hash=meta.get("request_hash", ""),
            created_at=meta.get("created_at", ""),
            timings=meta.get("timings", {}),
            extras=meta.get("extras", {}),
            sources=meta.get("sources", []),
            mask=meta.get("mask"),
            attempts=meta.get("attempts", 1),
            cost=meta.get("cost"),  # sidecars written before costs were recorded have none
            cost_source=meta.get("cost_source"),
            annotations=meta.get("annotations", {}),
        )

    def __repr__(self) -> str:
        took = self.timings.get("total_s")
        took_text = f", {took:.1f} s" if took is not None else ""
        size = f"{self.size[0]}x{self.size[1]}"
        return f"<ImageResult {self.id} {self.endpoint} {size} {self.format}{took_text} at {str(self.path)!r}>"

    def thumbnail_jpeg(self, edge: int, quality: int = 75) -> bytes:
        """The picture fitted in ``edge`` x ``edge`` (never enlarged), transparency on white, as JPEG bytes.

        A picture already in memory is used as it is; otherwise the file is read without
        being kept (a big grid must not hold every picture). OSError if it cannot be read.
        """
        if self.loaded:
            picture = self.image.copy()
        else:
            with Image.open(self.path) as opened:
                opened.draft("RGB", (edge, edge))  # a JPEG decodes at a fraction of its size
                picture = opened.copy()
        picture.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        buffer = io.BytesIO()
        flat.save(buffer, "JPEG", quality=quality, optimize=True)
        return buffer.getvalue()

    def _preview_png(self) -> bytes:
        preview = self.image.copy()
        preview.thumbnail((_PREVIEW_EDGE, _PREVIEW_EDGE))
        buffer = io.BytesIO()
        preview.save(buffer, "PNG")
        return buffer.getvalue()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        png = base64.b64encode(self._preview_png()).decode()
        src = "data:image/png;base64," + png
        took = self.timings.get("total_s")
        caption = [f"<b>{html.escape(self.prompt)}</b>"]
        if self.revised_prompt and self.revised_prompt != self.prompt:
            caption.append(f"<i>revised:</i> {html.escape(self.revised_prompt)}")
        caption.append(
            html.escape(
                f"{self.size[0]}x{self.size[1]} {self.format}"
                + (f" · {took:.1f} s" if took is not None else "")
                + f" · {self.path}"
            )
        )
        figure = (
            f'<figure style="margin:0;max-width:{_PREVIEW_EDGE}px">'
            f'<img src="{src}" alt="{html.escape(self.prompt)}" style="max-width:100%"/>'
            f'<figcaption style="font-size:0.85em">{"<br/>".join(caption)}</figcaption></figure>'
        )
        return {"text/plain": repr(self), "image/png": png, "text/html": figure}
