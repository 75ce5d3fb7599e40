"""The client is light: importing it loads no widget stack; the widgets load, whole, the first time one is used.

Each check runs in a fresh interpreter, since this one has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

WIDGET_STACK = ("IPython", "ipywidgets", "anywidget", "traitlets")


def run_fresh(code: str, cwd: Path | None = None) -> Any:
    """Run ``code`` in a new interpreter (in ``cwd``); it prints one JSON value, returned here."""
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_client_loads_no_widget_stack():
    found = run_fresh(
        "import json, sys\n"
        "from anyfast_widget import Client, AsyncClient, Mask, ValidationError, prepare_generation\n"
        f"print(json.dumps([name for name in {WIDGET_STACK!r} if name in sys.modules]))\n"
    )
    assert found == []


def test_loading_the_notebook_extension_hook_loads_no_widget_stack_either():
    # %load_ext runs in a shell that has IPython already; the magics need nothing more until %anyfast studio.
    found = run_fresh(
        "import json, sys\n"
        "import IPython\n"
        "from anyfast_widget import load_ipython_extension\n"
        "print(json.dumps([name for name in ('ipywidgets', 'anywidget') if name in sys.modules]))\n"
    )
    assert found == []


def test_the_widgets_are_still_there_and_bring_their_stack_when_used(tmp_path):
    found = run_fresh(
        "import json, sys\n"
        "import anyfast_widget\n"
        "listed = sorted(set(anyfast_widget.__all__) - set(dir(anyfast_widget)))\n"
        "before = [name for name in ('ipywidgets', 'anywidget') if name in sys.modules]\n"
        "studio = anyfast_widget.ImageStudio(run_dir='runs')\n"
        "from anyfast_widget import compare, Grid, replace\n"
        "print(json.dumps({'missing_from_dir': listed, 'before': before, 'studio': type(studio).__module__,\n"
        "    'is_widget': hasattr(studio, '_repr_mimebundle_') and 'anywidget' in sys.modules,\n"
        "    'grid': [compare.__module__, Grid.__name__, replace.__module__],\n"
        "    'same_object': anyfast_widget.ImageStudio is sys.modules['anyfast_widget.studio'].ImageStudio}))\n",
        cwd=tmp_path,
    )
    assert found["missing_from_dir"] == []
    assert found["before"] == []
    assert found["studio"] == "anyfast_widget.studio._studio" and found["is_widget"]
    assert found["grid"] == ["anyfast_widget.grid._compare", "Grid", "anyfast_widget.grid._axes"]
    assert found["same_object"]


def test_a_star_import_gives_every_public_name():
    found = run_fresh(
        "import json\n"
        "import anyfast_widget\n"
        "namespace = {}\n"
        "exec('from anyfast_widget import *', namespace)\n"
        "print(json.dumps(sorted(set(anyfast_widget.__all__) - set(namespace))))\n"
    )
    assert found == []


def test_a_name_the_package_does_not_have_is_an_attribute_error():
    found = run_fresh(
        "import json\n"
        "import anyfast_widget\n"
        "try:\n"
        "    anyfast_widget.ImageStduio\n"
        "except AttributeError as error:\n"
        "    print(json.dumps(str(error)))\n"
    )
    assert found == "module 'anyfast_widget' has no attribute 'ImageStduio'"
