"""The public surface: what ``anyfast_widget`` exports is what it documents, and nothing private leaks into it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyfast_widget
import anyfast_widget.simulator

ROOT = Path(__file__).resolve().parent.parent
# Names the README and the shipped notebooks tell users to import from the package.
_IMPORT = re.compile(r"from (anyfast_widget(?:\.simulator)?) import ([A-Za-z_, ]+)")


def _documented_imports() -> list[tuple[str, str]]:
    texts = [(ROOT / "README.md").read_text()]
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        texts += ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    found = []
    for text in texts:
        for module, names in _IMPORT.findall(text):
            found += [(module, name.strip()) for name in names.split(",") if name.strip()]
    return found


def test_every_exported_name_exists_and_is_listed_once():
    for module in (anyfast_widget, anyfast_widget.simulator):
        assert len(module.__all__) == len(set(module.__all__)), f"{module.__name__}.__all__ lists a name twice"
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == [], f"{module.__name__}.__all__ names what it does not define: {missing}"


def test_exported_members_come_from_the_package_and_say_so():
    for name in anyfast_widget.__all__:
        member = getattr(anyfast_widget, name)
        if name.startswith("__") or not callable(member):
            continue  # __version__, MODEL, DEFAULT_BASE_URL
        assert getattr(member, "__module__", "").startswith("anyfast_widget."), f"{name} is re-exported from elsewhere"
        assert member.__doc__, f"{name} has no docstring"


def test_nothing_public_is_left_out_of_all():
    for module in (anyfast_widget, anyfast_widget.simulator):
        public = {
            name
            for name, member in vars(module).items()
            if not name.startswith("_")
            and getattr(member, "__module__", "").startswith("anyfast_widget")
            and not isinstance(member, type(anyfast_widget))  # the layer packages themselves
        }
        assert public - set(module.__all__) == set(), f"{module.__name__} has public names not in __all__"


def test_the_names_the_readme_and_notebooks_import_are_exported():
    documented = _documented_imports()
    assert ("anyfast_widget", "ImageStudio") in documented  # the check reads what it should
    for module_name, name in documented:
        module = anyfast_widget if module_name == "anyfast_widget" else anyfast_widget.simulator
        assert name in module.__all__, f"the docs import {name} from {module_name}, which does not export it"


def test_the_public_api_is_what_it_was_before_the_layers():
    # The names importable from anyfast_widget before the package was split into layer folders.
    before = {
        "__version__", "MODEL", "DEFAULT_BASE_URL", "ImageStudio", "compare", "Grid", "Plan", "Axis", "axis", "prompts",
        "replace", "sources", "masks", "Client", "AsyncClient", "RetryPolicy", "ImageResult", "Mask", "MaskChange",
        "keep_outside", "mask_change", "RunStore", "Violation", "nearest_sizes", "AnyfastError", "ValidationError",
        "ConfigurationError", "APIError", "BadRequestError", "ModerationBlockedError", "AuthenticationError",
        "PermissionDeniedError", "RateLimitError", "ServerError", "APIStatusError", "APITimeoutError", "APIConnectionError",
        "MalformedResponseError", "DownloadError", "ConfirmationRequired",
    }  # fmt: skip
    assert before <= set(anyfast_widget.__all__)
