"""The package's architecture, checked: folders are layers, layers import downward only, and each module holds one idea.

Read from the source with ``ast`` (nothing is imported), so a lazy import inside a
function counts like any other; an import under ``if TYPE_CHECKING:`` is for
annotations only and does not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "anyfast_widget"
# Each layer and the layers below it that it may import; anything may import _version.
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "client": {"core", "store"},
    "browser": {"core"},
    "grid": {"core", "store", "client", "browser", "simulator"},  # simulator: the built-in stand-in of offline=True
    "studio": {"core", "store", "client", "browser", "grid", "simulator"},
    "magics": {"core", "store", "client", "studio"},  # the notebook extension, above all it drives
    "simulator": {"core"},
}
TOP_LEVEL = {"anyfast_widget", "anyfast_widget.__main__", "anyfast_widget.demo", "anyfast_widget._version"}
MAX_LINES = 500
CONFIG_MODULE = "anyfast_widget.client._config"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py")) if "static" not in path.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):
    """Every node that runs, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def _imports(name: str) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for each runtime import of the package's own modules."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name.startswith("anyfast_widget")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("anyfast_widget"):
                found.append((target, [alias.name for alias in node.names], node.lineno))
    return found


def _edges(name: str) -> set[str]:
    out = set()
    for target, names, _ in _imports(name):
        out.add(target)
        out.update(f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES)  # `from . import _strokes`
    return {t for t in out if t in MODULES and t != name}


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_is_in_a_layer_or_is_the_top():
    assert set(LAYERS) == {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    stray = [name for name in MODULES if _layer(name) is None and name not in TOP_LEVEL]
    assert stray == [], f"modules outside every layer folder: {stray}"


def test_layers_import_only_the_layers_below_them():
    wrong = []
    for name in MODULES:
        layer = _layer(name)
        if layer is None:
            continue
        for target, _, line in _imports(name):
            other = _layer(target)
            if target == "anyfast_widget._version" or other == layer or other in LAYERS[layer]:
                continue
            wrong.append(f"{name}:{line} imports {target}")  # a higher layer, or the package's top
    assert wrong == []


def test_a_layer_is_used_only_through_its_package_and_its_public_names():
    wrong = []
    for name in MODULES:
        layer = _layer(name)
        for target, names, line in _imports(name):
            other = _layer(target)
            if other is None or other == layer:
                continue
            if target != f"anyfast_widget.{other}":
                wrong.append(f"{name}:{line} reaches into {target}")
            wrong += [f"{name}:{line} takes the private {n} from {target}" for n in names if n.startswith("_")]
    assert wrong == []


def test_there_are_no_import_cycles_lazy_ones_included():
    graph = {name: _edges(name) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    assert cycles == []


def test_the_checks_above_see_lazy_imports():
    # The old tree's cycle (the grid model importing its view inside a method) would be found.
    tree = ast.parse("def view(self):\n    from ._view import GridView\n")
    assert any(isinstance(node, ast.ImportFrom) for node in _runtime_nodes(tree))
    guarded = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._grid import Grid\n")
    assert not [node for node in _runtime_nodes(guarded) if isinstance(node, ast.ImportFrom) and node.module == "_grid"]


def test_the_environment_is_read_in_one_module():
    readers = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")) or (
                isinstance(node, ast.ImportFrom) and node.module == "os" and {"environ", "getenv"} & {a.name for a in node.names}
            ):
                readers.append(f"{name}:{node.lineno}")
    assert readers and all(r.startswith(CONFIG_MODULE + ":") for r in readers), readers


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_is_small_and_says_what_it_holds(name):
    text = MODULES[name].read_text()
    assert len(text.splitlines()) <= MAX_LINES
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring and docstring.splitlines()[0].strip(), f"{name} has no docstring naming its idea"


def test_the_frontend_folders_mirror_the_python_layers():
    folders = {p.name for p in (ROOT / "js").iterdir() if p.is_dir()}
    assert folders - {"shared"} <= set(LAYERS), folders
    assert {"studio", "grid"} <= folders


def _private_attributes_of(layer: str) -> set[str]:
    """The ``_names`` a layer's classes define: methods, and attributes set on ``self``."""
    names = set()
    for name, path in MODULES.items():
        if _layer(name) != layer:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("_") and not node.name.startswith("__"):
                    names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                if node.attr.startswith("_") and not node.attr.startswith("__") and isinstance(node.ctx, ast.Store):
                    names.add(node.attr)
    return names


def test_the_widgets_and_grids_use_no_private_part_of_the_client():
    private = _private_attributes_of("client")
    assert {"_send", "_http", "_api_key"} <= private  # the check knows what to look for
    reaching = []
    for name, path in MODULES.items():
        if _layer(name) not in ("grid", "studio"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                    reaching.append(f"{name}:{node.lineno} .{node.attr}")
    assert reaching == []


def test_the_readme_layout_names_every_module_where_it_is():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    named: dict[str, set[str]] = {}
    folder = None
    for line in block.splitlines():
        head = line[:18].strip()
        if head.endswith("/") and head.rstrip("/") in LAYERS:
            folder = head.rstrip("/")
        elif head:
            folder = None  # another top-level entry (js/, tests/, ...)
        if folder is not None:
            named.setdefault(folder, set()).update(word.strip("(),;:") for word in line[18:].split() if word.startswith("_"))
    for layer in LAYERS:
        modules = {p.stem for p in (PACKAGE / layer).glob("_*.py") if p.stem != "__init__" and p.stem != "__main__"}
        assert named.get(layer, set()) == modules, f"README layout of {layer}/ differs from the tree"
