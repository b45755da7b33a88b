"""``show`` and ``check`` on SavedModels written by other projects and other writers, and
damaged copies of them, held against TensorFlow's own serve loader.

For every model of the corpus (``corpus_models.py``), the command line's
``show`` and ``check --target tfserving`` run as a user runs them, and must
not print a traceback. Then the model is loaded as TF Serving loads it
(:mod:`savedmodel_widgets._serve_loader`: the meta graph tagged exactly
``serve``, variables restored, main op run) and each predict signature is run
once on generated inputs (a string input of a model that parses ``tf.Example``s
gets an example with every feature the model parses). ``check`` says "ready"
exactly when that works.

A run that TensorFlow refuses with ``InvalidArgumentError`` is a request the
server answered with "bad request" (the generated inputs are not what the
model expects): the model is being served, so that counts as served. Select
these tests with ``-m corpus``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from corpus_models import Corpus, case_names, describe

from savedmodel_widgets._serve_loader import error_message, load_for_serving, run_signature
from savedmodel_widgets._verify_inputs import SkipSignature, signature_inputs
from savedmodel_widgets.savedmodel.info import PREDICT_METHOD, Signature, TensorInfo

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="session")
def corpus(saved_models, tmp_path_factory):
    """The corpus, its written models taken from the session's exports."""
    return Corpus(saved_models, tmp_path_factory.mktemp("corpus"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m savedmodel_widgets ARGS`` from this checkout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "savedmodel_widgets", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def tensor_info(tf: Any, alias: str, proto: Any) -> TensorInfo:
    """A SignatureDef's tensor as the dataclass ``signature_inputs`` takes."""
    encoding = {"name": "dense", "coo_sparse": "sparse"}.get(
        proto.WhichOneof("encoding"), "composite")
    dtype = tf.as_dtype(proto.dtype).base_dtype.name if proto.dtype else "invalid"
    shape = None if proto.tensor_shape.unknown_rank else tuple(
        None if dim.size < 0 else dim.size for dim in proto.tensor_shape.dim)
    return TensorInfo(alias, proto.name, dtype, shape, encoding)


def _const(tf: Any, nodes: dict[str, Any], input_name: str) -> Any:
    """The value of the Const node an input names, or None when it is not a Const."""
    node = nodes.get(input_name.lstrip("^").split(":")[0])
    return tf.make_ndarray(node.attr["value"].tensor) if node and node.op == "Const" else None


def _parsed_features(tf: Any, node: Any, nodes: dict[str, Any]) -> Iterator[tuple[str, int, int]]:
    """``(key, dtype enum, number of values)`` of each feature a ParseExample node reads."""
    attr = node.attr
    if node.op == "ParseExampleV2":
        sparse, dense, ragged = (_const(tf, nodes, node.input[i]) for i in (2, 3, 4))
        groups = [(sparse, attr["sparse_types"].list.type, None),
                  (dense, attr["Tdense"].list.type, attr["dense_shapes"].list.shape),
                  (ragged, attr["ragged_value_types"].list.type, None)]
    else:  # ParseExample: one input per key
        n_sparse, n_dense = attr["Nsparse"].i, attr["Ndense"].i
        keys = [_const(tf, nodes, name) for name in node.input[2:2 + n_sparse + n_dense]]
        sparse, dense = keys[:n_sparse], keys[n_sparse:]
        groups = [(sparse, attr["sparse_types"].list.type, None),
                  (dense, attr["Tdense"].list.type, attr["dense_shapes"].list.shape)]
    for keys, dtypes, shapes in groups:
        if keys is None or any(key is None for key in keys):
            continue
        for position, (key, dtype) in enumerate(zip(keys, dtypes, strict=False)):
            count = 1
            for dim in shapes[position].dim if shapes is not None else ():
                count *= max(dim.size, 1)
            yield (key.decode() if isinstance(key, bytes) else str(key)), dtype, count


def serialized_example(tf: Any, graph_def: Any) -> bytes | None:
    """A ``tf.Example`` with every feature the graph's ParseExample ops read (in the graph or
    in its functions), serialized; None when nothing parses examples."""
    scopes = [graph_def.node, *(function.node_def for function in graph_def.library.function)]
    example, found = tf.train.Example(), False
    for scope in scopes:
        nodes = {node.name: node for node in scope}
        for node in scope:
            if node.op not in ("ParseExample", "ParseExampleV2"):
                continue
            found = True
            for key, dtype, count in _parsed_features(tf, node, nodes):
                feature = example.features.feature[key]
                if dtype == tf.float32.as_datatype_enum:
                    feature.float_list.value[:] = [0.5] * count
                elif dtype == tf.int64.as_datatype_enum:
                    feature.int64_list.value[:] = [1] * count
                else:
                    feature.bytes_list.value[:] = [b"a"] * count
    return example.SerializeToString() if found else None


def serve_loader_verdict(tf: Any, path: Path) -> tuple[bool, str]:
    """``(served, what happened)``: loaded as TF Serving loads, every predict signature run."""
    try:
        session, meta_graph_def = load_for_serving(str(path))
    except Exception as error:  # the loader's verdict, whatever it is
        return False, f"load failed: {describe(error_message(error))}"
    notes = []
    example = serialized_example(tf, meta_graph_def.graph_def)
    try:
        for name, proto in sorted(meta_graph_def.signature_def.items()):
            if proto.method_name != PREDICT_METHOD:
                continue
            inputs = tuple(tensor_info(tf, alias, proto.inputs[alias])
                           for alias in sorted(proto.inputs))
            given = {t.alias: [example, example] for t in inputs if example is not None
                     and t.dtype == "string" and t.encoding == "dense" and t.shape == (None,)}
            try:
                arrays, _ = signature_inputs(Signature(name, PREDICT_METHOD, inputs, ()),
                                             given, 2)
            except SkipSignature as skip:
                notes.append(f"{name!r} not run: {skip}")
                continue
            try:
                run_signature(session, meta_graph_def, name, arrays)
            except tf.errors.InvalidArgumentError as error:
                notes.append(f"{name!r} answered bad request: {describe(error_message(error))}")
            except Exception as error:  # the run's failure is the verdict
                return False, f"{name!r} failed: {describe(error_message(error))}"
            else:
                notes.append(f"{name!r} ran")
    finally:
        session.close()
    return True, "; ".join(notes) or "loaded; no predict signature"


@pytest.mark.parametrize("name", case_names())
def test_check_agrees_with_the_serve_loader(name, corpus, tf, tmp_path):
    try:
        path = corpus.case(name, tmp_path)
    except RuntimeError as error:
        pytest.skip(f"the TFX wheel is not available: {error}")

    shown = run_cli("show", str(path))
    # The loader below is the installed TensorFlow, so the check is made for it: an op
    # that this release registers but no longer runs (BoostedTreesBucketize in the TF 2.1
    # Estimator export, which TF Serving 2.1 serves) is then an error of the check too.
    checked = run_cli("check", str(path), "--target", "tfserving", "--runtime", "installed",
                      "--json")

    for command, completed in (("show", shown), ("check", checked)):
        assert "Traceback" not in completed.stderr + completed.stdout, (
            f"{command} printed a traceback:\n{completed.stderr}")
    assert shown.returncode in (0, 2), shown.stderr
    assert checked.returncode in (0, 1, 2), checked.stderr
    assert (shown.returncode == 2) == (checked.returncode == 2), (shown.stderr, checked.stderr)
    ready = checked.returncode == 0
    if checked.returncode == 2:
        findings = f"unreadable: {describe(checked.stderr)}"
    else:
        verdict = json.loads(checked.stdout)["targets"]["tfserving"]
        assert verdict["ready"] is ready, "the exit code and the JSON's verdict differ"
        results = verdict["results"]
        findings = "; ".join(f"{r['level']} {r['code']}: {describe(r['message'])}"
                             for r in results if r["level"] == "error") or "no error finding"
    served, loader = serve_loader_verdict(tf, path)
    if name == "tfx/estimator-tf2.1":
        assert "op-not-in-runtime: Op BoostedTreesBucketize" in findings, findings
    assert ready == served, (
        f"check says {'ready' if ready else 'not ready'} ({findings}); the serve loader says "
        f"{'served' if served else 'refused'} ({loader})")
