"""open_grid(): a grid from a spec or a grid id, nothing sent, that follows a headless run in another process as it goes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anyfast_widget import ConfigurationError, ValidationError, compare, open_grid
from anyfast_widget.simulator import Simulator

from ..conftest import TWELVE_REQUESTS_SPEC as SPEC

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def sim():
    with Simulator(latency=0.5) as server:
        yield server


def _headless(sim, spec, run_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYFAST_")}
    env.update(ANYFAST_API_KEY=sim.api_key, ANYFAST_BASE_URL=sim.base_url)
    command = [sys.executable, "-m", "anyfast_widget", "run", str(spec), "--run-dir", str(run_dir)]
    return subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)


def _wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _done(grid):
    return sum(1 for _, slot in grid.slots() if slot.result is not None)


def test_an_opened_grid_fills_in_while_the_headless_run_goes_on(sim, tmp_path, run_dir):
    spec = tmp_path / "fox.toml"
    spec.write_text(SPEC)
    process = _headless(sim, spec, run_dir)
    try:
        _wait_for(lambda: list((run_dir / "grids").glob("*.live")) if (run_dir / "grids").is_dir() else False)
        grid_id = next((run_dir / "grids").glob("*.live")).stem
        grid = open_grid(run_dir, grid_id, api_key=sim.api_key, base_url=sim.base_url, progress=False)
        seen = []
        grid.on_change(lambda cell, slot: seen.append(slot.status))
        assert grid.id == grid_id and grid.following
        at_open = _done(grid)
        assert at_open < 12
        _wait_for(lambda: _done(grid) > at_open or process.poll() is not None)
        assert process.poll() is None, "the run ended before the opened grid saw any of its results"
        assert seen and set(seen) == {"done"}  # its listeners (the live view) were told
        process.wait(60)
        _wait_for(lambda: not grid.following, timeout=10)  # stops once the run is over and everything is attached
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    assert _done(grid) == 12 and {slot.status for _, slot in grid.slots()} <= {"done", "cached"}
    assert sim.request_count() == 12  # the opened grid sent nothing itself
    assert len({slot.result.id for _, slot in grid.slots()}) == 12  # each result in one slot


def test_a_grid_opened_after_its_run_has_its_results_and_sends_nothing(sim, tmp_path, run_dir):
    spec = tmp_path / "fox.toml"
    spec.write_text('prompt = "a fox"\n[cols]\nfield = "quality"\nvalues = ["low", "high"]\n')
    sim.latency = 0.0
    assert _headless(sim, spec, run_dir).wait(60) == 0
    for opened in (spec, str(spec)):
        grid = open_grid(run_dir, opened, api_key=sim.api_key, base_url=sim.base_url, progress=False)
        assert not grid.following and _done(grid) == 2
    by_id = open_grid(run_dir, grid.id, api_key=sim.api_key, base_url=sim.base_url, progress=False)
    assert by_id.id == grid.id and _done(by_id) == 2
    assert sim.request_count() == 2


def test_looking_at_a_grid_needs_no_key_and_sending_from_it_says_it_does(sim, tmp_path, run_dir, monkeypatch):
    spec = tmp_path / "fox.toml"
    spec.write_text('prompt = "a fox"\nrepeats = 2\n[cols]\nfield = "quality"\nvalues = ["low", "high"]\n')
    sim.latency = 0.0
    assert _headless(sim, spec, run_dir).wait(60) == 0
    monkeypatch.delenv("ANYFAST_API_KEY", raising=False)  # a colleague's notebook, looking at a shared run store
    grid = open_grid(run_dir, spec, progress=False)
    assert _done(grid) == 4 and grid.plan().to_send == 0
    more = tmp_path / "more.toml"  # one more repeat: the stored four are reused, two more would be sent
    more.write_text(spec.read_text().replace("repeats = 2", "repeats = 3"))
    grid = open_grid(run_dir, more, progress=False)
    assert _done(grid) == 4 and grid.plan().to_send == 2
    with pytest.raises(ConfigurationError, match="No API key"):
        grid.run()
    assert sim.request_count() == 4


def test_a_grid_whose_run_was_killed_stops_following(sim, tmp_path, run_dir):
    spec = tmp_path / "fox.toml"
    spec.write_text(SPEC)
    sim.latency = 2.0
    process = _headless(sim, spec, run_dir)
    try:
        _wait_for(lambda: list((run_dir / "grids").glob("*.live")) if (run_dir / "grids").is_dir() else False)
        grid = open_grid(run_dir, spec, api_key=sim.api_key, base_url=sim.base_url, progress=False)
        assert grid.following
        with pytest.raises(RuntimeError, match="pay twice"):  # the headless run is sending these very requests
            grid.run()
        assert sim.request_count() <= 2  # only the headless run's (concurrency 2)
        process.send_signal(signal.SIGKILL)  # no chance to remove its heartbeat: it goes stale
        process.wait(10)
        _wait_for(lambda: not grid.following, timeout=15)
    finally:
        process.kill()
        process.wait()
    assert _done(grid) < 12


def test_an_unknown_grid_id_is_named(sim, run_dir):
    compare("a fox", api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir, progress=False)
    with pytest.raises(ValidationError) as caught:
        open_grid(run_dir, "0123456789abcdef", api_key=sim.api_key, base_url=sim.base_url)
    assert caught.value.field == "grid_id_or_spec" and "0123456789abcdef" in caught.value.message


async def test_on_a_running_event_loop_as_in_a_notebook_it_follows_from_a_task(sim, tmp_path, run_dir):
    spec = tmp_path / "fox.toml"
    spec.write_text(SPEC)
    process = _headless(sim, spec, run_dir)
    try:
        while not (run_dir / "grids").is_dir() or not list((run_dir / "grids").glob("*.live")):
            await asyncio.sleep(0.02)
        grid = open_grid(run_dir, spec, api_key=sim.api_key, base_url=sim.base_url, progress=False)
        assert grid.following and grid._follower._task is not None  # a task on this loop, not a thread
        at_open = _done(grid)
        while _done(grid) == at_open and process.poll() is None:
            await asyncio.sleep(0.02)  # the loop is free: the task polls, the query in a worker thread
        assert process.poll() is None
        while grid.following:
            await asyncio.sleep(0.05)
    finally:
        process.wait(60)
    assert _done(grid) == 12
