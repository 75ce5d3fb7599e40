"""The README says what is there: its Layout names every notebook and module, and its examples print what they show.

(``tests/test_layers.py`` checks that the Layout puts each private module in its layer.)
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import anyfast_widget

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "anyfast_widget"
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _layout() -> str:
    return _section("Layout").split("```", 2)[1]


def test_the_layout_names_every_notebook():
    line = next(line for line in _layout().splitlines() if line.startswith("notebooks/"))
    notebooks = sorted(p.name for p in (ROOT / "notebooks").iterdir() if not p.name.startswith("."))
    assert notebooks and [name for name in notebooks if name not in line] == []


def test_the_layout_names_every_module_outside_the_layers_and_every_public_one_inside():
    words = set(re.findall(r"[\w.]+", _layout()))
    top = [p.name for p in PACKAGE.glob("*.py")]
    public = [p.stem for p in PACKAGE.glob("*/*.py") if not p.name.startswith("_") and "static" not in p.parts]
    assert "demo.py" in top and "pytest_plugin" in public  # the check sees what it is meant to
    assert [name for name in top + public if name not in words] == []
    layers = [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    assert [name for name in layers if f"  {name}/" not in _layout()] == []


def _grid_example() -> tuple[list[ast.stmt], str]:
    """The grid section's example up to ``print(grid.plan())``, and the output its comment shows."""
    code = _section("Comparison grids").split("```python\n", 1)[1].split("```", 1)[0]
    tree = compile(code, "README.md", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    line = next(line for line in code.splitlines() if line.startswith("print(grid.plan())"))
    until = next(i for i, node in enumerate(tree.body) if "grid.plan" in ast.unparse(node))
    return tree.body[:until], line.split("#", 1)[1].strip()


def test_the_grid_examples_plan_prints_what_the_readme_says(anyfast_simulator, tmp_path, monkeypatch):
    statements, shown = _grid_example()
    namespace: dict = {}
    exec(compile(ast.Module(statements[:1], []), "README.md", "exec"), namespace)  # its import
    sim = anyfast_simulator
    namespace["compare"] = functools.partial(
        anyfast_widget.compare, api_key=sim.api_key, base_url=sim.base_url, run_dir=tmp_path / "runs", run=False, progress=False
    )
    exec(compile(ast.Module(statements[1:], []), "README.md", "exec"), namespace)
    assert str(namespace["grid"].plan()) == shown
    assert sim.request_count() == 0


def test_the_readme_sends_readers_to_public_names_not_into_private_modules():
    # `_composite.difference` is a private module's name; `anyfast_widget.core.difference` is the public one.
    prose = README.split("\n## Layout\n", 1)[0]  # (the Layout names the private modules on purpose)
    reaching = [m[0] for m in re.finditer(r"(?<![\w/])_[a-z]\w*\.(?!py\b)[a-z_]\w*", prose)]
    assert reaching == []
    assert anyfast_widget.core.difference is not None and "difference" in anyfast_widget.core.__all__
