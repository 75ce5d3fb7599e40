"""The notebooks in notebooks/ run top to bottom against the stand-in server, as a newcomer would run them."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from anyfast_widget import demo

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(name: str, workdir: Path, simulator, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("ANYFAST_BASE_URL", simulator.base_url)
    monkeypatch.setenv("ANYFAST_API_KEY", simulator.api_key)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    return notebook


def text_outputs(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_quickstart_runs_and_saves_what_it_shows(tmp_path, anyfast_simulator, monkeypatch):
    notebook = execute("quickstart.ipynb", tmp_path, anyfast_simulator, monkeypatch)
    text = text_outputs(notebook)
    assert "changed outside the mask by the model" in text and "kept: True" in text
    # 2 generated + 1 edited + the edit with the original kept outside its mask
    assert len(list((tmp_path / "anyfast-runs" / "images").glob("*/*.png"))) == 4
    assert anyfast_simulator.request_count() == 3
    assert anyfast_simulator.api_key not in (NOTEBOOKS / "quickstart.ipynb").read_text()


def test_the_terminal_demo_generates_and_edits(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANYFAST_API_KEY", raising=False)
    monkeypatch.delenv("ANYFAST_BASE_URL", raising=False)
    assert demo.main(["--script"]) == 0
    out = capsys.readouterr().out
    assert "stand-in server" in out and "edited" in out
    assert len(list((tmp_path / "anyfast-runs" / "images").glob("*/*.png"))) == 2


def test_committed_notebooks_have_no_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), path.name


def test_comparison_grids_runs_resumes_and_exports(tmp_path, anyfast_simulator, monkeypatch):
    anyfast_simulator.configure(leak=0.2)
    notebook = execute("comparison_grids.ipynb", tmp_path, anyfast_simulator, monkeypatch)
    text = text_outputs(notebook)
    assert text.count("12 requests: 12 already in the run store, 0 blocked by moderation, 0 to send") == 2
    assert "foxes.png" in text and "foxes.html" in text
    assert "sky inside" in text and "left third inside" in text
    assert anyfast_simulator.request_count() == 12 + 2  # the resumed grid sent nothing
    assert (tmp_path / "anyfast-runs" / "exports" / "foxes.html").is_file()


def test_the_notebooks_run_without_a_key_on_the_built_in_stand_in(tmp_path, monkeypatch):
    monkeypatch.delenv("ANYFAST_API_KEY", raising=False)
    monkeypatch.delenv("ANYFAST_BASE_URL", raising=False)
    for name in ("quickstart.ipynb", "comparison_grids.ipynb"):
        workdir = tmp_path / name.split(".")[0]
        workdir.mkdir()
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
        text = text_outputs(notebook)
        assert "Offline: the built-in stand-in server (synthetic images, nothing paid)." in text, name
        assert list((workdir / "anyfast-runs" / "images").glob("*/*.png")), name
