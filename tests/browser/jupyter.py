"""A real Jupyter server and a real browser page for widget tests.

:class:`JupyterServer` starts one ``jupyter lab`` process (JupyterLab 4; the
Notebook 7 server extension is loaded by the same process, so ``/tree`` and
``/notebooks/...`` work there too) on 127.0.0.1, isolated from the developer's
own Jupyter/IPython settings and from the internet.

:class:`NotebookPage` drives one notebook in either UI through the UI itself
(menus and keyboard), the way a user would.

Saving widget state
-------------------
ipywidgets only writes widget state into a saved notebook when the setting
``saveState`` of the plugin ``@jupyter-widgets/jupyterlab-manager:plugin`` is
true (JupyterLab's menu item *Settings > Save Widget State Automatically*; it
is off by default). JupyterLab 4 and Notebook 7 read user settings from the
same directory (``JUPYTERLAB_SETTINGS_DIR``), and Notebook 7 loads the same
widget-manager extension, so the server writes that setting there before it
starts and both UIs then save the state of every live widget model into the
notebook's ``metadata.widgets["application/vnd.jupyter.widget-state+json"]``
on every save. Pass ``save_widget_state=False`` to test the default.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat

KERNEL_NAME = "anyfast-test"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
UIS = ("lab", "notebook7")

# Chromium flags: no sandbox (root in containers), nothing that phones home.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

# Environment variables through which a developer's own setup could leak in.
_FOREIGN_ENV = (
    "JUPYTER_PATH",
    "JUPYTER_CONFIG_PATH",
    "JUPYTER_PREFER_ENV_PATH",
    "JUPYTER_PLATFORM_DIRS",
    "JUPYTER_TOKEN",
    "JUPYTER_PORT",
    "JUPYTERLAB_DIR",
    "JUPYTER_ALLOW_INSECURE_WRITES",
    "PYTHONSTARTUP",
)

# User settings shared by JupyterLab 4 and Notebook 7: nothing reaches the
# internet (news, update checks, extension manager), every cell stays in the DOM
# (no windowing: what a test looks for is there even when scrolled away) and
# widget state is saved.
_USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
}

_SAFE_NAME = re.compile(r"[^\w.]+")


def artifact_path(name: str, suffix: str = ".png") -> Path:
    """``tests/artifacts/<name><suffix>`` (name made filesystem-safe; the folder is created)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / (_SAFE_NAME.sub("-", name).strip("-") + suffix)  # test_x[lab]-widget -> test_x-lab-widget


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def settled_box(locator: Any, timeout: float = 10.0) -> dict[str, float]:
    """``locator``'s box on screen once it has stopped moving: the same in two reads an animation frame apart.

    JupyterLab may still be scrolling (to the cell just run, or as outputs grow) when
    a test scrolls the element into view; a click aimed at a box read mid-scroll
    lands elsewhere, more often the busier the machine.
    """
    def settled() -> dict[str, float] | None:
        before = locator.bounding_box()
        locator.page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        after = locator.bounding_box()
        return after if before is not None and before == after else None

    return wait_until(settled, timeout, "the element to stop moving", interval=0.05)


