"""The studio as a notebook shows it without a kernel: its latest results as small JPEG thumbnails, with their prompts.

A saved notebook opened with no kernel (nbconvert's HTML, nbviewer, JupyterLab)
cannot draw the live widget. In IPython the studio shows :func:`static_data` as an
output of its own after the widget's, kept up to date as results come in
(``browser._static_copy``); elsewhere :func:`static_bundle` adds it beside the view
in the widget's own bundle.

At most :data:`STATIC_RESULTS` results, newest first, each a JPEG of at most
:data:`STATIC_EDGE` pixels on its long side (a few KiB, inlined as a ``data:`` URI),
and one line saying what the studio is (endpoint, sources, results, offline or not).
The API key and the server's address never appear, nor file paths in the HTML (the
text form of the widget's bundle starts with the studio's ``repr``, which names its
run directory).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..browser import make_ahead, thumbnail
from ..store import ImageResult

STATIC_RESULTS = 8
STATIC_EDGE = 192
_PROMPT_CHARS = 120  # longer prompts are cut in the caption; the whole one is the picture's alt text and tooltip


@dataclass(frozen=True)
class StudioSummary:
    """What the static view says about a studio: no key, no address, no paths."""

    endpoint: str  # "generations" or "edits"
    sources: int
    results: int
    offline: bool

    def line(self) -> str:
        """One line: ``ImageStudio · edits · 2 sources · 5 results``, and ``· offline (...)`` on the built-in stand-in."""
        sources = f"{self.sources} source{'s' if self.sources != 1 else ''}"
        results = f"{self.results} result{'s' if self.results != 1 else ''}"
        offline = " · offline (built-in stand-in, synthetic images)" if self.offline else ""
        return f"ImageStudio · {self.endpoint} · {sources} · {results}{offline}"




def _caption(prompt: str) -> str:
    return prompt if len(prompt) <= _PROMPT_CHARS else prompt[: _PROMPT_CHARS - 1] + "…"


def _figure(result: ImageResult) -> str:
    prompt = html.escape(result.prompt, quote=True)
    box = f"width:{STATIC_EDGE}px;height:{STATIC_EDGE}px"
    try:
        uri = "data:image/jpeg;base64," + base64.b64encode(thumbnail(result, STATIC_EDGE)).decode("ascii")
        picture = (
            f'<div style="{box};display:flex;align-items:center;justify-content:center;background:#f4f4f4">'
            f'<img class="anyfast-static-thumb" src="{uri}" alt="{prompt}" '
            f'style="max-width:{STATIC_EDGE}px;max-height:{STATIC_EDGE}px"/></div>'
        )
    except OSError as error:  # missing, cut short or not an image any more: the caption stays
        picture = f'<div style="{box};background:#f4f4f4">(the picture cannot be read: {html.escape(str(error))})</div>'
    width, height = result.size
    facts = html.escape(f"{result.endpoint} · {width}x{height} {result.format} · {result.id}")
    return (
        f'<figure class="anyfast-static-result" style="margin:4px;width:{STATIC_EDGE}px" title="{prompt}">{picture}'
        f'<figcaption style="font-size:0.8em;overflow-wrap:anywhere"><b>{html.escape(_caption(result.prompt))}</b>'
        f'<br/><span style="color:#666">{facts}</span></figcaption></figure>'
    )


def static_html(summary: StudioSummary, results: Sequence[ImageResult]) -> str:
    """The studio as HTML: its line, then up to :data:`STATIC_RESULTS` of ``results`` (newest first) as thumbnails."""
    shown = list(results)[:STATIC_RESULTS]
    make_ahead(shown, STATIC_EDGE)
    if shown:
        more = f" (the {len(shown)} latest shown)" if summary.results > len(shown) else ""
        body = f'<div style="display:flex;flex-wrap:wrap">{"".join(_figure(r) for r in shown)}</div>'
        note = f"Its latest results, newest first{more}."
    else:
        body = ""
        note = "No results yet."
    return (
        f'<div class="anyfast-static-studio" style="font-family:sans-serif">'
        f"<p><b>{html.escape(summary.line())}</b><br/>"
        f'<span style="color:#666">{html.escape(note)} A static copy: run the notebook for the live studio.</span></p>'
        f"{body}</div>"
    )


def static_text(summary: StudioSummary, results: Sequence[ImageResult]) -> str:
    """The studio as plain text (after its repr, in the bundle): its line, then one line (id, size, prompt) per result shown."""
    lines = [summary.line()]
    for result in list(results)[:STATIC_RESULTS]:
        width, height = result.size
        lines.append(f"  {result.id}  {width}x{height}  {_caption(result.prompt)!r}")
    return "\n".join(lines)


def static_data(summary: StudioSummary, results: Sequence[ImageResult]) -> dict[str, str]:
    """The studio's static copy as an output of its own: its HTML and its text."""
    return {"text/html": static_html(summary, results), "text/plain": static_text(summary, results)}


def static_bundle(bundle: Any, summary: StudioSummary, results: Sequence[ImageResult]) -> Any:
    """A widget's display bundle (``data`` or ``(data, metadata)``) with the static HTML added and the text extended.

    The view stays, and the text form still starts with the widget's own (its ``repr``).
    """
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
    data = dict(data or {})
    text = static_text(summary, results)
    data["text/plain"] = f"{data['text/plain']}\n{text}" if data.get("text/plain") else text
    data["text/html"] = static_html(summary, results)
    return data if metadata is None else (data, metadata)
