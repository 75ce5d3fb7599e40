"""The bench table's picture: a bar per row against its goal, and the README's picture is of the README's table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bench._chart import FAIL_INK, PASS_INK, against_goal, short_name, svg

ROOT = Path(__file__).resolve().parent.parent
NS = {"svg": "http://www.w3.org/2000/svg"}


def bars(document: str) -> list[tuple[float, str]]:
    """(width, colour) of each row's bar."""
    tree = ET.fromstring(document)
    return [(float(r.get("width")), r.get("fill")) for r in tree.findall("svg:rect", NS)[1:]]  # (the first: the background)


def readme_table() -> list[str]:
    """The lines of the README's bench table."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- bench:start -->", 1)[1].split("<!-- bench:end -->", 1)[0]
    return [line for line in block.splitlines() if line.startswith("|")]


def readme_rows() -> list[dict[str, object]]:
    """The README's bench table, parsed back into the bench's rows."""
    table = "\n".join(readme_table())
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 6 and cells[0] not in ("benchmark", "---") and not cells[0].startswith("---"):
            rows.append({"benchmark": cells[0], "ratio": float(cells[3]), "goal": cells[4], "pass": cells[5] == "pass"})
    return rows


def test_each_row_is_a_bar_against_its_goal_red_when_it_fails():
    rows = [
        {"benchmark": "per-call time (median of 100)", "ratio": 0.75, "goal": "<= 1.00", "pass": True},
        {"benchmark": "one poll, nothing new", "ratio": 0.20, "goal": "<= 0.25", "pass": True},
        {"benchmark": "50 strokes & more <fast>", "ratio": 1.09, "goal": "<= 1.00", "pass": False},
        {"benchmark": "long tasks while drawing", "ratio": 0.0, "goal": "= 0", "pass": True},
    ]
    drawn = bars(svg(rows))
    assert [colour for _, colour in drawn] == [PASS_INK, PASS_INK, FAIL_INK, PASS_INK]
    widths = [width for width, _ in drawn]
    assert widths[1] > widths[0]  # 0.20 of a 0.25 goal is nearer its goal than 0.75 of 1
    assert widths[2] > widths[1] and widths[3] <= 1.0
    assert against_goal(0.20, "<= 0.25") == 0.8
    assert short_name("per-call time, 1024x1024 PNG (median of 100)") == "per-call time, 1024x1024 PNG"
    # rows that start alike still differ by their ends
    history = "the studio's history from a run store of 100,000 results (fixture cached in /tmp): {}, median of 7"
    first = short_name(history.format("until all 24 previews are in, first opening"))
    again = short_name(history.format("next openings"))
    assert first != again and first.endswith("first opening, median of 7") and "(" not in first
    assert "&amp; more &lt;fast&gt;" in svg(rows)


def test_the_readme_shows_the_picture_of_its_own_table():
    rows = readme_rows()
    assert len(rows) > 30
    assert "![" in (ROOT / "README.md").read_text() and "(docs/bench.svg)" in (ROOT / "README.md").read_text()
    assert len(rows) == len(readme_table()) - 2  # every row was read back (less the head and its rule)
    assert (ROOT / "docs" / "bench.svg").read_text() == svg(rows), "run `python -m bench --readme` (make bench) to redraw it"
