"""Execute every tutorial notebook as it ships, in a fresh kernel and a scratch directory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
TIMEOUT = 300
"""Seconds one cell may run."""


def output_text(notebook) -> str:
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


def start_here_promises(workdir: Path, notebook) -> None:
    """00: saves ``export/1`` with TensorFlow and shows its ``scores`` output."""
    assert (workdir / "export" / "1" / "saved_model.pb").is_file()
    assert (workdir / "export" / "1" / "variables").is_dir()
    assert "scores" in output_text(notebook)


PROMISES: dict[str, Callable[[Path, object], None]] = {
    "00_start_here.ipynb": start_here_promises,
}
"""What each notebook promises, checked after it ran: add one for every new notebook."""


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no notebooks found in {REPO / 'notebooks'}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_as_shipped(path: Path, tmp_path: Path):
    assert path.name in PROMISES, f"add what {path.name} promises to PROMISES in {__file__}"
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(path, workdir / path.name)
    notebook = nbformat.read(workdir / path.name, as_version=4)

    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    # The kernel imports this checkout's package even where it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))

    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=env)  # raises CellExecutionError on the first failing cell

    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    PROMISES[path.name](workdir, notebook)
