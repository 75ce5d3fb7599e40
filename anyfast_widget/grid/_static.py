"""A grid as a notebook shows it without a kernel: a small labelled contact sheet in HTML, thumbnails in a table.

A saved notebook opened with no kernel (nbconvert's HTML, nbviewer, GitHub) cannot
draw the live widget. :func:`static_bundle` adds ``text/html`` and ``text/plain``
beside the view in the grid view's display bundle; nbconvert shows the view only
when the notebook saved the widget's state, and this HTML otherwise.

The HTML is a table per page: column labels across the top, row labels down the
side, each cell's repeats side by side as JPEG thumbnails of at most
:data:`STATIC_EDGE` pixels (inlined as ``data:`` URIs), a cell without a picture
its state and error. At most :data:`STATIC_PICTURES` pictures are inlined, so the
output stays small; the others keep their place and say where the full sheets are
(``grid.save_contact_sheets``). It is the grid when it was displayed. The API key,
the server's address and file paths never appear.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._grid import Grid
    from ._model import Cell

STATIC_EDGE = 128
STATIC_PICTURES = 36
_TEXT_CELLS = 60  # cells listed in the text form; the rest are counted
_STATE_INK = {"error": "#b00020", "blocked": "#964f00"}




class _Budget:
    """How many more pictures may be inlined."""

    def __init__(self, pictures: int) -> None:
        self.left = pictures
        self.skipped = 0


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
        else:
            try:
                uri = "data:image/jpeg;base64," + base64.b64encode(slot.result.thumbnail_jpeg(STATIC_EDGE)).decode("ascii")
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


def _page_html(grid: Grid, page: int, budget: _Budget) -> str:
    _, rows, cols = grid.shape
    caption = f"page {html.escape(grid.pages.labels[page])}" if grid.pages else ""
    head = ""
    if grid.cols:
        corner = f"<th>{html.escape(grid.rows.name if grid.rows else '')} \\ {html.escape(grid.cols.name)}</th>"
        labels = "".join(f'<th style="text-align:left;padding:4px">{html.escape(label)}</th>' for label in grid.cols.labels)
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
    budget = _Budget(STATIC_PICTURES)
    tables = "".join(_page_html(grid, page, budget) for page in range(grid.shape[0]))
    prompt = "" if grid.cols or grid.rows else f"<br/>{html.escape(grid.cells[0].prompt)}"
    skipped = ""
    if budget.skipped:
        skipped = (
            f"<p>{budget.skipped} more picture{'s' if budget.skipped != 1 else ''} not inlined, to keep the notebook small: "
            "<code>grid.save_contact_sheets(path)</code> writes every one.</p>"
        )
    return (
        f'<div class="anyfast-static-grid-view" style="font-family:sans-serif">'
        f"<p><b>{html.escape(summary_line(grid))}</b>{prompt}<br/>"
        '<span style="color:#666">A static copy of the grid as it was when this output was made: '
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
