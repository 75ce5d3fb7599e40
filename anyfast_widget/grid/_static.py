"""A grid as a notebook shows it without a kernel: a small labelled contact sheet in HTML, thumbnails in a table.

A saved notebook opened with no kernel (nbconvert's HTML, nbviewer, JupyterLab)
cannot draw the live widget. In IPython the grid shows :func:`static_data` as an
output of its own after the widget's, kept up to date as cells fill in
(``browser._static_copy``); elsewhere :func:`static_bundle` adds it beside the view
in the widget's own bundle.

The HTML is a table per page: column labels across the top, row labels down the
side, each cell's repeats side by side as JPEG thumbnails of at most
:data:`STATIC_EDGE` pixels (inlined as ``data:`` URIs), a cell without a picture
its state and error. A big grid shows the first 8 rows and 8 columns of each page
(what its live view starts with) and says how many more there are: the HTML of a
32 x 32 grid's every cell would be parsed by the notebook's page at every display.
At most :data:`STATIC_PICTURES` pictures are inlined, so the output stays small; the
others keep their place and say where the full sheets are
(``grid.save_contact_sheets``). The API key,
the server's address and file paths never appear.

Making a thumbnail decodes the whole picture (about 20 ms for a 1024 px PNG), and the
live view cannot show before this HTML is made: the pictures are made a few at a time
in threads (decoding lets go of the GIL) and kept by result (``browser._thumbnails``), so
showing a grid again, or another grid over the same results, costs nothing. A big grid
(more than 8 rows or columns) waits at most :data:`BIG_WAIT_S` for its pictures: those
not made by then say so, and are made meanwhile for the next display.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

from ..browser import made, make_ahead, thumbnail
from ._traits import WINDOW

if TYPE_CHECKING:
    from ._grid import Grid
    from ._model import Cell

STATIC_EDGE = 128
STATIC_PICTURES = 36
_TEXT_CELLS = 60  # cells listed in the text form; the rest are counted
_STATE_INK = {"error": "#b00020", "blocked": "#964f00"}
BIG_WAIT_S = 0.15  # seconds a big grid's display waits for pictures not made before


def _big(grid: Grid) -> bool:
    _, rows, cols = grid.shape
    return rows > WINDOW or cols > WINDOW


def _make_ahead(grid: Grid) -> None:
    """Make the thumbnails the table will inline (the first :data:`STATIC_PICTURES` results) side by side in threads.

    All of them for a grid that fits in a window; for a big grid, those made within :data:`BIG_WAIT_S`.
    """
    wanted = [slot.result for cell in _shown(grid) for slot in cell.slots if slot.result is not None][:STATIC_PICTURES]
    make_ahead(wanted, STATIC_EDGE, timeout=BIG_WAIT_S if _big(grid) else None)


class _Budget:
    """How many more pictures may be inlined."""

    def __init__(self, pictures: int, *, made_only: bool = False) -> None:
        self.left = pictures
        self.skipped = 0
        self.late = 0  # not made in time (a big grid's display does not wait)
        self.made_only = made_only


def _box(content: str, *, ink: str = "#666") -> str:
    style = f"width:{STATIC_EDGE}px;height:{STATIC_EDGE}px;background:#ececec;color:{ink};font-size:0.8em;overflow:hidden"
    return f'<div style="{style};display:flex;align-items:center;justify-content:center;text-align:center">{content}</div>'


def _cell_html(cell: Cell, budget: _Budget) -> str:
    pieces = []
    for slot in cell.slots:
        alt = html.escape(f"{cell.prompt} ({', '.join(label for label in cell.labels if label)})", quote=True)
        if slot.result is None:
            pieces.append(_box(html.escape(str(slot.status)), ink=_STATE_INK.get(str(slot.status), "#666")))
        elif budget.left <= 0:
            budget.skipped += 1
            pieces.append(_box("not inlined"))
        elif budget.made_only and made(slot.result, STATIC_EDGE) is None:
            budget.left -= 1
            budget.late += 1
            pieces.append(_box("not made in time"))
        else:
            try:
                uri = "data:image/jpeg;base64," + base64.b64encode(thumbnail(slot.result, STATIC_EDGE)).decode("ascii")
            except OSError as error:
                pieces.append(_box(html.escape(f"cannot be read: {error}")))
                continue
            budget.left -= 1
            img = f'<img class="anyfast-static-thumb" src="{uri}" alt="{alt}" title="{alt}"/>'
            pieces.append(_box(img))
    errors = [s.error for s in cell.slots if s.error is not None]
    note = ""
    if errors:
        message = str(getattr(errors[0], "message", "") or errors[0])[:160]
        width = len(cell.slots) * (STATIC_EDGE + 4)
        note = f'<div style="font-size:0.75em;color:#b00020;max-width:{width}px">{html.escape(message)}</div>'
    return f'<td style="vertical-align:top;padding:4px"><div style="display:flex;gap:4px">{"".join(pieces)}</div>{note}</td>'


def _shown(grid: Grid) -> list[Cell]:
    """The cells the table shows, in its order: the first :data:`WINDOW` rows and columns of each page."""
    pages, rows, cols = grid.shape
    return [grid.cell(r, c, p) for p in range(pages) for r in range(min(rows, WINDOW)) for c in range(min(cols, WINDOW))]


def _page_html(grid: Grid, page: int, budget: _Budget) -> str:
    _, rows, cols = grid.shape
    rows, cols = min(rows, WINDOW), min(cols, WINDOW)
    caption = f"page {html.escape(grid.pages.labels[page])}" if grid.pages else ""
    head = ""
    if grid.cols:
        corner = f"<th>{html.escape(grid.rows.name if grid.rows else '')} \\ {html.escape(grid.cols.name)}</th>"
        shown = grid.cols.labels[:cols]
        labels = "".join(f'<th style="text-align:left;padding:4px">{html.escape(label)}</th>' for label in shown)
        head = f"<thead><tr>{corner if grid.rows else ''}{labels}</tr></thead>"
    body = []
    for row in range(rows):
        label = ""
        if grid.rows:
            label = f'<th style="text-align:left;vertical-align:top;padding:4px">{html.escape(grid.rows.labels[row])}</th>'
        body.append(f"<tr>{label}{''.join(_cell_html(grid.cell(row, col, page), budget) for col in range(cols))}</tr>")
    title = f'<caption style="text-align:left;font-weight:bold">{caption}</caption>' if caption else ""
    table = '<table class="anyfast-static-grid" style="border-collapse:collapse">'
    return f"{table}{title}{head}<tbody>{''.join(body)}</tbody></table>"


def _counts(grid: Grid) -> str:
    counts: dict[str, int] = {}
    for _, slot in grid.slots():
        counts[str(slot.status)] = counts.get(str(slot.status), 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def summary_line(grid: Grid) -> str:
    """One line: ``grid 1a2b3c · 1x2x3 x2 repeats · rows: quality · columns: prompt · 12 done``."""
    pages, rows, cols = grid.shape
    axes = [f"{role}: {axis.name}" for role, axis in (("rows", grid.rows), ("columns", grid.cols), ("pages", grid.pages)) if axis]
    return " · ".join([f"grid {grid.id}", f"{pages}x{rows}x{cols} x{grid.repeats} repeats", *axes, _counts(grid)])


def static_html(grid: Grid) -> str:
    """The grid as HTML: its line, then one labelled table of thumbnails per page (:data:`STATIC_PICTURES` at most)."""
    _make_ahead(grid)
    budget = _Budget(STATIC_PICTURES, made_only=_big(grid))
    tables = "".join(_page_html(grid, page, budget) for page in range(grid.shape[0]))
    prompt = "" if grid.cols or grid.rows else f"<br/>{html.escape(grid.cells[0].prompt)}"
    pages, rows, cols = grid.shape
    skipped = ""
    if rows > WINDOW or cols > WINDOW:
        skipped = (
            f"<p>The first {min(rows, WINDOW)} rows and {min(cols, WINDOW)} columns of {rows} x {cols}"
            f"{' on each page' if pages > 1 else ''}: <code>grid.save_contact_sheets(path)</code> writes every one.</p>"
        )
    if budget.late:
        skipped += (
            f"<p>{budget.late} picture{'s' if budget.late != 1 else ''} not made in time for this display "
            "(the live view does not wait for them): showing the grid again inlines them.</p>"
        )
    if budget.skipped:
        skipped += (
            f"<p>{budget.skipped} more picture{'s' if budget.skipped != 1 else ''} not inlined, to keep the notebook small: "
            "<code>grid.save_contact_sheets(path)</code> writes every one.</p>"
        )
    return (
        f'<div class="anyfast-static-grid-view" style="font-family:sans-serif">'
        f"<p><b>{html.escape(summary_line(grid))}</b>{prompt}<br/>"
        '<span style="color:#666">A static copy of the grid (kept up to date while the grid ran): '
        f"run the notebook for the live grid.</span></p>{tables}{skipped}</div>"
    )


def static_text(grid: Grid) -> str:
    """The grid as plain text: its line, then each cell's labels and its repeats' states."""
    lines = [summary_line(grid)]
    for cell in grid.cells[:_TEXT_CELLS]:
        labels = " / ".join(label for label in cell.labels if label) or cell.prompt
        lines.append(f"  {labels}: {', '.join(str(s.status) for s in cell.slots)}")
    if len(grid.cells) > _TEXT_CELLS:
        lines.append(f"  ... and {len(grid.cells) - _TEXT_CELLS} more cells")
    return "\n".join(lines)


def static_data(grid: Grid) -> dict[str, str]:
    """The grid's static copy as an output of its own: its HTML and its text."""
    return {"text/html": static_html(grid), "text/plain": static_text(grid)}


def static_bundle(bundle: Any, grid: Grid) -> Any:
    """A widget's display bundle (``data`` or ``(data, metadata)``) with the static HTML added and the text extended.

    The view stays, and the text form still starts with the widget's own (its ``repr``).
    """
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
    data = dict(data or {})
    text = static_text(grid)
    data["text/plain"] = f"{data['text/plain']}\n{text}" if data.get("text/plain") else text
    data["text/html"] = static_html(grid)
    return data if metadata is None else (data, metadata)