class JupyterServer:
    """One ``jupyter lab`` process serving JupyterLab 4 and Notebook 7 from a temporary root.

    Everything lives under ``base`` (a temporary directory): ``root`` (the
    server's notebook directory), and the config, data, runtime and IPython
    directories, so a developer's own settings cannot interfere. The kernel
    ``anyfast-test`` is this interpreter (``sys.executable``). Use as a context
    manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        base: Path,
        *,
        save_widget_state: bool = True,
        startup_timeout: float = 120.0,
        check_imports: Sequence[str] = ("anyfast_widget", "anywidget", "ipywidgets", "ipykernel"),
    ):
        self.base = Path(base)
        self.root = self.base / "root"
        self.token = secrets.token_hex(24)
        self.save_widget_state = save_widget_state
        self.startup_timeout = startup_timeout
        self.check_imports = tuple(check_imports)
        self.url = ""  # http://127.0.0.1:<port>/ once started
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.base / "server.log"
        self._log_file = None
        self._dirs = {
            "JUPYTER_CONFIG_DIR": self.base / "config",
            "JUPYTER_DATA_DIR": self.base / "data",
            "JUPYTER_RUNTIME_DIR": self.base / "runtime",
            "IPYTHONDIR": self.base / "ipython",
            "JUPYTERLAB_SETTINGS_DIR": self.base / "config" / "lab" / "user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": self.base / "config" / "lab" / "workspaces",
        }

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> JupyterServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        """The environment of the server and its kernels."""
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_ENV}
        env.update({k: str(v) for k, v in self._dirs.items()})
        env["JUPYTER_TOKEN"] = self.token
        env["PYTHONNOUSERSITE"] = "1"
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return env

    def _prepare(self) -> None:
        for path in [self.root, *self._dirs.values()]:
            path.mkdir(parents=True, exist_ok=True)
        kernel_dir = self._dirs["JUPYTER_DATA_DIR"] / "kernels" / KERNEL_NAME
        kernel_dir.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "anyfast test kernel",
            "language": "python",
            "metadata": {"debugger": False},
        }
        (kernel_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
        settings = dict(_USER_SETTINGS)
        if not self.save_widget_state:
            settings["@jupyter-widgets/jupyterlab-manager/plugin"] = {"saveState": False}
        # No "build recommended" check: the page would make the server run node for seconds, for nothing.
        page_config = self._dirs["JUPYTER_CONFIG_DIR"] / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        page_config.write_text(json.dumps({"buildCheck": False, "buildAvailable": False}, indent=2))
        for plugin, values in settings.items():
            path = self._dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))

    def check_kernel(self) -> None:
        """Fail early and clearly if the kernel's interpreter cannot import the widget (``check_imports``)."""
        if not self.check_imports:
            return
        code = "import " + ", ".join(self.check_imports)
        result = subprocess.run(
            [sys.executable, "-c", code], env=self.env, cwd=self.root, capture_output=True, text=True, timeout=120
        )
        if result.returncode:
            raise RuntimeError(f"the test kernel ({sys.executable}) cannot run {code!r}:\n{result.stderr}")

    def start(self) -> None:
        """Start the server and wait until its API answers."""
        self._prepare()
        argv = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port=0",  # the OS picks a free port; read back from the runtime file
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            "--ServerApp.allow_root=True",  # CI containers run as root
            # Last resort if pytest is killed before it can stop the server.
            "--ServerApp.shutdown_no_activity_timeout=3600",
            f"--MultiKernelManager.default_kernel_name={KERNEL_NAME}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv,
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # ^C in the terminal reaches pytest only; pytest stops the server
        )
        try:
            self.check_kernel()
            info = wait_until(self._server_info, self.startup_timeout, "the Jupyter server's runtime file")
            self.port = int(info["port"])
            self.url = f"http://127.0.0.1:{self.port}/"
            wait_until(self._answers, self.startup_timeout, f"the Jupyter server at {self.url}", interval=0.2)
        except BaseException:
            self.stop()
            raise

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the Jupyter server exited with {self.process.returncode}:\n{self.log_tail()}")

    def _server_info(self) -> dict[str, Any] | None:
        self._check_alive()
        assert self.process is not None
        path = self._dirs["JUPYTER_RUNTIME_DIR"] / f"jpserver-{self.process.pid}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # not written yet, or being written

    def _answers(self) -> bool:
        self._check_alive()
        try:
            self._request("GET", "api/status", timeout=5)
            return True
        except OSError:  # refused, reset, or an HTTP error while starting
            return False

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log (its stdout and stderr; the whole log is ``log_path``)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down through its API (kernels included); kill whatever is left."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            import psutil  # comes with ipykernel

            try:  # kernels run in sessions of their own: remember them to make sure they end
                children = psutil.Process(process.pid).children(recursive=True)
            except psutil.Error:
                children = []
            try:
                if not self.url:
                    raise OSError("not serving yet")
                self._request("POST", "api/shutdown", timeout=10)
            except OSError:
                process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            _, alive = psutil.wait_procs(children, timeout=10)
            for child in alive:
                try:
                    child.kill()
                except psutil.Error:
                    pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- REST API -------------------------------------------------------------

    # Straight to 127.0.0.1, whatever proxy the environment names.
    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with self._opener.open(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        """Call the server's REST API (``path`` relative to the base URL, e.g. ``"api/sessions"``); the JSON reply."""
        if self.process is None or not self.url:
            raise RuntimeError("the Jupyter server is not running")
        return self._request(method, path, body, timeout)

    def shutdown_sessions(self) -> None:
        """Shut down every session and kernel (tests call this between them)."""
        for session in self.api("GET", "api/sessions"):
            try:
                self.api("DELETE", f"api/sessions/{session['id']}")
            except urllib.error.HTTPError:
                pass
        for kernel in self.api("GET", "api/kernels"):
            try:
                self.api("DELETE", f"api/kernels/{kernel['id']}")
            except urllib.error.HTTPError:
                pass

    # -- URLs and files -------------------------------------------------------

    def page_url(self, name: str, ui: str) -> str:
        """The URL that opens notebook ``name`` (relative to the root) in ``ui`` ("lab" or "notebook7")."""
        path = quote(Path(name).as_posix())
        if ui == "lab":
            # ?reset: start from an empty workspace, so notebooks of earlier tests do not reopen.
            return f"{self.url}lab/tree/{path}?reset&token={self.token}"
        if ui == "notebook7":
            return f"{self.url}notebooks/{path}?token={self.token}"
        raise ValueError(f"unknown UI {ui!r}; expected one of {UIS}")

    def write_notebook(self, name: str, sources: Iterable[str], *, markdown: Sequence[int] = ()) -> Path:
        """Write a notebook of code cells (``markdown``: indexes of Markdown cells) under the root; its path.

        The notebook names the test kernel, so neither UI asks which kernel to start.
        """
        cells = [
            nbformat.v4.new_markdown_cell(src) if i in markdown else nbformat.v4.new_code_cell(src)
            for i, src in enumerate(sources)
        ]
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "anyfast test kernel", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def read_notebook(self, name: str | Path) -> nbformat.NotebookNode:
        """The notebook as saved on disk (``name`` relative to the root, or a path)."""
        return nbformat.read(self.root / name, as_version=4)


def widget_state(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The widget models saved in a notebook (model id -> {model_name, state, ...}); {} if none."""
    return dict(nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {}))


# Errors the UIs log by themselves, whatever the notebook holds (upstream bugs);
# ConsoleLog.assert_clean ignores them.
KNOWN_CONSOLE_ERRORS = (
    # Notebook 7.6 with JupyterLab 4.6: the shortcuts plugin reads the schema of a
    # plugin that Notebook 7 does not load (notebook_core ... pluginChanged).
    r"^pageerror: Cannot read properties of undefined \(reading 'schema'\)$",
    # Notebook 7: a plugin calls the file browser's command before (or without) it is registered.
    r"^pageerror: Command 'filebrowser:open-path' not registered\.$",
)


class ConsoleLog:
    """Collects a page's ``console.error`` messages and uncaught exceptions (``pageerror``)."""

    def __init__(self, page: Any):
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console.error: {message.text}")

    def unexpected(self, ignore: Sequence[str] = ()) -> list[str]:
        """The errors not matched by ``ignore`` or :data:`KNOWN_CONSOLE_ERRORS` (regular expressions)."""
        patterns = [*KNOWN_CONSOLE_ERRORS, *ignore]
        return [e for e in self.errors if not any(re.search(p, e) for p in patterns)]

    def assert_clean(self, ignore: Sequence[str] = ()) -> None:
        """Fail if the page logged an error other than the known ones (``ignore``: more regular expressions)."""
        errors = self.unexpected(ignore)
        assert not errors, "the page logged errors:\n" + "\n".join(errors)


class NotebookPage:
    """One notebook open in a browser page, in JupyterLab 4 (``ui="lab"``) or Notebook 7 (``ui="notebook7"``).

    ``timeout`` (seconds) bounds every wait; the machine may be busy, so it is
    generous. Every action goes through the UI: menus, clicks, the keyboard.
    """

    def __init__(
        self,
        page: Any,
        server: JupyterServer,
        name: str | Path,
        ui: str,
        *,
        console: ConsoleLog | None = None,
        artifact_name: str = "notebook",
        timeout: float = 90.0,
    ):
        if ui not in UIS:
            raise ValueError(f"unknown UI {ui!r}; expected one of {UIS}")
        self.page = page
        self.server = server
        path = Path(name)
        self.name = (path.relative_to(server.root) if path.is_absolute() else path).as_posix()
        self.ui = ui
        self.timeout = timeout
        self.console = console if console is not None else ConsoleLog(page)
        self.artifact_name = artifact_name

    @property
    def _ms(self) -> float:
        return self.timeout * 1000

    @property
    def panel(self) -> Any:
        """The notebook's panel (the visible one)."""
        return self.page.locator(".jp-NotebookPanel:visible").first

    @property
    def cells(self) -> Any:
        """All cells of the notebook, in order."""
        return self.panel.locator(".jp-Notebook .jp-Cell")

    def cell(self, index: int) -> Any:
        """Cell ``index`` (negative counts from the end)."""
        return self.cells.nth(index) if index >= 0 else self.cells.nth(self.cells.count() + index)

    # -- opening and the kernel -------------------------------------------------

    def open(self) -> NotebookPage:
        """Load the notebook's page and wait until its cells are shown and its kernel is idle."""
        self.page.goto(self.server.page_url(self.name, self.ui), timeout=self._ms)
        self.panel.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=self._ms)
        self.wait_for_kernel_idle()
        return self

    def kernel_status(self) -> str | None:
        """The kernel status the page shows (``"idle"``, ``"busy"``, ...), from the toolbar's execution indicator."""
        return self.panel.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status", timeout=self._ms)

    def _server_kernel_idle(self) -> bool:
        for session in self.server.api("GET", "api/sessions"):
            if session.get("path") == self.name and session.get("kernel"):
                kernel = session["kernel"]
                return kernel.get("execution_state") == "idle" and kernel.get("connections", 0) >= 1
        return False

    def wait_for_kernel_idle(self) -> None:
        """Wait until the notebook's kernel is idle and the page is connected to it and shows it idle.

        The page's indicator alone is not enough: it reads "idle" before the
        page has even asked for a kernel. So first the server must report a
        session for this notebook whose kernel is idle with a connection (the
        page's), and then the page must show "idle" too.
        """
        wait_until(self._server_kernel_idle, self.timeout, f"the kernel of {self.name} to be idle and connected")
        self.panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
            state="attached", timeout=self._ms
        )

    # -- running cells ---------------------------------------------------------

    def menu(self, *path: str) -> None:
        """Click through the main menu, e.g. ``menu("Run", "Run All Cells")``."""
        bar = self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(path[0])}$")).first
        bar.click(timeout=self._ms)
        for label in path[1:]:
            text = self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$"))
            self.page.locator(".lm-Menu:visible .lm-Menu-item", has=text).first.click(timeout=self._ms)

    def _prompts(self) -> list[str]:
        return self.panel.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()

    def run_all(self, *, wait: bool = True) -> None:
        """Run every cell through the menu *Run > Run All Cells* (the same in both UIs).

        With ``wait``, return once every code cell has run and the kernel is
        idle; if a cell raised (both UIs then stop running the rest), fail with
        its traceback instead of waiting for cells that will never run.
        """
        before = self._prompts()
        self.menu("Run", "Run All Cells")
        if wait:
            self.wait_for_cells_done(before)

    def wait_for_cells_done(self, before: Sequence[str] | None = None) -> None:
        """Wait until no code cell is pending (``[*]:``) and each shows a new execution count, then for an idle kernel.

        ``before``: the prompts before the run (:meth:`run_all` passes them);
        None means "any execution count will do". Raises AssertionError with the
        traceback if the run stopped at a cell that raised.
        """
        result = self.page.wait_for_function(
            r"""(before) => {
                const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => p.offsetParent !== null);
                if (!panel) return false;
                const cells = [...panel.querySelectorAll('.jp-Notebook .jp-CodeCell')];
                const prompts = cells.map(c => c.querySelector('.jp-InputArea-prompt')?.textContent ?? '');
                if (!prompts.length || prompts.some(t => t.includes('*'))) return false;
                const ran = prompts.map((t, i) => /\[\d+\]/.test(t) && (before === null || t !== before[i]));
                if (ran.every(Boolean)) return {failed: -1};
                const last = ran.lastIndexOf(true);
                const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
                if (last >= 0 && cells[last].querySelector(stderr)) {
                    return {failed: last};
                }
                return false;
            }""",
            arg=None if before is None else list(before),
            timeout=self._ms,
            polling=100,
        ).json_value()
        if result["failed"] >= 0:
            raise AssertionError(f"cell {result['failed']} raised:\n{self.output_text(result['failed'])}")
        self.wait_for_kernel_idle()

    def select_cell(self, index: int) -> None:
        """Make cell ``index`` the active cell, in command mode."""
        self.cell(index).locator(".jp-InputArea-prompt").first.click(timeout=self._ms)
        self.page.keyboard.press("Escape")

    def run_cell(self, index: int) -> str:
        """Run cell ``index`` (select it, Ctrl+Enter), wait until it is done; its output text."""
        cell = self.cell(index)
        before = cell.locator(".jp-InputArea-prompt").first.inner_text()
        self.select_cell(index)
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_function(
            """([el, before]) => /\\[\\d+\\]/.test(el.textContent) && el.textContent !== before""",
            arg=[cell.locator(".jp-InputArea-prompt").first.element_handle(timeout=self._ms), before],
            timeout=self._ms,
        )
        self.wait_for_kernel_idle()
        return self.output_text(index)

    def add_cell(self, source: str, *, run: bool = True) -> str:
        """Append a code cell with ``source`` (typed into the editor) and, with ``run``, run it; its output text."""
        count = self.cells.count()
        self.select_cell(count - 1)
        self.page.keyboard.press("b")  # insert a cell below, in command mode
        new = self.cells.nth(count)
        new.wait_for(state="visible", timeout=self._ms)
        editor = new.locator(".cm-content").first
        editor.click(timeout=self._ms)
        self.page.keyboard.insert_text(source)
        self.page.wait_for_function(  # CodeMirror has taken the text (its lines are separate elements)
            "([el, src]) => el.textContent.replace(/\\s/g, '') === src.replace(/\\s/g, '')",
            arg=[editor.element_handle(timeout=self._ms), source],
            timeout=self._ms,
        )
        if not run:
            self.page.keyboard.press("Escape")
            return ""
        return self.run_cell(count)

    # -- outputs -------------------------------------------------------------

    def output_text(self, index: int) -> str:
        """The text of cell ``index``'s outputs (empty if none)."""
        outputs = self.cell(index).locator(".jp-OutputArea-output")
        return "\n".join(outputs.all_inner_texts()).strip()

    def wait_for(self, selector: str, *, state: str = "visible") -> Any:
        """Wait for an element inside the notebook's outputs (e.g. a widget's root) and return its locator."""
        locator = self.panel.locator(f".jp-OutputArea-output {selector}").first
        locator.wait_for(state=state, timeout=self._ms)
        return locator

    # -- saving ----------------------------------------------------------------

    def save(self) -> nbformat.NotebookNode:
        """Save through the UI (Ctrl+S in command mode) and return the notebook read back from disk.

        Waits until the file on disk changes and the page no longer marks the
        notebook dirty. With the server's default settings the saved metadata
        holds the widget state (see the module docstring and :func:`widget_state`).
        """
        path = self.server.root / self.name
        before = path.stat().st_mtime_ns if path.exists() else None
        self.panel.locator(".jp-Notebook").first.focus()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")
        wait_until(lambda: path.exists() and path.stat().st_mtime_ns != before, self.timeout, f"{self.name} to be saved")
        # The write is complete once the file parses (the server writes atomically, but be safe).
        return wait_until(self._read_saved, self.timeout, f"{self.name} to be readable")

    def _read_saved(self) -> nbformat.NotebookNode | None:
        try:
            return self.server.read_notebook(self.name)
        except (OSError, ValueError):
            return None

    # -- evidence --------------------------------------------------------------

    def screenshot(self, name: str | None = None, selector: str | None = None) -> Path:
        """Save a PNG of the page (or of the first element matching ``selector``); its path.

        The file is tests/artifacts/<test name>.png, or <test name>-<name>.png.
        """
        path = artifact_path(self.artifact_name if name is None else f"{self.artifact_name}-{name}")
        if selector is None:
            self.page.screenshot(path=str(path), full_page=False)
        else:
            self.page.locator(selector).first.screenshot(path=str(path), timeout=self._ms)
        return path

    def assert_no_console_errors(self, ignore: Sequence[str] = ()) -> None:
        """Fail if the page logged errors other than the UIs' known ones (``ignore``: more regular expressions)."""
        self.console.assert_clean(ignore)
