"""The runtime table, rerun through the project's API in the real old runtimes.

Columns: the TensorFlow of EAS's processors tensorflow_cpu_1.12, _1.14, _1.15 and _2.4, of
TF Serving 2.5 and 2.7, each loaded from its published wheel's own library (C API), in a
worker process. Rows:

- what today's TensorFlow writes by default (a Keras 3 model and a TF1 session through
  ``smw.export``, the reference document's ``simple_save``), and a TF1 graph written the
  way old runtimes load (reference variables, ``strip_default_attrs=True``, a lookup table
  filled by the main op): the check's verdict for each runtime must be what the runtime
  does, and when it refuses, the check names the op or attribute TensorFlow's own message
  names;
- a Keras 3 model and a TF1 session with a lookup table exported for each runtime: the
  runtime loads the export and its outputs equal the live model's.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from model_files import build_small_keras
from numpy.testing import assert_allclose

import savedmodel_widgets as smw
from savedmodel_widgets import SignatureSpec, export, suggest_spec
from savedmodel_widgets.runtimes.fetch import fetch_runtime
from savedmodel_widgets.runtimes.loader import load_in_runtime, run_in_runtime
from savedmodel_widgets.savedmodel.checks import is_ready
from savedmodel_widgets.savedmodel.runtime_checks import RUNTIME_CODES

RUNTIMES = ("eas:tensorflow_cpu_1.12", "eas:tensorflow_cpu_1.14", "eas:tensorflow_cpu_1.15",
            "eas:tensorflow_cpu_2.4", "tfserving:2.5", "tfserving:2.7")
DEFAULT_ROWS = ("keras3_default", "tf1_session_default", "simple_save", "tf1_ref_builder")
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
QUOTED = re.compile(r"'([A-Za-z0-9_]+)'")


@pytest.fixture(scope="module")
def table_runtimes(old_runtimes):
    """Every runtime of the table fetched into the session's runtime cache."""
    return {name: fetch_runtime(name) for name in RUNTIMES}


def write_ref_builder(tf, path):
    """A TF1 graph with reference variables and a lookup table, written with stripped
    default attributes and the table filled by the main op: ``x`` -> ``scores``,
    ``classes``."""
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        weights = tf1.Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3),
                               name="W", use_resource=False)
        scores = tf.nn.softmax(tf.matmul(x, weights), name="scores")
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant([0, 1, 2], tf.int64),
                                                tf.constant(["cat", "dog", "bird"])), "unknown")
        classes = tf.identity(table.lookup(tf.argmax(scores, axis=1)), name="classes")
        session.run(tf1.global_variables_initializer())
        signature = tf1.saved_model.signature_def_utils.predict_signature_def(
            {"x": x}, {"scores": scores, "classes": classes})
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map={"serving_default": signature},
            strip_default_attrs=True, main_op=tf1.tables_initializer())
        builder.save()


@pytest.fixture(scope="module")
def default_exports(tf, tf1, tmp_path_factory):
    from conftest import export_simple_save

    root = tmp_path_factory.mktemp("table_defaults")
    paths = {
        "keras3_default": export(suggest_spec(build_small_keras(), root / "keras3")).path,
        "tf1_session_default": export(smw.ExportSpec(
            tf1.session, SignatureSpec(inputs={"x": "x:0"}, outputs={"scores": "scores:0"}),
            root / "tf1_session")).path,
    }
    export_simple_save(tf, str(root / "simple_save"))
    paths["simple_save"] = root / "simple_save"
    write_ref_builder(tf, root / "tf1_ref_builder")
    paths["tf1_ref_builder"] = root / "tf1_ref_builder"
    return paths


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("row", DEFAULT_ROWS)
def test_the_check_says_what_the_real_runtime_does(table_runtimes, default_exports, row,
                                                   runtime):
    path = default_exports[row]
    results = smw.check(path, "tfserving", runtime=runtime)
    refusals = [r for r in results if r.code in RUNTIME_CODES.values()]
    outcome = load_in_runtime(path, runtime)
    assert outcome.loaded == is_ready(refusals), (outcome.error, refusals)
    if not outcome.loaded:
        named = QUOTED.findall(outcome.error)[0]  # the op or attribute TensorFlow names
        assert any(f"'{named}'" in r.message or f" {named} " in r.message
                   for r in refusals), (outcome.error, [r.message for r in refusals])


def test_the_default_exports_are_refused_where_the_issue_measured(table_runtimes,
                                                                  default_exports):
    """The cells of the table measured before this project wrote compatible exports."""
    keras3 = default_exports["keras3_default"]
    assert "debug_name" in load_in_runtime(keras3, "eas:tensorflow_cpu_1.15").error
    assert "DisableCopyOnRead" in load_in_runtime(keras3, "tfserving:2.7").error
    assert load_in_runtime(default_exports["tf1_session_default"], "tfserving:2.7").loaded
    for runtime in RUNTIMES:
        assert load_in_runtime(default_exports["tf1_ref_builder"], runtime).loaded, runtime


@pytest.fixture(scope="module")
def keras_model():
    return build_small_keras()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_keras_model_exported_for_the_runtime_loads_with_equal_outputs(
        table_runtimes, keras_model, runtime, tmp_path):
    result = export(suggest_spec(keras_model, tmp_path / "keras", runtime=runtime),
                    verify=True)
    assert result.runtime == runtime
    assert is_ready(smw.check(result.path, "tfserving", runtime=runtime))
    assert result.report.ok, result.report.summary()
    assert runtime.split(":")[-1].replace("tensorflow_cpu_", "") in result.report.runtime
    features = np.random.default_rng(5).normal(size=(6, 3)).astype(np.float32)
    (alias,) = result.info.signature().input_aliases
    outcome = run_in_runtime(result.path, runtime, {"serving_default": {alias: features}})
    assert outcome.ok, outcome.summary()
    (got,) = outcome.outputs["serving_default"].values()
    assert_allclose(got, keras_model(features).numpy(), **TOLERANCE)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_tf1_session_with_a_table_exported_for_the_runtime_loads_with_equal_outputs(
        table_runtimes, tf1, runtime, tmp_path):
    spec = smw.ExportSpec(tf1.session, SignatureSpec(
        inputs={"x": "x:0"}, outputs={"scores": "scores:0", "classes": "classes:0"}),
        tmp_path / "tf1", runtime=runtime)
    result = export(spec)
    assert is_ready(smw.check(result.path, "tfserving", runtime=runtime))
    x = np.random.default_rng(6).normal(size=(5, 4)).astype(np.float32)
    outcome = run_in_runtime(result.path, runtime, {"serving_default": {"x": x}})
    assert outcome.ok, outcome.summary()
    scores, classes = tf1.session.run(["scores:0", "classes:0"], {"x:0": x})
    got = outcome.outputs["serving_default"]
    assert_allclose(got["scores"], scores, **TOLERANCE)
    assert [bytes(c) for c in got["classes"]] == [bytes(c) for c in classes]


def test_verify_of_an_export_result_runs_in_the_runtime_it_was_made_for(
        table_runtimes, keras_model, tmp_path):
    result = export(suggest_spec(keras_model, tmp_path / "keras",
                                 runtime="eas:tensorflow_cpu_1.14"))
    report = smw.verify(result)
    assert report.ok, report.summary()
    assert report.tensorflow_version.startswith("1.14")
    assert "EAS tensorflow_cpu_1.14" in report.runtime
    assert smw.verify(result, runtime="installed").runtime == ""
