"""Execute a tutorial notebook as it ships, in a fresh kernel and a scratch directory.

Shared by ``test_notebooks.py`` and by anyone writing a notebook who wants to run one
the way the tests do::

    python tests/notebook_runner.py notebooks/01_keras_model.ipynb /tmp/nb01
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import nbclient
import nbformat
from checkout_env import REPO, checkout_env

NOTEBOOK_DIR = REPO / "notebooks"
TIMEOUT = 300
"""Seconds one cell may run."""

CLICK_MARKER = "# WIDGET CLICKS:"
"""How a code cell that clicks a widget in place of the reader starts."""

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


BINDER_MEMORY = 2 * 1024**3
"""Bytes a Binder session may use: the notebook's kernel and its children together."""


class PeakMemory:
    """The peak memory of this process's descendants (a notebook's kernel, and what the
    kernel starts: verification workers, old runtimes, preview servers) while it is used
    as a context manager, sampled every ``interval`` seconds.

    Each process counts its proportional set size (``Pss`` of ``/proc/PID/smaps_rollup``:
    pages shared between processes, such as TensorFlow's libraries in the kernel and a
    worker, are split between them), which is what the container's memory limit sees.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, sum(map(_pss, _descendants(os.getpid()))))


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    parent = int(file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as file:
            for line in file:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def execute(path: Path, workdir: Path) -> nbformat.NotebookNode:
    """Copy ``path`` into ``workdir``, run every cell there and return the executed notebook.

    Raises ``nbclient.exceptions.CellExecutionError`` at the first cell that fails. The
    widget state is stored in the notebook's metadata, as ``jupyter nbconvert --execute``
    does, so a static viewer can show the widgets.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, workdir / path.name)
    notebook = nbformat.read(workdir / path.name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=TIMEOUT,
        allow_errors=False,
        store_widget_state=True,
        record_timing=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=checkout_env())
    return notebook


def output_text(notebook: nbformat.NotebookNode) -> str:
    """All text the executed notebook shows: streams, plain text and HTML outputs."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                parts.append(output["text"])
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    parts.append(output["data"][mime])
    return "\n".join(parts)


def shown_widget_ids(notebook: nbformat.NotebookNode) -> set[str]:
    """The model ids of the widgets the executed notebook displays."""
    return {
        output["data"][WIDGET_VIEW]["model_id"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    }


def saved_widget_ids(notebook: nbformat.NotebookNode) -> set[str]:
    """The model ids whose state the notebook's metadata holds."""
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    return set(state.get("state", {}))


def cell_seconds(notebook: nbformat.NotebookNode) -> list[tuple[float, str]]:
    """Seconds each code cell took, with its first line, from nbclient's timing record."""
    from datetime import datetime

    timings = []
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if cell.cell_type == "code" and start and end:
            seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                       - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            timings.append((seconds, cell.source.splitlines()[0] if cell.source else ""))
    return timings


def main(argv: list[str]) -> int:
    """Run one notebook into a kept directory and print how long each cell took."""
    if len(argv) != 2:
        print("usage: python tests/notebook_runner.py NOTEBOOK WORKDIR", file=sys.stderr)
        return 2
    path, workdir = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    started = time.perf_counter()
    notebook = execute(path, workdir)
    total = time.perf_counter() - started
    nbformat.write(notebook, workdir / f"executed_{path.name}")
    for seconds, first_line in cell_seconds(notebook):
        print(f"{seconds:7.2f} s  {first_line[:70]}")
    print(f"{total:7.2f} s  in all, kernel start included")
    print(f"executed notebook: {workdir / f'executed_{path.name}'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
