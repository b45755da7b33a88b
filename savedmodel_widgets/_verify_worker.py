"""Reload a SavedModel in a fresh process and run its signatures: the other half of verify.

Run as ``python -m savedmodel_widgets._verify_worker REQUEST.json`` by
:func:`savedmodel_widgets.verifier.verify`; not meant to be called by hand. Data
goes through files in the request's directory, never through pickles:

- the request (JSON): ``{"path", "tags", "result", "signatures": [{"name",
  "inputs": FILE.npz, "input_keys": {alias: key}, "outputs": FILE.npz}]}``;
- each signature's inputs (``numpy.savez``, one key per alias as listed);
- each signature's outputs, written here (``numpy.savez``, keys ``output_0``, ...);
- the result (JSON): ``{"tensorflow_version", "load_error", "load_seconds",
  "signatures": [{"name", "error", "seconds", "outputs": [{"alias", "key",
  "note"}]}]}``, written last and atomically, so a missing result means the
  process crashed.

The SavedModel is loaded and run as TF Serving does, by
:mod:`savedmodel_widgets._serve_loader`: the meta graph whose tags are exactly
the requested ones (``serve``), in a ``tf.compat.v1`` graph session, variables
restored and the main op run; each signature's tensors fed and fetched by name.

This module imports only the standard library, numpy, TensorFlow, the serve loader and
the worker protocol's helpers (:mod:`savedmodel_widgets._worker_process`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from . import _serve_loader as serve_loader
from ._worker_process import worker_command_line, write_result

MAX_ERROR_CHARS = 2000


def error_text(error: BaseException) -> str:
    """``Type: message`` in one line (:func:`~savedmodel_widgets._serve_loader.error_message`),
    cut to :data:`MAX_ERROR_CHARS`."""
    text = serve_loader.error_message(error)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def to_array(tf: Any, np: Any, value: Any) -> tuple[Any, str]:
    """An output as a numpy array without objects, and a note on how it was converted."""
    note = ""
    if isinstance(value, tf.compat.v1.SparseTensorValue):
        value = tf.sparse.to_dense(tf.SparseTensor(*value)).numpy()
        note = "sparse output, compared as a dense tensor"
    elif isinstance(value, tf.compat.v1.ragged.RaggedTensorValue):
        ragged = tf.RaggedTensor.from_nested_row_splits(value.flat_values,
                                                        value.nested_row_splits)
        value, note = ragged.to_tensor().numpy(), "ragged output, compared padded to a dense tensor"
    array = np.asarray(value)
    if array.dtype.hasobject:  # tf.string comes back as an object array of bytes
        array = array.astype(bytes)
    return array, note


def run_signature(tf: Any, np: Any, session: Any, meta_graph_def: Any, entry: dict[str, Any],
                  folder: Path) -> dict[str, Any]:
    """Run one signature on its inputs file and write its outputs file."""
    name = entry["name"]
    with np.load(folder / entry["inputs"], allow_pickle=False) as data:
        feeds = {alias: data[key] for alias, key in entry["input_keys"].items()}
    started = time.perf_counter()
    results = serve_loader.run_signature(session, meta_graph_def, name, feeds)
    seconds = time.perf_counter() - started
    arrays, outputs = {}, []
    for position, (alias, value) in enumerate(results.items()):
        key = f"output_{position}"
        arrays[key], note = to_array(tf, np, value)
        outputs.append({"alias": alias, "key": key, "note": note})
    np.savez(folder / entry["outputs"], **arrays)
    return {"name": name, "error": "", "seconds": seconds, "outputs": outputs}


def run_or_report(tf: Any, np: Any, session: Any, meta_graph_def: Any,
                  entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    """:func:`run_signature`, or its error as the signature's outcome."""
    try:
        return run_signature(tf, np, session, meta_graph_def, entry, folder)
    except Exception as error:  # reported per signature
        return {"name": entry["name"], "error": error_text(error), "seconds": 0.0,
                "outputs": []}


def main(request_path: str) -> int:
    """Carry out one request; per-signature failures go into the result, not the exit code."""
    request_file = Path(request_path)
    folder = request_file.parent
    request = json.loads(request_file.read_text(encoding="utf-8"))

    import numpy as np
    import tensorflow as tf

    result: dict[str, Any] = {
        "tensorflow_version": tf.__version__,
        "load_error": "",
        "load_seconds": 0.0,
        "signatures": [],
    }
    started = time.perf_counter()
    session = meta_graph_def = None
    try:
        session, meta_graph_def = serve_loader.load_for_serving(
            request["path"], request["tags"] or serve_loader.SERVE_TAGS)
    except Exception as error:  # any load failure is reported
        result["load_error"] = error_text(error)
    result["load_seconds"] = time.perf_counter() - started
    if session is not None:
        try:
            result["signatures"] = [run_or_report(tf, np, session, meta_graph_def, entry, folder)
                                    for entry in request["signatures"]]
        finally:
            session.close()
    write_result(folder, request, result)
    return 0


if __name__ == "__main__":
    worker_command_line(main, "savedmodel_widgets._verify_worker")
