"""``python -m anyfast_widget.demo``: the studio in JupyterLab, on the local stand-in server.

Starts the stand-in server (or uses the real API when ``ANYFAST_API_KEY`` is set;
it says which), starts JupyterLab on ``notebooks/`` with ``ANYFAST_BASE_URL`` and
``ANYFAST_API_KEY`` pointing at it, and prints the one URL that opens
``quickstart.ipynb``. JupyterLab's own log goes to a file (its path is printed), so
the terminal shows only what a user needs. As root it passes ``--allow-root``
(containers and cloud notebooks often run as root). Ctrl-C (or SIGTERM, SIGHUP)
stops JupyterLab, its kernels and the stand-in server.

Options: ``--no-browser`` (print the URL, open nothing), ``--port N`` (JupyterLab's
port; a free one by default). ``--script`` runs one generation and one masked edit in
the terminal instead; its results land in ``./anyfast-runs``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from . import Client, Mask
from .client import ENV_API_KEY, Settings
from .simulator import Simulator

NOTEBOOK = "quickstart.ipynb"
STAND_IN_LATENCY = 2.0  # seconds per request: long enough to watch the progress of each variant
READY_TIMEOUT = 120.0  # JupyterLab's first start on a cold disk can be slow
STOP_GRACE = 10.0  # seconds JupyterLab gets to shut its kernels down before it is killed
LOG_TAIL = 15  # lines of JupyterLab's log shown when it fails to start


def _notebooks() -> Path | None:
    """The folder holding the quickstart notebook: ``./notebooks``, else the one beside the package (a checkout)."""
    for folder in (Path.cwd() / "notebooks", Path(__file__).resolve().parent.parent / "notebooks"):
        if (folder / NOTEBOOK).is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _descendants(pid: int) -> list[tuple[int, str]]:
    """Every process below ``pid`` (kernels run in sessions of their own), as (pid, start time); Linux only, else []."""
    parents: dict[int, list[tuple[int, str]]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
        parents.setdefault(int(fields[1]), []).append((int(entry), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _start_time(pid: int) -> str | None:
    try:
        return Path("/proc", str(pid), "stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


class JupyterLab:
    """A JupyterLab server in a process group of its own, its output in ``log``; :meth:`stop` ends it and all below it."""

    def __init__(self, root: Path, env: dict[str, str], log: Path, *, port: int, open_browser: bool) -> None:
        self.port, self.token, self.log = port, secrets.token_urlsafe(24), log
        page = f"/lab/tree/{NOTEBOOK}" if (root / NOTEBOOK).is_file() else "/lab"
        self.url = f"http://127.0.0.1:{port}{page}?token={self.token}"
        args = [
            sys.executable, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}", f"--LabApp.default_url={page}",  # the browser it opens shows the notebook
            f"--ServerApp.open_browser={open_browser}",
        ]  # fmt: skip
        if _is_root():  # JupyterLab refuses root without it
            args.append("--allow-root")
        with open(log, "wb") as out:  # the token goes in the environment, not on a command line others can read
            self.process = subprocess.Popen(
                args, env={**env, "JUPYTER_TOKEN": self.token}, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, cwd=root,
            )  # fmt: skip

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once the server answers; RuntimeError with the end of its log if it exits or does not answer in time."""
        deadline = time.monotonic() + timeout
        status = f"http://127.0.0.1:{self.port}/api/status"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab stopped as it started (exit code {self.process.returncode}).\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(status, headers={"Authorization": f"token {self.token}"}, timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s.\n{self.tail()}")

    def tail(self) -> str:
        """The end of the log, long lines cut (the frontend builder's warnings hold lines of 11,000 characters)."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
        except OSError:
            lines = []
        shown = "\n".join("  " + (line if len(line) <= 200 else line[:200] + " ...") for line in lines)
        return f"The end of its log ({self.log}):\n{shown}"

    def stop(self) -> None:
        """SIGTERM to its process group (JupyterLab then shuts its kernels down); what is left after the grace is killed."""
        below = _descendants(self.process.pid)
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with _signals_held():  # a second Ctrl-C must not cut the clean-up short
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(STOP_GRACE)
        self._signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))
        for pid, started in below:  # kernels and terminals are in sessions of their own
            if _start_time(pid) == started:  # still that process, not a new one with its number
                with contextlib.suppress(OSError):
                    os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        self.process.wait()

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(OSError):
            if hasattr(os, "killpg"):
                os.killpg(self.process.pid, sig)
            elif self.process.poll() is None:
                self.process.terminate()


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ignore the stop signals for a while (the clean-up they asked for is under way)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_on_signals() -> None:
    """Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop the demo through the same clean-up.

    SIGINT's handler is set even if it was inherited as ignored (a shell's ``&`` does that)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else interrupt)


