"""JupyterLab in a scratch directory, driven through Debian's Chromium with Playwright.

Shared by the browser tests (``test_e2e.py``) and ``benchmarks/bench_widget_render.py``.
The server runs this checkout's package (``PYTHONPATH``), listens on 127.0.0.1 at a free
port, and starts quietly: no news toast, no update check, no kernel dialog. Every wait
is on something a person would see (text, a kernel that says Idle), never a fixed sleep.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from checkout_env import checkout_env

CHROMIUM = os.environ.get("SMW_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``), or the browser ``SMW_CHROMIUM`` names;
Playwright never downloads one."""

INSTALL_CHROMIUM = "apt-get install -y chromium fonts-liberation"
INSTALL_PLAYWRIGHT = "pip install playwright"

CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
)

KERNEL_IDLE = "Python 3 (ipykernel) | Idle"
"""What the status bar says once a kernel is attached and has nothing to do."""

ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'
EXECUTED_PROMPT = re.compile(r"^\s*\[\d+\]:\s*$")

QUIET_SETTINGS = {
    # The news toast and the update check (``--LabApp.news_url=None`` does not stop it).
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    # A notebook opens with its kernel, without the "Select Kernel" dialog.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"autoStartDefaultKernel": True},
}

VIEWPORT = {"width": 1280, "height": 1400}

SCREENSHOT_DIR = Path(os.environ.get("SMW_E2E_SCREENSHOTS")
                      or Path(tempfile.gettempdir()) / "savedmodel-widgets-e2e")
"""Where the browser tests leave a screenshot of each scenario's final state."""

SCREENSHOTS: list[Path] = []
"""The screenshots taken in this test session, for the summary."""

SERVER_START_SECONDS = 60
PAGE_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 180_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_quiet_settings(settings_dir: Path) -> None:
    """Write the user settings that keep JupyterLab's first-run notices away."""
    for name, values in QUIET_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class JupyterLabServer:
    """A JupyterLab server serving ``root``, with its settings and logs under ``scratch``.

    Use it as a context manager: the server is up inside the ``with`` block and is
    always stopped (SIGTERM, which also shuts its kernels down) when the block ends.
    """

    def __init__(self, root: Path, scratch: Path) -> None:
        self.root = root
        self.scratch = scratch
        self.port = 0
        self.log_path = scratch / "jupyterlab.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until its API answers."""
        settings = self.scratch / "settings"
        workspaces = self.scratch / "workspaces"
        write_quiet_settings(settings)
        workspaces.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", "--IdentityProvider.token=",
            "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.workspaces_dir={workspaces}", f"--LabApp.user_settings_dir={settings}",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env=checkout_env(), cwd=self.root)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/status", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)  # polling the API, not waiting for the page
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_SECONDS} s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server and its kernels; kill it if it does not stop in 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def shut_down_kernel(self, notebook: str) -> None:
        """End the session (and so the kernel) of ``notebook``, as closing its tab can."""
        with urllib.request.urlopen(f"{self.base_url}/api/sessions", timeout=10) as answer:
            sessions = json.load(answer)
        for session in sessions:
            if session.get("path") == notebook:
                request = urllib.request.Request(
                    f"{self.base_url}/api/sessions/{session['id']}", method="DELETE")
                urllib.request.urlopen(request, timeout=30).close()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log, for error messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> JupyterLabServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def missing_browser_parts() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to install it."""
    missing = []
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        missing.append(f"Playwright ({INSTALL_PLAYWRIGHT})")
    if not Path(CHROMIUM).exists():
        missing.append(f"Chromium at {CHROMIUM} ({INSTALL_CHROMIUM}, or point SMW_CHROMIUM "
                       "at another Chromium)")
    return missing


def running_in_ci() -> bool:
    """Whether the environment says this is a CI run (``CI=true``, as CI services set)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_browser() -> None:
    """Skip the calling test module when Playwright or Chromium is missing; under CI
    (``CI=true``) fail it instead, since CI installs both and must run the browser tests.

    Call it at the top of a test module, before importing Playwright.
    """
    missing = missing_browser_parts()
    if not missing:
        return
    reason = f"The browser tests need {' and '.join(missing)}."
    if running_in_ci():
        pytest.fail(f"{reason} Under CI (CI=true) they are required.", pytrace=False)
    pytest.skip(f"{reason} Leave them out with: python -m pytest -m 'not e2e'",
                allow_module_level=True)


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, through Playwright's sync API."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(
            f"No browser at {CHROMIUM}. Install Debian's Chromium ({INSTALL_CHROMIUM}, as "
            ".ci/run does), point SMW_CHROMIUM at another Chromium, or leave the browser "
            "tests out with: python -m pytest -m 'not e2e'")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))


@contextmanager
def browser_context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies, no storage) that is always closed."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context
    finally:
        context.close()


