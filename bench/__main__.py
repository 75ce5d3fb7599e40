"""Run every benchmark and print one table; ``--readme`` also writes it into README.md."""

from __future__ import annotations

import argparse
import platform
import re
import sys
from pathlib import Path

from . import (
    async_fanout,
    client_overhead,
    editor_browser,
    fast_path,
    follow_poll,
    grid_browser,
    grid_budget,
    grid_run,
    import_time,
    load,
    mask_history,
    rate_limit,
    research_export,
    scale_grid,
    store_scale,
    strokes,
)
from ._chart import svg

README = Path(__file__).resolve().parent.parent / "README.md"
CHART = README.parent / "docs" / "bench.svg"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| benchmark | ours | peer / limit | ratio | goal | |", "|---|---|---|---|---|---|"]
    for row in rows:
        verdict = "pass" if row["pass"] else "**FAIL**"
        lines.append(
            f"| {row['benchmark']} | {row['ours']} | {row['peer / limit']} | {row['ratio']:.2f} | {row['goal']} | {verdict} |"
        )
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    return "\n".join(lines) + f"\n\nMeasured with `make bench` on {machine}."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    modules = [
        client_overhead, import_time, async_fanout, grid_run, strokes, mask_history, editor_browser, load,
        fast_path, scale_grid, rate_limit, grid_budget, follow_poll, store_scale, research_export, grid_browser,
    ]
    rows = [row for module in modules for row in module.run()]
    text = table(rows)
    print(text)
    if args.readme:
        readme = README.read_text()
        block = f"{START}\n{text}\n{END}"
        README.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.DOTALL))
        CHART.write_text(svg(rows))
    return 0 if all(row["pass"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
