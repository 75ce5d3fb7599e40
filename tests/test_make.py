"""The Makefile's promises that need no build: ``make test`` without Chromium says so at once, in one line."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)


def test_make_test_without_chromium_stops_at_once_with_the_command_that_installs_it(tmp_path):
    started = time.monotonic()
    done = make("test", f"CHROMIUM={tmp_path / 'no-chromium'}")
    assert time.monotonic() - started < 5
    assert done.returncode != 0 and done.stdout == "", "nothing is built or run"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Chromium" in lines[0] and "apt-get install chromium" in lines[0], done.stderr


def test_the_chromium_check_is_only_for_make_test(tmp_path):
    done = make("demo", f"CHROMIUM={tmp_path / 'no-chromium'}")
    assert done.returncode == 0 and "anyfast_widget.demo" in done.stdout, done.stderr
