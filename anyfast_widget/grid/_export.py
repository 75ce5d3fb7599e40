"""A grid, exported: labelled contact sheets (PNG), a self-contained HTML report, its records as JSON and CSV.

Labels keep one legible size whatever the grid's size: a large grid is split into
several sheets (and pages into their own sheets) rather than shrunk. A record is one
request (a cell's repeat): labels, state, result, timing, cost, measures and ratings; the
JSON and CSV exports, ``Grid.to_records()`` and the widget's measures table are made of them.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from ..core import REQUEST_PARAMS, encode_preview
from ..store import atomic_write
from ._ratings import by_result

if TYPE_CHECKING:
    from ..store import ImageResult
    from ._grid import Grid
    from ._model import Cell

LABEL_PX = 18
NOTE_PX = 14
_PAD = 8
_BACKGROUND = (255, 255, 255)
_INK = (20, 20, 20)
_MUTED = (110, 110, 110)
_EMPTY = (236, 236, 236)
_STATUS_INK = {"error": (176, 0, 32), "blocked": (150, 80, 0), "cancelled": _MUTED, "pending": _MUTED, "running": _MUTED}


@dataclass
class ContactSheet:
    """One sheet: the picture, which part of the grid it shows, and where each image lies on it."""

    image: Image.Image
    page: int
    rows: range
    cols: range
    # (page, row, col, repeat) -> where that image lies on the sheet
    boxes: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = field(default_factory=dict)

    def save(self, path: str | os.PathLike[str]) -> Path:
        buffer = io.BytesIO()
        self.image.save(buffer, "PNG", optimize=False)
        atomic_write(Path(path), buffer.getvalue())
        return Path(path)


def save_contact_sheets(sheets: list[ContactSheet], path: str | os.PathLike[str]) -> list[Path]:
    """Write ``sheets`` as PNG: ``path`` itself for one sheet, ``<stem>-1.png``, ``<stem>-2.png``, ... for more."""
    target = Path(path)
    if len(sheets) == 1:
        return [sheets[0].save(target)]
    return [sheet.save(target.with_name(f"{target.stem}-{i + 1}{target.suffix or '.png'}")) for i, sheet in enumerate(sheets)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: Any, width: int, max_lines: int) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels, at most ``max_lines`` (the last ends in an ellipsis if cut)."""
    average = max(1.0, font.getlength("abcdefghijklmnopqrstuvwxyz") / 26)
    lines = textwrap.wrap(text, width=max(4, int(width / average))) or [""]
    while any(font.getlength(line) > width for line in lines) and average < width:
        average *= 1.1
        lines = textwrap.wrap(text, width=max(4, int(width / average))) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, len(lines[-1]) - 1)] + "…"
    return lines


def contact_sheets(
    grid: Grid, *, cell_size: int = 256, max_rows: int = 6, max_cols: int = 6, revised_prompts: bool = False
) -> list[ContactSheet]:
    """The grid as labelled sheets: one per page, split into blocks of at most ``max_rows`` x ``max_cols`` cells.

    A cell shows its repeats side by side, each fitted in ``cell_size`` pixels;
    a cell without an image shows its state (error, blocked, ...).
    """
    pages, rows, cols = grid.shape
    sheets = []
    for page in range(pages):
        for r0 in range(0, rows, max_rows):
            for c0 in range(0, cols, max_cols):
                block_rows, block_cols = range(r0, min(rows, r0 + max_rows)), range(c0, min(cols, c0 + max_cols))
                sheets.append(_sheet(grid, page, block_rows, block_cols, cell_size, revised_prompts))
    return sheets