def take_screenshot(element: Any, name: str) -> Path:
    """Save a screenshot of ``element`` as ``SCREENSHOT_DIR/<name>.png``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    element.scroll_into_view_if_needed()
    element.screenshot(path=path)
    SCREENSHOTS.append(path)
    return path


class NotebookTab:
    """One notebook opened in JupyterLab, in a workspace of its own.

    A fresh workspace per notebook keeps one notebook's tabs and kernel from being
    restored into another's page.

    Parameters
    ----------
    page : playwright.sync_api.Page
        A page of a fresh browser context.
    server : JupyterLabServer
        The running server.
    name : str
        The notebook's path relative to the server's root.
    """

    def __init__(self, page: Any, server: JupyterLabServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name
        self.console_errors: list[str] = []
        page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def open(self) -> None:
        """Load the notebook and wait until its kernel is attached and idle."""
        workspace = uuid.uuid4().hex[:12]
        self.page.goto(f"{self.server.base_url}/lab/workspaces/{workspace}/tree/{self.name}")
        self.wait_idle(PAGE_TIMEOUT_MS)

    def wait_idle(self, timeout: float = RUN_TIMEOUT_MS) -> None:
        """Wait until the status bar says the kernel is idle."""
        self.page.locator(".jp-StatusBar-TextItem", has_text=KERNEL_IDLE).wait_for(
            timeout=timeout)

    @property
    def code_cells(self) -> Any:
        """All code cells of the notebook, in order."""
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-CodeCell")

    def code_cell(self, text: str) -> Any:
        """The first code cell whose source contains ``text``."""
        return self.code_cells.filter(
            has=self.page.locator(".jp-InputArea-editor", has_text=text)).first

    def widget(self, text: str) -> Any:
        """The (outermost) widget shown by the first code cell whose source contains ``text``."""
        return self.code_cell(text).locator(".widget-vbox").first

    def select(self, cell: Any) -> None:
        """Make ``cell`` the active cell (command mode), as clicking its prompt does."""
        cell.locator(".jp-InputPrompt").click()

    def run_menu(self, command: str) -> None:
        """Click Run in the menu bar, then the item for ``command`` (its data-command)."""
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.locator(f'li.lm-Menu-item[data-command="{command}"]').click()

    def run_all(self) -> None:
        """Run every cell and wait until the last code cell has run and the kernel is idle."""
        self.run_menu("runmenu:run-all")
        self.wait_executed(self.code_cells.last)

    def run_all_above(self, cell: Any) -> None:
        """Run the cells above ``cell`` (not ``cell`` itself) and wait for them."""
        self.select(cell)
        self.run_menu("notebook:run-all-above")
        above = cell.locator("xpath=preceding-sibling::*[contains(@class, 'jp-CodeCell')][1]")
        self.wait_executed(above)

    def run_all_below(self, cell: Any) -> None:
        """Run ``cell`` and every cell below it, and wait for the last one."""
        self.select(cell)
        self.run_menu("notebook:run-all-below")
        self.wait_executed(self.code_cells.last)

    def run_cell(self, cell: Any) -> None:
        """Run one cell, as Ctrl+Enter does, without waiting for it."""
        self.select(cell)
        self.page.keyboard.press("Control+Enter")

    def wait_executed(self, cell: Any, timeout: float = RUN_TIMEOUT_MS) -> None:
        """Wait until ``cell``'s prompt shows an execution count and the kernel is idle."""
        from playwright.sync_api import expect

        expect(cell.locator(".jp-InputPrompt")).to_have_text(EXECUTED_PROMPT, timeout=timeout)
        self.wait_idle(timeout)

    def error_outputs(self) -> list[str]:
        """The text of every error output (a traceback) and every widget that failed."""
        errors = self.page.locator(ERROR_OUTPUT).all_inner_texts()
        broken = self.page.get_by_text("Error displaying widget")
        return errors + broken.all_inner_texts()


def write_notebook(path: Path, *sources: str) -> None:
    """A notebook of code cells with the python3 kernelspec (so no kernel dialog)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


# --- the widgets in the page ------------------------------------------------------


def export_status(widget: Any) -> Any:
    """The status line right below the Export button."""
    return widget.locator('.widget-hbox:has(> button[title="Export"]) + .widget-html')


def signature_table(widget: Any, signature: str) -> Any:
    """The signature table (the one with a *direction* column) that lists ``signature``."""
    return widget.locator("table:has(th:text-is('direction'))", has_text=signature)


def type_into(box: Any, text: str) -> None:
    """Empty a text box, then type ``text`` into it key by key, as a person does."""
    box.fill("")
    box.press_sequentially(text)


def choose_option(dropdown: Any, starting: str) -> None:
    """Choose the option of a ``<select>`` whose value starts with ``starting``."""
    values = dropdown.locator("option").evaluate_all("options => options.map(o => o.value)")
    dropdown.select_option(value=next(v for v in values if v.startswith(starting)))
