"""Smoke test of the browser harness: a tiny inline anywidget, in JupyterLab 4 and in Notebook 7."""

from __future__ import annotations

import re
import sys

import pytest
from playwright.sync_api import expect

from .jupyter import widget_state

pytestmark = pytest.mark.browser

COUNTER = '''\
import anywidget
import traitlets


class Counter(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const button = document.createElement("button");
      button.className = "harness-counter";
      const show = () => { button.textContent = `clicked ${model.get("value")} times`; };
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", show);
      show();
      el.appendChild(button);
    }
    export default { render };
    """
    value = traitlets.Int(0).tag(sync=True)


counter = Counter()
counter'''

READ_BACK = 'print(f"python sees {counter.value}")'

WHICH_PYTHON = "import sys, anyfast_widget\nprint(sys.executable)"


def test_counter_widget_round_trip(jupyter_server, open_notebook, ui):
    jupyter_server.write_notebook(f"counter-{ui}.ipynb", [WHICH_PYTHON, COUNTER, READ_BACK])
    nb = open_notebook(f"counter-{ui}.ipynb")
    nb.run_all()
    assert nb.output_text(0) == sys.executable  # the kernel is this interpreter, and it has the package

    button = nb.wait_for("button.harness-counter")
    expect(button).to_have_text("clicked 0 times")
    assert nb.output_text(2) == "python sees 0"

    button.click()
    button.click()
    expect(button).to_have_text("clicked 2 times", timeout=nb.timeout * 1000)
    # Python sees the clicks: run the read-back cell again, and a new cell typed into the page.
    assert nb.run_cell(2) == "python sees 2"
    assert nb.add_cell("print(counter.value * 10)") == "20"

    saved = nb.save()
    counters = [m for m in widget_state(saved).values() if m["state"].get("value") == 2]
    assert counters, f"no saved widget model with value 2 in {sorted(widget_state(saved))}"
    assert re.search(r"python sees 2", str(saved.cells[2].outputs))

    nb.screenshot()
    nb.screenshot("widget", selector=".jp-OutputArea-output:has(button.harness-counter)")
    nb.assert_no_console_errors()
