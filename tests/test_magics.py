"""The notebook extension, run for real: ``%load_ext anyfast_widget`` and the ``%anyfast`` magics in a Jupyter kernel.

A small notebook is executed by nbclient against the stand-in server, as
tests/test_notebooks.py does with the shipped ones; what is checked is what a user
sees under each cell (pictures, the gallery, the error's text, no traceback) and
what is in the run store afterwards.
"""

from __future__ import annotations

import base64
import io

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

from anyfast_widget import Client, RunStore, ValidationError

SOURCE_CELLS = {
    "load": "%load_ext anyfast_widget",
    "generate": "%%anyfast generate --size 1024x1024 --quality low --variants 2\na lighthouse at dusk, watercolour",
    "edit": "%%anyfast edit photo.png --mask sky.png --size 1024x1024\nreplace the sky with green aurora",
    "bad_size": "%%anyfast generate --size 1000x1000\na fox in the snow",
    "bad_variants": "%%anyfast generate --variants 9\na fox in the snow",
    "missing_source": "%%anyfast edit nowhere.png\nmake it blue",
    "history": "%anyfast history 2",
    "stack": "import sys\nprint('widget stack loaded:', [m for m in ('anywidget', 'ipywidgets') if m in sys.modules])",
    "studio": "%anyfast studio",
    "help": "%anyfast --help",
}


