"""Run a worker module in a new Python process on a SavedModel and numpy inputs.

Both verification workers, the installed TensorFlow's
(:mod:`savedmodel_widgets._verify_worker`) and an old runtime's
(:mod:`savedmodel_widgets.runtimes._runtime_worker`), take the same request: a JSON file
naming the SavedModel, the tags and each signature's inputs file (``numpy.savez``), in a
temporary directory; they write each signature's outputs file and a result JSON last.
Arrays never travel through pickles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["WorkerCall", "run_worker"]

STDERR_TAIL_LINES = 25
STDERR_TAIL_CHARS = 3000

WorkerCall = tuple[str, dict[str, Any]]
"""One signature to run: its name and ``{alias: array}``."""


def _tail(stderr: str | bytes | None) -> str:
    if not stderr:
        return ""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = text.rstrip().splitlines()[-STDERR_TAIL_LINES:]
    return "\n".join(lines)[-STDERR_TAIL_CHARS:]


def _worker_environment() -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    package_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    return env


def run_worker(
    module: str,
    path: str,
    tags: tuple[str, ...],
    calls: list[WorkerCall],
    timeout: float,
    extra: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """Load and run in a new process: ``(result, "")`` or ``({}, why the process failed)``.

    Parameters
    ----------
    module : str
        The worker, run as ``python -m MODULE REQUEST.json``.
    path : str
        The SavedModel directory.
    tags : tuple of str
        The meta graph's tags.
    calls : list of (str, dict)
        The signatures to run, each with its inputs.
    timeout : float
        Seconds before the process is stopped.
    extra : dict, optional
        More request fields for this worker.

    Returns
    -------
    tuple
        The worker's result JSON with each signature's ``arrays`` added, and an empty
        string; or an empty dict and why the process failed (with its stderr's tail).
    """
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="savedmodel-verify-") as folder:
        directory = Path(folder)
        entries: list[dict[str, Any]] = []
        for number, (name, arrays) in enumerate(calls):
            keys = {alias: f"input_{position}" for position, alias in enumerate(arrays)}
            np.savez(directory / f"inputs_{number}.npz",
                     **{keys[alias]: array for alias, array in arrays.items()})
            entries.append({"name": name, "inputs": f"inputs_{number}.npz",
                            "input_keys": keys, "outputs": f"outputs_{number}.npz"})
        request = {"path": path, "tags": list(tags), "result": "result.json",
                   "signatures": entries, **(extra or {})}
        request_file = directory / "request.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        try:
            completed = subprocess.run(
                [sys.executable, "-m", module, str(request_file)],
                cwd=directory, env=_worker_environment(), stdin=subprocess.DEVNULL,
                capture_output=True, text=True, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as expired:
            tail = _tail(expired.stderr)
            return {}, (f"The verification process did not finish within {timeout:g} s and "
                        "was stopped; raise timeout= for a large model."
                        + (f"\n{tail}" if tail else ""))
        result_file = directory / "result.json"
        if completed.returncode != 0 or not result_file.is_file():
            tail = _tail(completed.stderr)
            return {}, (f"The verification process exited with code {completed.returncode} "
                        "before reporting." + (f"\n{tail}" if tail else ""))
        result = json.loads(result_file.read_text(encoding="utf-8"))
        for outcome, entry in zip(result["signatures"], entries, strict=False):
            outcome["arrays"] = {}
            if outcome["error"]:
                continue
            try:
                with np.load(directory / entry["outputs"], allow_pickle=False) as data:
                    outcome["arrays"] = {o["alias"]: data[o["key"]] for o in outcome["outputs"]}
            except (OSError, ValueError, KeyError) as error:
                outcome["error"] = f"Its outputs could not be read back: {error}"
        return result, ""