def _sheet(grid: Grid, page: int, rows: range, cols: range, size: int, revised: bool) -> ContactSheet:
    label_font, note_font = _font(LABEL_PX), _font(NOTE_PX)
    line = LABEL_PX + 4
    note_line = NOTE_PX + 3
    cell_w = grid.repeats * size + (grid.repeats - 1) * _PAD
    row_label_w = 200 if grid.rows else 0
    note_lines = 4 if revised else 1
    cell_h = size + _PAD + note_lines * note_line
    title_h = 2 * line + _PAD
    header_h = (3 * line + _PAD) if grid.cols else 0
    width = _PAD + row_label_w + len(cols) * (cell_w + _PAD) + _PAD
    height = title_h + header_h + len(rows) * (cell_h + _PAD) + _PAD
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)

    axes = [f"{role}: {axis.name}" for role, axis in (("rows", grid.rows), ("columns", grid.cols), ("page", grid.pages)) if axis]
    title = f"grid {grid.id}" + (f" · page {grid.pages.labels[page]}" if grid.pages else "")
    draw.text((_PAD, _PAD), title, font=label_font, fill=_INK)
    draw.text((_PAD, _PAD + line), " · ".join(axes) or grid.cells[0].prompt, font=note_font, fill=_MUTED)

    x0 = _PAD + row_label_w
    top = title_h
    if grid.cols:
        for i, col in enumerate(cols):
            x = x0 + i * (cell_w + _PAD)
            for k, text in enumerate(_wrap(grid.cols.labels[col], label_font, cell_w, 3)):
                draw.text((x, top + k * line), text, font=label_font, fill=_INK)
        top += header_h

    boxes: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = {}
    for j, row in enumerate(rows):
        y = top + j * (cell_h + _PAD)
        if grid.rows:
            for k, text in enumerate(_wrap(grid.rows.labels[row], label_font, row_label_w - _PAD, max(1, size // line))):
                draw.text((_PAD, y + k * line), text, font=label_font, fill=_INK)
        for i, col in enumerate(cols):
            cell = grid.cell(row, col, page)
            x = x0 + i * (cell_w + _PAD)
            for slot in cell.slots:
                sx = x + slot.repeat * (size + _PAD)
                if slot.result is not None:
                    thumb = slot.result.image.convert("RGB")
                    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
                    ox, oy = sx + (size - thumb.width) // 2, y + (size - thumb.height) // 2
                    sheet.paste(thumb, (ox, oy))
                    boxes[(page, row, col, slot.repeat)] = (ox, oy, ox + thumb.width, oy + thumb.height)
                else:
                    draw.rectangle((sx, y, sx + size - 1, y + size - 1), fill=_EMPTY)
                    draw.text((sx + _PAD, y + _PAD), slot.status, font=label_font, fill=_STATUS_INK.get(slot.status, _INK))
            _draw_note(draw, cell, x, y + size + _PAD // 2, cell_w, note_font, note_line, note_lines, revised)
    return ContactSheet(sheet, page, rows, cols, boxes)


def _draw_note(
    draw: ImageDraw.ImageDraw, cell: Cell, x: int, y: int, width: int, font: Any, line: int, lines: int, revised: bool
) -> None:
    results = cell.results
    if revised and results and results[0].revised_prompt:
        text = results[0].revised_prompt
    else:
        errors = [s.error for s in cell.slots if s.error is not None]
        text = getattr(errors[0], "message", str(errors[0])) if errors else ""
        if not text and results:
            took = [r.timings.get("total_s") for r in results if r.timings.get("total_s") is not None]
            text = f"{sum(took) / len(took):.1f} s" if took else ""
    for k, piece in enumerate(_wrap(text, font, width, lines)):
        draw.text((x, y + k * line), piece, font=font, fill=_MUTED)


def records(grid: Grid) -> list[dict[str, Any]]:
    """One dict per request (cell and repeat): labels, state, result, timing, cost, measures, ratings; for pandas.

    ``cost`` is what the result recorded it cost, else the cell's price (None: not priced);
    ``wins``, ``losses`` and ``ties`` are its result's in the grid's blind ratings.
    """
    names = [axis.name if axis else None for axis in (grid.pages, grid.rows, grid.cols)]
    rated = by_result(grid.ratings)
    unrated = {"wins": 0, "losses": 0, "ties": 0}
    out = []
    for cell, slot in grid.slots():
        result, error = slot.result, slot.error
        change = result.annotations.get("mask_change") if result else None
        recorded = result.cost if result else None  # priced when saved (from the response's usage or the price table)
        record: dict[str, Any] = {
            "page": cell.labels[0],
            "row": cell.labels[1],
            "column": cell.labels[2],
            "page_axis": names[0],
            "row_axis": names[1],
            "column_axis": names[2],
            "repeat": slot.repeat,
            "status": slot.status,
            "endpoint": cell.prepared.endpoint,
            "prompt": cell.prompt,
            **{k: cell.prepared.effective_params.get(k) for k in REQUEST_PARAMS},
            "request_hash": cell.prepared.request_hash,
            "cost": recorded if recorded is not None else cell.cost,
            "result_id": result.id if result else None,
            "path": str(result.path) if result else None,
            "request_id": result.request_id if result else getattr(error, "request_id", None),
            "latency_s": result.timings.get("total_s") if result else None,
            "attempts": result.attempts if result else None,
            "revised_prompt": result.revised_prompt if result else None,
            "change_inside": change["changed_inside"] if change else None,
            "change_outside": change["changed_outside"] if change else None,
            "error": str(error) if error else None,
            **(rated.get(result.id, unrated) if result else unrated),
        }
        out.append(record)
    return out


def save_json(grid: Grid, path: str | os.PathLike[str]) -> Path:
    """The grid's axes and one record per request (see :meth:`Grid.to_records`), as JSON."""
    axes = {
        role: {"name": axis.name, "labels": list(axis.labels)} if axis else None
        for role, axis in (("rows", grid.rows), ("cols", grid.cols), ("pages", grid.pages))
    }
    payload = {"grid": grid.id, "repeats": grid.repeats, "axes": axes, "plan": vars(grid.plan()), "records": grid.to_records()}
    atomic_write(Path(path), json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode())
    return Path(path)


def save_csv(grid: Grid, path: str | os.PathLike[str]) -> Path:
    """One row per request (see :meth:`Grid.to_records`), as CSV."""
    records = grid.to_records()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["page", "row", "column"])
    writer.writeheader()
    writer.writerows(records)
    atomic_write(Path(path), buffer.getvalue().encode())
    return Path(path)


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#141414}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:6px;vertical-align:top}
th{background:#f6f6f6;text-align:left}img{max-width:256px;display:block;margin-bottom:4px}
.repeats{display:flex;gap:6px}.meta{font-size:12px;color:#555}.error{color:#b00020}.blocked{color:#965000}
details pre{white-space:pre-wrap;font-size:11px;max-width:520px}
"""


def _img_tag(result: ImageResult, alt: str) -> str:
    data, mime, _ = encode_preview(result.image, 512)
    src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return f'<img src="{src}" alt="{html.escape(alt)}" loading="lazy">'


def _cell_html(cell: Cell) -> str:
    parts = ['<div class="repeats">']
    for slot in cell.slots:
        if slot.result is not None:
            parts.append(f"<div>{_img_tag(slot.result, cell.prompt)}</div>")
        else:
            reason = html.escape(getattr(slot.error, "message", "") or "")
            parts.append(f'<div class="{slot.status}">{html.escape(slot.status)} {reason}</div>')
    parts.append("</div>")
    for slot in cell.slots:
        result = slot.result
        if result is None:
            continue
        took = result.timings.get("total_s")
        bits = [f"#{slot.repeat + 1}", f"request id {result.request_id or '-'}"]
        if took is not None:
            bits.append(f"{took:.2f} s")
        if cell.cost is not None:
            bits.append(f"cost {cell.cost:.3f}")
        change = result.annotations.get("mask_change")
        if change:
            bits.append(f"changed outside the mask {100 * change['changed_outside']:.1f}%")
        parts.append(f'<div class="meta">{html.escape(" · ".join(bits))}</div>')
    request = json.dumps(cell.prepared.params, indent=1)
    parts.append(f"<details><summary>request</summary><pre>{html.escape(request)}</pre></details>")
    return "".join(parts)


def save_html(grid: Grid, path: str | os.PathLike[str]) -> Path:
    """A self-contained report (images inlined): every cell with its images, request, request ids, latency and cost."""
    pages, rows, cols = grid.shape
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>grid {grid.id}</title><style>{_STYLE}</style></head><body>"]
    out.append(f"<h1>Grid {grid.id}</h1><p>{html.escape(str(grid.plan()))}</p>")
    for page in range(pages):
        if grid.pages:
            out.append(f"<h2>{html.escape(grid.pages.name)}: {html.escape(grid.pages.labels[page])}</h2>")
        out.append("<table><tr><th></th>")
        for col in range(cols):
            out.append(f"<th>{html.escape(grid.cols.labels[col]) if grid.cols else ''}</th>")
        out.append("</tr>")
        for row in range(rows):
            out.append(f"<tr><th>{html.escape(grid.rows.labels[row]) if grid.rows else ''}</th>")
            for col in range(cols):
                out.append(f"<td>{_cell_html(grid.cell(row, col, page))}</td>")
            out.append("</tr>")
        out.append("</table>")
    out.append("</body></html>")
    atomic_write(Path(path), "".join(out).encode())
    return Path(path)
