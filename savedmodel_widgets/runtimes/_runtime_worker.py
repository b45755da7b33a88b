"""Load a SavedModel in an old TensorFlow's C API and run its signatures, in its own process.

Run as ``python -m savedmodel_widgets.runtimes._runtime_worker REQUEST.json`` by
:mod:`savedmodel_widgets.runtimes.loader`; one process holds one TensorFlow, never the
installed one beside it. The request and result are those of
:mod:`savedmodel_widgets._verify_worker` (inputs and outputs as ``numpy.savez`` files
beside the request, the result JSON written last and atomically), with two additions:
the request's ``"runtime": {"framework", "library"}`` names the libraries to load, and
the result's ``"signature_names"`` and ``"peak_rss_mb"`` say what the meta graph holds
and how much memory the process took.

The SavedModel is loaded with ``TF_LoadSessionFromSavedModel`` (the loader TF Serving
and EAS use: variables restored, main op run), so a load error is TensorFlow's own
message. Each signature's tensor names come from the loaded ``MetaGraphDef``, parsed
with the project's TensorFlow-free schema.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from ..savedmodel._schema import message_class
from ._c_api import CApi
from ._c_tensors import from_tensor, to_tensor, uses_tstring

__all__ = ["main", "run_signature"]

SESSION_CONFIG = bytes([0x10, 1, 0x28, 1])
"""A serialized ``ConfigProto`` with one intra-op and one inter-op thread: the worker
shares a small machine (Binder, CI) with the notebook."""


def run_signature(api: CApi, session: int, graph: int, meta_graph: Any,
                  entry: dict[str, Any], folder: Path, tstring: bool) -> dict[str, Any]:
    """Run one signature on its inputs file and write its outputs file."""
    import numpy as np

    name = entry["name"]
    if name not in meta_graph.signature_def:
        known = ", ".join(sorted(meta_graph.signature_def)) or "none"
        raise KeyError(f"The meta graph has no signature {name!r}; it has {known}.")
    signature = meta_graph.signature_def[name]
    with np.load(folder / entry["inputs"], allow_pickle=False) as data:
        arrays = {alias: data[key] for alias, key in entry["input_keys"].items()}
    unknown = sorted(set(arrays) - set(signature.inputs))
    if unknown:
        raise KeyError(f"Signature {name!r} has no input {', '.join(map(repr, unknown))}; "
                       f"its inputs are {', '.join(map(repr, sorted(signature.inputs)))}.")
    aliases = sorted(signature.outputs)
    feeds = [(api.output(graph, signature.inputs[alias].name), to_tensor(api, array, tstring))
             for alias, array in arrays.items()]
    fetches = [api.output(graph, signature.outputs[alias].name) for alias in aliases]
    started = time.perf_counter()
    tensors = api.run(session, feeds, fetches)
    seconds = time.perf_counter() - started
    results, outputs = {}, []
    try:
        for position, (alias, tensor) in enumerate(zip(aliases, tensors, strict=True)):
            results[f"output_{position}"] = from_tensor(api, tensor, tstring)
            outputs.append({"alias": alias, "key": f"output_{position}", "note": ""})
    finally:
        for tensor in tensors:
            api.TF_DeleteTensor(tensor)
    np.savez(folder / entry["outputs"], **results)
    return {"name": name, "error": "", "seconds": seconds, "outputs": outputs}


def _run_or_report(api: CApi, session: int, graph: int, meta_graph: Any,
                   entry: dict[str, Any], folder: Path, tstring: bool) -> dict[str, Any]:
    try:
        return run_signature(api, session, graph, meta_graph, entry, folder, tstring)
    except Exception as error:  # reported per signature
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        return {"name": entry["name"], "error": f"{type(error).__name__}: {message}",
                "seconds": 0.0, "outputs": []}


def main(request_path: str) -> int:
    """Carry out one request; per-signature failures go into the result, not the exit code."""
    request_file = Path(request_path)
    folder = request_file.parent
    request = json.loads(request_file.read_text(encoding="utf-8"))
    api = CApi(Path(request["runtime"]["framework"]), Path(request["runtime"]["library"]))
    result: dict[str, Any] = {"tensorflow_version": api.version, "load_error": "",
                              "load_seconds": 0.0, "signatures": [], "signature_names": []}
    started = time.perf_counter()
    try:
        session, graph, serialized = api.load_saved_model(
            request["path"], request["tags"] or ["serve"], SESSION_CONFIG)
    except Exception as error:  # TensorFlow's load error is the answer
        result["load_error"] = str(error)
        session = None
    result["load_seconds"] = time.perf_counter() - started
    if session is not None:
        meta_graph = message_class("MetaGraphDef").FromString(serialized)
        result["signature_names"] = sorted(meta_graph.signature_def)
        tstring = uses_tstring(api.version)
        result["signatures"] = [
            _run_or_report(api, session, graph, meta_graph, entry, folder, tstring)
            for entry in request["signatures"]]
        api.close(session, graph)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    target = folder / request["result"]
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(result), encoding="utf-8")
    os.replace(partial, target)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m savedmodel_widgets.runtimes._runtime_worker REQUEST.json",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
