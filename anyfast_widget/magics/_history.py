"""``%anyfast history``: the run store's latest results as a gallery of thumbnails (HTML), small enough to keep in a notebook.

Each result shows as a JPEG thumbnail at most ``THUMB_EDGE`` pixels on a side (a few
KiB, not the original's megabytes) with its prompt, endpoint, size, time and id.
A result whose image cannot be decoded keeps its caption and says so instead of a
picture; nothing here writes to the run store.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..store import ImageResult

THUMB_EDGE = 192
_PROMPT_CHARS = 90  # longer prompts are cut in the caption; the whole one is its tooltip




def _figure(result: ImageResult) -> str:
    prompt = result.prompt if len(result.prompt) <= _PROMPT_CHARS else result.prompt[: _PROMPT_CHARS - 1] + "…"
    try:
        src = "data:image/jpeg;base64," + base64.b64encode(result.thumbnail_jpeg(THUMB_EDGE)).decode()
        style = f"max-width:{THUMB_EDGE}px;max-height:{THUMB_EDGE}px"
        picture = f'<img src="{src}" alt="{html.escape(result.prompt)}" style="{style}"/>'
    except OSError as error:  # missing, cut short or not an image any more
        picture = f'<div style="width:{THUMB_EDGE}px">(the image cannot be read: {html.escape(str(error))})</div>'
    facts = f"{result.endpoint} · {result.size[0]}x{result.size[1]} {result.format} · {result.created_at[:19]} · {result.id}"
    return (
        f'<figure style="margin:4px;width:{THUMB_EDGE}px" title="{html.escape(result.prompt)}">{picture}'
        f'<figcaption style="font-size:0.8em"><b>{html.escape(prompt)}</b><br/>{html.escape(facts)}</figcaption></figure>'
    )


@dataclass(frozen=True)
class History:
    """The last results of a run store (newest first), shown in a notebook as a gallery of thumbnails."""

    results: Sequence[ImageResult]
    run_dir: Path

    def __repr__(self) -> str:
        if not self.results:
            return f"No results in {self.run_dir} yet."
        lines = [f"The {len(self.results)} latest results in {self.run_dir}, newest first:"]
        lines += [f"  {result.id}  {result.endpoint}  {result.prompt[:_PROMPT_CHARS]!r}" for result in self.results]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        where = html.escape(str(self.run_dir))
        if not self.results:
            return f"<p>No results in <code>{where}</code> yet.</p>"
        figures = "".join(_figure(result) for result in self.results)
        heading = f"<p>The {len(self.results)} latest results in <code>{where}</code>, newest first.</p>"
        return f'<div class="anyfast-history">{heading}<div style="display:flex;flex-wrap:wrap">{figures}</div></div>'