def write_inputs(folder) -> None:
    """A 1024x1024 photo and a mask whose top third may be edited (alpha 0 there, as the API takes it)."""
    Image.fromarray(np.linspace(0, 255, 1024 * 1024 * 3).astype(np.uint8).reshape(1024, 1024, 3)).save(folder / "photo.png")
    mask = np.full((1024, 1024, 4), 255, dtype=np.uint8)
    mask[:340, :, 3] = 0
    Image.fromarray(mask, "RGBA").save(folder / "sky.png")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook above, run once in a real kernel against one stand-in server: (cells by name, simulator, run dir)."""
    from anyfast_widget.simulator import Simulator

    workdir = tmp_path_factory.mktemp("magics")
    write_inputs(workdir)
    run_dir = workdir / "runs"
    with Simulator() as simulator, pytest.MonkeyPatch.context() as env:
        env.setenv("ANYFAST_BASE_URL", simulator.base_url)
        env.setenv("ANYFAST_API_KEY", simulator.api_key)
        env.setenv("ANYFAST_RUN_DIR", str(run_dir))
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in SOURCE_CELLS.values()])
        NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
        sent = simulator.request_count()
        key = simulator.api_key
    cells = dict(zip(SOURCE_CELLS, notebook.cells, strict=True))
    return cells, sent, run_dir, key


def outputs(cell, kind: str | None = None) -> list:
    return [output for output in cell.outputs if kind is None or output.output_type == kind]


def stderr(cell) -> str:
    return "".join(output.text for output in outputs(cell, "stream") if output.name == "stderr")


def client_message(**call) -> str:
    """What the client itself says for the same request (it raises before sending, so no server is needed)."""
    with Client(api_key="sk-unused", base_url="http://127.0.0.1:9") as client, pytest.raises(ValidationError) as raised:
        client.generate(**call)
    return f"ValidationError: {raised.value}\n"


def test_generate_shows_each_variant_inline_and_stores_it(executed):
    cells, _, run_dir, _ = executed
    shown = outputs(cells["generate"], "display_data")
    assert len(shown) == 2 and not stderr(cells["generate"])
    for output in shown:
        assert "a lighthouse at dusk, watercolour" in output.data["text/html"]
        assert Image.open(io.BytesIO(base64.b64decode(output.data["image/png"]))).size == (768, 768)  # the preview
    store = RunStore(run_dir)
    stored = store.find(endpoint="generations", prompt="lighthouse")
    assert len(stored) == 2
    assert {(r.params["size"], r.params["quality"]) for r in stored} == {("1024x1024", "low")}
    shown_text = " ".join(output.data["text/plain"] for output in shown)
    assert all(str(result.path) in shown_text for result in stored)  # what is shown is what was stored


def test_edit_sends_the_sources_and_mask_and_stores_the_result(executed):
    cells, _, run_dir, _ = executed
    (shown,) = outputs(cells["edit"], "display_data")
    assert "replace the sky with green aurora" in shown.data["text/html"]
    (edit,) = RunStore(run_dir).find(endpoint="edits")
    assert edit.prompt == "replace the sky with green aurora" and edit.size == (1024, 1024)
    assert len(edit.sources) == 1 and edit.mask is not None


def test_a_bad_size_prints_the_clients_message_and_sends_nothing(executed):
    cells, sent, _, _ = executed
    cell = cells["bad_size"]
    assert stderr(cell) == client_message(prompt="a fox in the snow", size="1000x1000")
    assert "each edge must be a multiple of 16" in stderr(cell) and "1008x1008" in stderr(cell)
    assert outputs(cell, "error") == [] and "Traceback" not in str(cell.outputs)
    assert sent == 3  # the two variants and the edit; none of the refused requests


def test_too_many_variants_and_a_missing_source_are_refused_with_their_fix(executed):
    cells, _, _, _ = executed
    assert stderr(cells["bad_variants"]) == (
        "ValidationError: Invalid variants: 9 variants were asked for. Fix: ask for 1 to 8 (each is one request).\n"
    )
    missing = stderr(cells["missing_source"])
    assert missing.startswith("ValidationError: ") and "nowhere.png" in missing
    assert outputs(cells["missing_source"], "error") == [] and "Traceback" not in missing


def test_history_is_a_gallery_of_the_latest_results_as_thumbnails(executed):
    cells, _, run_dir, _ = executed
    (result,) = outputs(cells["history"], "execute_result")
    page = result.data["text/html"]
    assert page.count("<img ") == 2
    newest = RunStore(run_dir).find(limit=2)
    assert [r.id for r in newest][0] == RunStore(run_dir).find(endpoint="edits")[0].id  # newest first: the edit
    assert page.index(newest[0].id) < page.index(newest[1].id)
    assert "replace the sky with green aurora" in page and "a lighthouse at dusk, watercolour" in page
    thumbnails = [chunk.split('"', 1)[0] for chunk in page.split("data:image/jpeg;base64,")[1:]]
    assert len(thumbnails) == 2
    for encoded in thumbnails:
        thumbnail = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert thumbnail.format == "JPEG" and max(thumbnail.size) == 192
        assert len(encoded) < 40_000  # a thumbnail, not the 1024x1024 original
    assert "The 2 latest results in" in result.data["text/plain"]


def test_the_magics_do_not_load_the_widget_stack_until_a_studio_is_asked_for(executed):
    cells, _, _, _ = executed
    assert "widget stack loaded: []" in outputs(cells["stack"], "stream")[0].text


def test_studio_opens_an_image_studio_on_the_sessions_settings(executed):
    cells, _, run_dir, key = executed
    result, copy = outputs(cells["studio"], "display_data")  # the widget, then its static copy (an output of its own)
    assert "application/vnd.jupyter.widget-view+json" in result.data
    assert result.data["text/plain"].startswith("<ImageStudio ") and str(run_dir) in result.data["text/plain"]
    assert "results=3" in result.data["text/plain"]  # the same run store: its gallery starts with the three results
    assert copy.data["text/html"].count("anyfast-static-thumb") == 3
    assert key not in str(cells["studio"].outputs)


def test_help_lists_every_command(executed):
    cells, _, _, _ = executed
    text = outputs(cells["help"], "stream")[0].text
    for usage in ("%%anyfast generate [--size WxH]", "%%anyfast edit [--mask PATH]", "%anyfast studio", "%anyfast history [N]"):
        assert "\n  " + usage in text  # as written, not "%%%anyfast"
