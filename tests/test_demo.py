"""``make demo`` for real: the demo starts JupyterLab as root and as a normal user, prints one URL that opens the
quickstart notebook and little else, and Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab/tree/quickstart\.ipynb\?token=(\S+)")
STAND_IN = re.compile(r"stand-in server at http://127\.0\.0\.1:(\d+)")
NOBODY = 65534
AS_NOBODY = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
STARTUP_S = 60.0

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads processes from /proc")


def _processes_below(pid: int) -> dict[int, str]:
    """pid -> command line of every live process below ``pid``, from /proc (zombies count as gone)."""
    parent_of, alive = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                after_name = Path("/proc", entry, "stat").read_text().rpartition(")")[2].split()
                command = Path("/proc", entry, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            parent_of[int(entry)] = int(after_name[1])
            if after_name[0] != "Z":
                alive[int(entry)] = command
    below, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, its_parent in parent_of.items():
            if its_parent == parent:
                todo.append(child)
                if child in alive:
                    below[child] = alive[child]
    return below


def _alive(pid: int) -> bool:
    try:
        return Path("/proc", str(pid), "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _python_for_nobody() -> tuple[str, dict[str, str]] | None:
    """An interpreter user nobody may run with this environment's packages, and the variables it needs; None if none.

    This venv's own when its base interpreter is readable by all; else the system's of the same version, given the
    venv's site-packages and the checkout on PYTHONPATH (a base interpreter under /root is private)."""
    packages = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], str(ROOT)}
    candidates = [(sys.executable, {}), (f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}",
                                         {"PYTHONPATH": os.pathsep.join(sorted(packages))})]  # fmt: skip
    for python, extra in candidates:
        probe = [python, "-c", "import anyfast_widget, jupyterlab, ipykernel"]
        try:
            done = subprocess.run(probe, cwd=ROOT, env={**os.environ, **extra}, capture_output=True, **AS_NOBODY)
        except OSError:
            continue
        if done.returncode == 0:
            return python, extra
    return None


class Demo:
    """``python -m anyfast_widget.demo`` in a session of its own, as a terminal would run it; its output read line by line."""

    def __init__(self, home: Path, *, python: str = sys.executable, extra: dict[str, str] | None = None,
                 unprivileged: bool = False) -> None:  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANYFAST_", "JUPYTER"))}
        env.update(HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTER_CONFIG_DIR=str(home / "config"), IPYTHONDIR=str(home / "ipython"), PYTHONUNBUFFERED="1")  # fmt: skip
        env.update(extra or {})
        self.process = subprocess.Popen(
            [python, "-m", "anyfast_widget.demo", "--no-browser"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True, **(AS_NOBODY if unprivileged else {}),
        )  # fmt: skip
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if match := pattern.search(line):
                return match
        raise AssertionError(f"no line matching {pattern.pattern} came; the demo printed:\n" + "\n".join(self.lines))

    def rest(self, timeout: float) -> list[str]:
        """What it prints until it exits."""
        self.process.wait(timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return self.lines

    def kill(self) -> None:
        if self.process.poll() is None:
            for pid in _processes_below(self.process.pid):
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("who", ["this user", "an unprivileged user"])
def test_the_demo_opens_the_quickstart_and_ctrl_c_stops_everything_it_started(request, who):
    unprivileged = who == "an unprivileged user"
    if unprivileged and os.geteuid() != 0:
        pytest.skip("this user is unprivileged already: the case above is it")
    python, extra = sys.executable, {}
    if unprivileged:
        found = _python_for_nobody()
        if found is None:
            pytest.skip(f"user {NOBODY} can run no Python with this environment's packages here")
        python, extra = found
    home = Path(tempfile.mkdtemp(prefix="anyfast-demo-home-"))  # (pytest's tmp_path is private to root)
    if unprivileged:
        os.chown(home, NOBODY, NOBODY)
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    demo = Demo(home, python=python, extra=extra, unprivileged=unprivileged)
    try:
        stand_in = int(demo.wait_for(STAND_IN, STARTUP_S)[1])
        found = demo.wait_for(URL, STARTUP_S)
        lab, token = int(found[1]), found[2]
        base = f"http://127.0.0.1:{lab}"

        page = httpx.get(found[0], timeout=10)  # the very URL printed opens the notebook's page
        assert page.status_code == 200 and "JupyterLab" in page.text
        assert urlsplit(str(page.url)).path == "/lab/tree/quickstart.ipynb"
        notebook = httpx.get(f"{base}/api/contents/quickstart.ipynb", params={"token": token}, timeout=10)
        assert notebook.status_code == 200 and notebook.json()["type"] == "notebook"
        assert "ImageStudio" in str(notebook.json()["content"]["cells"])
        session = httpx.post(f"{base}/api/sessions", params={"token": token}, timeout=30,
                             json={"path": "quickstart.ipynb", "type": "notebook", "kernel": {"name": "python3"}})  # fmt: skip
        assert session.status_code == 201, session.text
        deadline = time.monotonic() + 20
        while not any("ipykernel" in c for c in _processes_below(demo.process.pid).values()):
            assert time.monotonic() < deadline, "the kernel never started"
            time.sleep(0.1)

        started = _processes_below(demo.process.pid)
        jupyter = [c for c in started.values() if "-m jupyterlab" in c]
        assert len(jupyter) == 1 and ("--allow-root" in jupyter[0]) == (os.geteuid() == 0 and not unprivileged)
        assert _port_open(stand_in) and _port_open(lab)

        os.killpg(demo.process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals its foreground process group
        printed = demo.rest(timeout=25)
        assert demo.process.returncode == 0
        assert [pid for pid in started if _alive(pid)] == [], "every process the demo started is gone"
        assert not _port_open(stand_in) and not _port_open(lab)
    finally:
        demo.kill()

    # only what a user needs: no server log, no builder warnings, no endless lines
    assert printed[-2:] == ["Stopping ...", "Stopped."]
    assert len([line for line in printed if line.strip()]) <= 6, printed
    assert all(len(line) < 300 for line in printed), printed
    assert not [line for line in printed if re.match(r"\[[IWEC] ", line) or "yarn" in line.lower()], printed


@pytest.mark.timeout(60)
def test_ctrl_c_while_jupyterlab_starts_stops_it_too_without_a_traceback():
    home = Path(tempfile.mkdtemp(prefix="anyfast-demo-home-"))
    demo = Demo(home)
    try:
        stand_in = int(demo.wait_for(STAND_IN, STARTUP_S)[1])
        deadline = time.monotonic() + 20
        while not any("-m jupyterlab" in c for c in _processes_below(demo.process.pid).values()):
            assert time.monotonic() < deadline, "JupyterLab never started"
            time.sleep(0.02)
        started = _processes_below(demo.process.pid)
        os.killpg(demo.process.pid, signal.SIGINT)
        printed = demo.rest(timeout=25)
        assert demo.process.returncode == 0 and printed[-2:] == ["Stopping ...", "Stopped."], printed
        assert not [line for line in printed if "Traceback" in line or "http://127.0.0.1" in line and "token" in line]
        assert [pid for pid in started if _alive(pid)] == [] and not _port_open(stand_in)
    finally:
        demo.kill()
        shutil.rmtree(home, ignore_errors=True)
