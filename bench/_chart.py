"""The bench table as a picture: one bar per row, its ratio against the row's goal (the line at 1).

Written as SVG text (no plotting library needed), so that ``python -m bench --readme``
redraws it with the table it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

LABEL_CHARS = 76
SCALE = 1.5  # the bar of a row at 1.5 times its goal or more fills the width
ROW_PX, LABEL_PX, BAR_PX, PAD = 20, 500, 360, 10
PASS_INK, FAIL_INK, GOAL_INK = "#388e3c", "#d32f2f", "#1f1f1f"


def short_name(benchmark: str) -> str:
    """A row's name without its details in parentheses; a long one keeps its start and its end (where rows differ)."""
    name = re.sub(r" \([^()]*(\([^()]*\)[^()]*)*\)", "", benchmark).replace("`", "")
    if len(name) <= LABEL_CHARS:
        return name
    head = LABEL_CHARS * 2 // 5
    return name[:head].rstrip() + " … " + name[-(LABEL_CHARS - head - 3) :].lstrip()


def against_goal(ratio: float, goal: str) -> float:
    """``ratio`` as a fraction of the goal's bound (``<= 0.25`` makes 0.20 into 0.8); ``= 0`` goals stay as they are."""
    bound = re.search(r"<=\s*([0-9.]+)", goal)
    return ratio / float(bound.group(1)) if bound and float(bound.group(1)) > 0 else ratio


def svg(rows: Sequence[dict[str, Any]]) -> str:
    """The chart of ``rows`` (the bench's rows: benchmark, ratio, goal, pass) as an SVG document."""
    width = PAD + LABEL_PX + BAR_PX + 60
    top = 28
    height = top + ROW_PX * len(rows) + 24
    goal_x = PAD + LABEL_PX + BAR_PX / SCALE
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{PAD}" y="16" font-weight="bold" font-size="12">Each benchmark against its goal: '
        f"a bar short of the line passes</text>",
    ]
    for i, row in enumerate(rows):
        y = top + i * ROW_PX
        value = against_goal(round(float(row["ratio"]), 2), str(row["goal"]))  # as the table shows it
        ink = PASS_INK if row["pass"] else FAIL_INK
        bar = max(1.0, min(value, SCALE) / SCALE * BAR_PX)
        parts += [
            f'<text x="{PAD}" y="{y + 13}">{escape(short_name(str(row["benchmark"])))}</text>',
            f'<rect x="{PAD + LABEL_PX}" y="{y + 4}" width="{bar:.1f}" height="{ROW_PX - 8}" fill="{ink}"/>',
            f'<text x="{PAD + LABEL_PX + bar + 4:.1f}" y="{y + 13}" fill="{ink}">{value:.2f}</text>',
        ]
    bottom = top + ROW_PX * len(rows)
    parts += [
        f'<line x1="{goal_x:.1f}" y1="{top}" x2="{goal_x:.1f}" y2="{bottom}" stroke="{GOAL_INK}" stroke-dasharray="3 2"/>',
        f'<text x="{goal_x:.1f}" y="{bottom + 14}" text-anchor="middle">goal</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"