def studio(*, open_browser: bool = True, port: int | None = None) -> int:
    """JupyterLab on the quickstart notebook, with the environment set for the stand-in server (or the API)."""
    if importlib.util.find_spec("jupyterlab") is None:
        print("JupyterLab is not installed: pip install jupyterlab (make demo installs it).", file=sys.stderr)
        return 1
    _stop_on_signals()
    log_dir = Path(tempfile.mkdtemp(prefix="anyfast-demo-"))
    failed = False  # then the log is kept, for the reader of the message
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(lambda: failed or shutil.rmtree(log_dir, ignore_errors=True))
            try:
                code = _serve(stack, log_dir / "jupyterlab.log", open_browser=open_browser, port=port)
            except KeyboardInterrupt:
                print("\nStopping ...", flush=True)
                stack.close()  # JupyterLab, its kernels, the stand-in server
                print("Stopped.", flush=True)
                return 0
            failed = code != 0
            return code
    except KeyboardInterrupt:  # a second one during the clean-up above: what is left was killed
        return 130


def _serve(stack: contextlib.ExitStack, log: Path, *, open_browser: bool, port: int | None) -> int:
    """Start the stand-in server (without a key) and JupyterLab, print the URL, and wait for JupyterLab to end."""
    settings = Settings.resolve()
    if settings.api_key is not None:
        print(f"Using the real Anyfast API ({ENV_API_KEY} is set): runs cost money.", flush=True)
        what = "JupyterLab"
    else:
        sim = stack.enter_context(Simulator(latency=STAND_IN_LATENCY))
        settings = Settings.resolve(sim.api_key, sim.base_url)
        print(f"No {ENV_API_KEY}: the studio talks to the local stand-in server at {sim.base_url} "
              "(synthetic images, nothing is paid).", flush=True)  # fmt: skip
        what = "JupyterLab and the stand-in server"
    lab = JupyterLab(_notebooks() or Path.cwd(), settings.environment(), log, port=port or _free_port(),
                     open_browser=open_browser)  # fmt: skip
    stack.callback(lab.stop)
    try:
        lab.wait_ready()
    except RuntimeError as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    print(f"\n    {lab.url}\n", flush=True)
    print(f"Open that URL for the quickstart notebook. Ctrl-C stops {what}. (JupyterLab's log: {log})", flush=True)
    code = lab.process.wait()
    print(f"JupyterLab stopped (exit code {code}).{f' Its log: {log}' if code else ''}", flush=True)
    return code


def script() -> int:
    with contextlib.ExitStack() as stack:
        if Settings.resolve().api_key is not None:
            print(f"Using the real Anyfast API ({ENV_API_KEY} is set); this costs money.")
            client = stack.enter_context(Client())
        else:
            sim = stack.enter_context(Simulator())
            print(f"No {ENV_API_KEY}: using the local stand-in server at {sim.base_url}.")
            client = stack.enter_context(Client(api_key=sim.api_key, base_url=sim.base_url))

        first = client.generate("a lighthouse on a cliff at dusk, watercolour", size="1536x1024", quality="low")
        print(f"generated {first.size[0]}x{first.size[1]} in {first.timings['total_s']:.2f} s -> {first.path}")

        sky = np.zeros((first.height, first.width), dtype=bool)
        sky[: first.height // 3] = True  # the top third may change
        edited = client.edit("replace the sky with green aurora", first.path, mask=Mask(sky), size="1536x1024")
        print(f"edited   {edited.size[0]}x{edited.size[1]} in {edited.timings['total_s']:.2f} s -> {edited.path}")
        print(f"revised prompt: {edited.revised_prompt!r}")
        print(f"{len(client.store)} results in {client.store.root}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if "--script" in args:
        return script()
    port = None
    if "--port" in args:
        try:
            port = int(args[args.index("--port") + 1])
        except (IndexError, ValueError):
            print("--port takes a number: python -m anyfast_widget.demo --port 8888", file=sys.stderr)
            return 2
    return studio(open_browser="--no-browser" not in args, port=port)


if __name__ == "__main__":
    sys.exit(main())
