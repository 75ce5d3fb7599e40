"""``python -m anyfast_widget run SPEC``: real subprocesses against a real stand-in server; exit codes, Ctrl-C, resuming."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anyfast_widget import RunStore, open_grid
from anyfast_widget.simulator import Simulator

from .conftest import TWELVE_REQUESTS_SPEC as TWELVE
from .conftest import encode, gradient

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sim():
    with Simulator(latency=0.05) as server:
        yield server


def _env(sim: Simulator | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYFAST_")}
    if sim is not None:
        env.update(ANYFAST_API_KEY=sim.api_key, ANYFAST_BASE_URL=sim.base_url)
    return env


def _command(spec: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "anyfast_widget", "run", str(spec), "--run-dir", str(run_dir), *extra]


def _run(sim, spec, run_dir, *extra):
    done = subprocess.run(_command(spec, run_dir, *extra), env=_env(sim), cwd=ROOT, capture_output=True, text=True, timeout=120)
    if sim is not None:
        assert sim.api_key not in done.stdout + done.stderr  # never printed
    return done


def _spec(tmp_path: Path, text: str, name: str = "fox.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_spec_runs_headless_and_says_every_request_is_done(sim, tmp_path, run_dir):
    spec = _spec(tmp_path, 'prompt = "a fox"\n[cols]\nfield = "quality"\nvalues = ["low", "high"]\n')
    done = _run(sim, spec, run_dir)
    assert done.returncode == 0, done.stderr
    assert sim.request_count() == 2 and len(RunStore(run_dir)) == 2
    assert "All 2 requests done" in done.stderr.splitlines()[-1]
    saved = list((run_dir / "grids").glob("*.toml"))  # the spec, kept in the run store under the grid's id
    assert len(saved) == 1 and saved[0].stem in done.stderr
    assert not list((run_dir / "grids").glob("*.live"))  # the heartbeat is gone when the run ends


def test_a_second_run_of_the_same_spec_sends_nothing(sim, tmp_path, run_dir):
    spec = _spec(tmp_path, TWELVE)
    assert _run(sim, spec, run_dir).returncode == 0
    assert sim.request_count() == 12
    again = _run(sim, spec, run_dir)
    assert again.returncode == 0 and sim.request_count() == 12
    assert "All 12 requests done" in again.stderr


def test_ctrl_c_stops_sending_keeps_the_store_whole_and_a_rerun_sends_only_what_is_missing(sim, tmp_path, run_dir):
    sim.latency = 0.6
    spec = _spec(tmp_path, TWELVE)
    process = subprocess.Popen(_command(spec, run_dir), env=_env(sim), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while sim.request_count() < 3 and time.monotonic() < deadline:  # the first two done, two more under way
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - stopped < 5  # prompt: the requests under way finish (0.6 s), nothing new starts
    assert process.returncode == 1
    assert stderr.strip().splitlines()[-1].startswith("Interrupted: ") and "Run the same command again" in stderr
    assert "Traceback" not in stderr
    store = RunStore(run_dir)
    assert store.problems() == []
    saved = len(store)
    assert 2 <= saved < 12
    assert sim.request_count() == saved  # every request sent was finished and saved
    rerun = _run(sim, spec, run_dir)
    assert rerun.returncode == 0, rerun.stderr
    assert sim.request_count() == 12  # only the missing ones were sent
    assert len(RunStore(run_dir)) == 12


def test_a_second_ctrl_c_abandons_the_requests_under_way_at_once(sim, tmp_path, run_dir):
    sim.latency = 30.0
    spec = _spec(tmp_path, TWELVE)
    process = subprocess.Popen(_command(spec, run_dir), env=_env(sim), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while sim.request_count() < 2 and time.monotonic() < deadline:  # two under way, each for 30 s
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - stopped < 5 and process.returncode == 1
    assert "Ctrl-C again abandons them" in stderr and "Interrupted: 0 of 12 requests done" in stderr
    assert "Traceback" not in stderr
    store = RunStore(run_dir)
    assert len(store) == 0 and store.problems() == []
    sim.latency = 0.05
    assert _run(sim, spec, run_dir).returncode == 0
    assert sim.request_count() == 2 + 12  # the abandoned two were sent again: nothing came back for them


def test_more_than_50_requests_need_yes(sim, tmp_path, run_dir):
    spec = _spec(tmp_path, TWELVE.replace("repeats = 3", "repeats = 13"))  # 52 requests
    done = _run(sim, spec, run_dir)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "52 requests" in done.stderr and "--yes" in done.stderr
    assert sim.request_count() == 0


def test_a_bad_spec_exits_2_naming_the_key_and_its_line(sim, tmp_path, run_dir):
    spec = _spec(tmp_path, 'prompt = "a fox"\nqualty = "low"\n')
    done = _run(sim, spec, run_dir)
    assert done.returncode == 2
    assert "qualty" in done.stderr and "line 2" in done.stderr and "Traceback" not in done.stderr
    assert sim.request_count() == 0


def test_requests_the_api_would_reject_are_never_sent(sim, tmp_path, run_dir):
    spec = _spec(tmp_path, 'prompt = "a fox"\n[cols]\nfield = "size"\nvalues = ["1024x1024", "1000x1000"]\n')
    done = _run(sim, spec, run_dir)
    assert done.returncode == 2 and "1000x1000" in done.stderr and "Traceback" not in done.stderr
    assert sim.request_count() == 0


def test_without_a_key_it_exits_2_saying_how_to_set_one(tmp_path, run_dir):
    done = _run(None, _spec(tmp_path, 'prompt = "a fox"\n'), run_dir)
    assert done.returncode == 2 and "No API key" in done.stderr and "ANYFAST_API_KEY" in done.stderr


def test_a_refused_request_exits_1_saying_why(sim, tmp_path, run_dir):
    spec = _spec(tmp_path, '[cols]\nfield = "prompt"\nvalues = ["a fox", "blockme please"]\n')
    done = _run(sim, spec, run_dir)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "1 of 2 requests done" in last and "1 failed" in last


def test_a_usage_error_exits_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "anyfast_widget"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_offline_runs_against_the_built_in_stand_in_without_a_key(tmp_path, run_dir):
    done = _run(None, _spec(tmp_path, 'prompt = "a fox"\n'), run_dir, "--offline")
    assert done.returncode == 0, done.stderr
    assert len(RunStore(run_dir)) == 1


def test_the_run_store_keeps_the_spec_and_its_files_so_the_grid_opens_by_id(sim, tmp_path, run_dir):
    (tmp_path / "cat.png").write_bytes(encode(gradient(64, 48), "PNG"))
    text = 'prompt = "make it night"\nsources = ["cat.png"]\n[cols]\nfield = "size"\nvalues = ["1024x1024", "1536x1024"]\n'
    spec = _spec(tmp_path, text)
    assert _run(sim, spec, run_dir).returncode == 0
    (tmp_path / "cat.png").unlink()  # the run store holds its own copy
    spec.unlink()
    (saved,) = (run_dir / "grids").glob("*.toml")
    grid = open_grid(run_dir, saved.stem, api_key=sim.api_key, base_url=sim.base_url, progress=False)
    assert grid.id == saved.stem and grid.plan().to_send == 0
    assert sim.request_count() == 2


def test_a_budget_in_the_spec_caps_what_is_sent_and_says_what_was_left(sim, tmp_path, run_dir):
    text = 'prompt = "a fox"\nrepeats = 4\nbudget = 0.025\n[prices]\nlow = 0.01\n[cols]\nfield = "quality"\nvalues = ["low"]\n'
    done = _run(sim, _spec(tmp_path, text), run_dir)
    assert done.returncode == 1
    assert sim.request_count() == 2
    assert "2 of 4 requests done" in done.stderr and "2 left unsent by the budget" in done.stderr
