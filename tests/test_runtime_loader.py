"""Exports loaded and run in the real TensorFlow 1.15 and 2.7 (their published wheels' C API).

The SavedModels are written here with the installed TensorFlow in the way old runtimes
load: a TF1 graph with ref variables, ``Builder(...).add_meta_graph_and_variables(...,
strip_default_attrs=True, main_op=tables_initializer())``. Their outputs in the old
runtime are compared with what the installed TensorFlow's session computes.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import savedmodel_widgets as smw
from savedmodel_widgets.runtimes._elf import make_undefined_symbols_weak
from savedmodel_widgets.runtimes.fetch import (
    CACHE_VARIABLE,
    REMOVED_PYTHON_SYMBOLS,
    RuntimeFetchError,
    fetch_runtime,
)
from savedmodel_widgets.savedmodel.reader import read_saved_model
from savedmodel_widgets.spec import ExportResult, ExportSpec, SignatureSpec

RUNTIMES = {"1.15": "eas:tensorflow_cpu_1.15", "2.7": "tfserving:2.7"}
WORDS = [b"cat", b"dog", b"", b"a key longer than twenty-two bytes", "naïve".encode()]
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "bool"]


def write_tf1(tf, path, build):
    """Write the graph ``build(tf1) -> (signature_def_map, feeds_to_check)`` the way old
    runtimes load it; returns the session (open) and ``build``'s second value."""
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        tf1.disable_resource_variables()
        try:
            signatures, extra = build(tf1)
        finally:
            tf1.enable_resource_variables()
        session = tf1.Session(graph=graph)
        session.run(tf1.global_variables_initializer())
        session.run(tf1.tables_initializer())
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map=signatures, strip_default_attrs=True,
            main_op=tf1.tables_initializer())
        builder.save()
    return session, extra


def written_tf1(tf, tmp_path_factory, name, build):
    """The path of a new directory ``name`` holding ``build``'s graph (its session closed)."""
    path = tmp_path_factory.mktemp("runtime") / name
    session, _ = write_tf1(tf, path, build)
    session.close()
    return path


def predict(tf1, inputs, outputs):
    return tf1.saved_model.signature_def_utils.predict_signature_def(inputs, outputs)


@pytest.fixture(scope="module")
def dense_model(tf, tmp_path_factory):
    """``x [None, 4] float32 -> y = softmax(x @ w + b)`` with ref variables."""
    path = tmp_path_factory.mktemp("runtime") / "dense"

    def build(tf1):
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        rng = np.random.default_rng(1)
        w = tf1.Variable(rng.normal(size=(4, 3)).astype(np.float32), name="w")
        b = tf1.Variable(rng.normal(size=3).astype(np.float32), name="b")
        y = tf.nn.softmax(tf.matmul(x, w) + b, name="y")
        return {"serving_default": predict(tf1, {"x": x}, {"y": y})}, (x, y)

    session, (x, y) = write_tf1(tf, path, build)
    features = np.random.default_rng(2).uniform(size=(5, 4)).astype(np.float32)
    yield path, session, features, session.run(y, {x: features})
    session.close()


@pytest.fixture(scope="module")
def lookup_model(tf, tmp_path_factory):
    """Two lookup tables: ``words`` string -> ``ids`` int64, ``ids`` int64 -> ``words``."""
    def build(tf1):
        keys = tf.constant(WORDS)
        values = tf.constant(np.arange(len(WORDS)), tf.int64)
        to_id = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), -1)
        to_word = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(values, keys), "<unknown>")
        words = tf1.placeholder(tf.string, [None], name="words")
        ids = tf1.placeholder(tf.int64, [None, 2], name="ids")
        return {"to_id": predict(tf1, {"words": words}, {"ids": to_id.lookup(words)}),
                "to_word": predict(tf1, {"ids": ids}, {"words": to_word.lookup(ids)})}, None

    return written_tf1(tf, tmp_path_factory, "lookup", build)


@pytest.fixture(scope="module")
def dtypes_model(tf, tmp_path_factory):
    """One signature passing a tensor of every dtype through: ``<dtype>`` -> ``<dtype>_out``."""
    def build(tf1):
        inputs = {name: tf1.placeholder(getattr(tf, name), [None, 2], name=name)
                  for name in DTYPES}
        outputs = {f"{name}_out": tf.identity(tensor) for name, tensor in inputs.items()}
        return {"serving_default": predict(tf1, inputs, outputs)}, None

    return written_tf1(tf, tmp_path_factory, "dtypes", build)


@pytest.fixture(scope="module")
def sparse_model(tf, tmp_path_factory):
    """``x [None, 3] float32`` -> ``nonzero``: a sparse output."""
    def build(tf1):
        x = tf1.placeholder(tf.float32, [None, 3], name="x")
        return {"serving_default": predict(tf1, {"x": x}, {"nonzero": tf.sparse.from_dense(x)})
                }, None

    return written_tf1(tf, tmp_path_factory, "sparse", build)


@pytest.fixture(scope="module")
def keras_default_export(tmp_path_factory):
    """A Keras 3 model exported the default way (resource variables, TF 2.21's ops)."""
    import keras

    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    path = tmp_path_factory.mktemp("runtime") / "keras"
    model.export(str(path), verbose=False)
    return path


# --- fetching ---------------------------------------------------------------------------


def test_a_fetched_runtime_is_reused_from_the_cache(old_runtimes):
    messages: list[str] = []
    again = fetch_runtime("eas:tensorflow_cpu_1.15", progress=messages.append)
    assert again == old_runtimes["1.15"]
    assert messages == []  # nothing downloaded
    assert sorted(p.name for p in again.directory.iterdir()) == [
        "_pywrap_tensorflow_internal.so", "libtensorflow_framework.so.1", "runtime.json"]
    # Its one reference to a symbol Python 3.9 removed was made weak when it was unpacked.
    assert make_undefined_symbols_weak(again.library, REMOVED_PYTHON_SYMBOLS) == []


def test_a_damaged_cache_entry_is_fetched_again(old_runtimes, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path))
    damaged = tmp_path / "runtimes" / "1.15.0"
    damaged.mkdir(parents=True)
    shutil.copy(old_runtimes["1.15"].directory / "runtime.json", damaged)  # no libraries
    messages: list[str] = []
    fetched = fetch_runtime("1.15", progress=messages.append)
    assert messages[0] == "Downloading tensorflow-cpu 1.15.0 (111 MB) ..."
    assert messages[-1] == f"TensorFlow 1.15.0 is ready in {damaged}."
    assert fetched.library.is_file() and fetched.directory == damaged
    assert [p.name for p in (tmp_path / "runtimes").iterdir()] == ["1.15.0"]


def test_a_runtime_that_cannot_be_fetched_says_what_was_tried(tmp_path, monkeypatch):
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    messages: list[str] = []
    with pytest.raises(RuntimeFetchError) as caught:
        fetch_runtime("tf:1.14", progress=messages.append)
    message = str(caught.value)
    assert "pip could not download tensorflow==1.14.0" in message
    assert "pip download --no-deps --only-binary=:all: --python-version 3.6" in message
    assert "by hand" in message
    assert messages == ["Downloading tensorflow 1.14.0 (109 MB) ..."]
    assert list((tmp_path / "cache" / "runtimes").iterdir()) == []  # nothing half-made


def test_the_installed_runtime_is_not_fetched():
    with pytest.raises(ValueError, match="only other runtimes are fetched"):
        fetch_runtime("installed")


# --- loading and running ------------------------------------------------------------------


@pytest.mark.parametrize("release", ["1.15", "2.7"])
def test_a_float_model_gives_the_installed_sessions_numbers(old_runtimes, dense_model, release):
    path, _, features, expected = dense_model
    outcome = smw.run_in_runtime(path, RUNTIMES[release], {"serving_default": {"x": features}})
    assert outcome.ok, outcome.summary()
    assert outcome.tensorflow_version == f"{release}.0"
    assert outcome.signature_names == ("serving_default",)
    assert_allclose(outcome.outputs["serving_default"]["y"], expected, rtol=1e-6, atol=1e-6)
    assert 0 < outcome.peak_rss_mb < 1000


@pytest.mark.parametrize("release", ["1.15", "2.7"])
def test_strings_go_in_and_come_out(old_runtimes, lookup_model, release):
    # 1.15 lays string tensors out as an offset table, 2.7 as TF_TString structures.
    words = np.array(WORDS + [b"zebra"])
    ids = np.array([[4, 3], [0, 9]], dtype=np.int64)
    outcome = smw.run_in_runtime(lookup_model, f"tf:{release}",
                                 {"to_id": {"words": words}, "to_word": {"ids": ids}})
    assert outcome.ok, outcome.summary()
    assert_array_equal(outcome.outputs["to_id"]["ids"], [0, 1, 2, 3, 4, -1])
    assert outcome.outputs["to_id"]["ids"].dtype == np.int64
    assert_array_equal(outcome.outputs["to_word"]["words"],
                       [[WORDS[4], WORDS[3]], [WORDS[0], b"<unknown>"]])


@pytest.mark.parametrize("release", ["1.15", "2.7"])
def test_empty_batches_round_trip(old_runtimes, lookup_model, release):
    outcome = smw.run_in_runtime(lookup_model, f"tf:{release}", {
        "to_id": {"words": np.array([], dtype=bytes)},
        "to_word": {"ids": np.zeros((0, 2), dtype=np.int64)}})
    assert outcome.ok, outcome.summary()
    assert outcome.outputs["to_id"]["ids"].shape == (0,)
    assert outcome.outputs["to_word"]["words"].shape == (0, 2)


def test_a_sparse_output_is_an_error_that_names_it(old_runtimes, sparse_model):
    outcome = smw.run_in_runtime(sparse_model, "tf:2.7",
                                 {"serving_default": {"x": np.eye(3, dtype=np.float32)}})
    assert outcome.loaded
    assert "sparse or composite tensors ('nonzero')" in outcome.signature_errors[
        "serving_default"]


@pytest.mark.parametrize("release", ["1.15", "2.7"])
def test_every_numeric_dtype_round_trips(old_runtimes, dtypes_model, release):
    rng = np.random.default_rng(3)
    arrays = {name: (rng.uniform(size=(3, 2)) * 100).astype(name) for name in DTYPES}
    outcome = smw.run_in_runtime(dtypes_model, f"tf:{release}", {"serving_default": arrays})
    assert outcome.ok, outcome.summary()
    for name, array in arrays.items():
        returned = outcome.outputs["serving_default"][f"{name}_out"]
        assert returned.dtype == array.dtype
        assert_array_equal(returned, array)


@pytest.mark.parametrize(("release", "refusal"), [
    ("1.15", "NodeDef mentions attr 'debug_name' not in Op<name=VarHandleOp"),
    ("2.7", "Op type not registered 'DisableCopyOnRead'"),
])
def test_a_default_keras_export_is_refused_with_tensorflows_message(
        old_runtimes, keras_default_export, release, refusal):
    outcome = smw.load_in_runtime(keras_default_export, RUNTIMES[release])
    assert not outcome.loaded
    assert refusal in outcome.error
    assert outcome.tensorflow_version == f"{release}.0"
    assert "refused by TensorFlow" in outcome.summary()


def test_an_unknown_signature_is_an_error_of_that_signature(old_runtimes, dense_model):
    path, _, features, _ = dense_model
    outcome = smw.run_in_runtime(path, "tf:2.7", {"predict": {"x": features}})
    assert outcome.loaded and not outcome.ok
    assert "no signature 'predict'; it has serving_default" in outcome.signature_errors["predict"]


# --- verify in a runtime ----------------------------------------------------------------


def test_verify_in_an_eas_runtime_compares_with_the_live_session(old_runtimes, dense_model):
    path, session, features, _ = dense_model
    spec = ExportSpec(session, SignatureSpec("serving_default", {"x": "x:0"}, {"y": "y:0"}),
                      path, runtime="eas:tensorflow_cpu_1.15")
    result = ExportResult(path, spec, read_saved_model(path), 0, 0.0)
    messages: list[str] = []
    report = smw.verify(result, inputs={"x": features}, runtime=spec.runtime,
                        progress=messages.append)
    assert report.ok, report.summary()
    assert report.compared_with_source
    assert report.tensorflow_version == "1.15.0"
    assert report.runtime == "TensorFlow 1.15.0, the runtime of EAS tensorflow_cpu_1.15"
    assert "loaded and run in TensorFlow 1.15.0, the runtime of EAS tensorflow_cpu_1.15" \
        in report.summary()
    assert report.signature("serving_default").output("y").max_abs_diff < 1e-6
    assert any(m.startswith("Loading ") and "TensorFlow 1.15.0" in m for m in messages)
    assert "loaded in TensorFlow 1.15.0, the runtime of EAS" in report._repr_html_()


def test_verify_in_a_runtime_fails_with_its_refusal(old_runtimes, keras_default_export):
    report = smw.verify(keras_default_export, runtime="tfserving:2.7")
    assert not report.ok
    error = report.signature("serving_default").error
    assert error.startswith("Loading the SavedModel failed: refused by TensorFlow 2.7.0, the "
                            "runtime of TF Serving 2.7: ")
    assert "DisableCopyOnRead" in error
    assert "DisableCopyOnRead" in report.summary()


def test_export_verifies_in_the_specs_runtime(old_runtimes, tf, tmp_path):
    # A TF1 session with TF2's resource variables: TensorFlow 2.7 loads smw's export of it.
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 3], name="x")
        w = tf1.Variable(np.eye(3, dtype=np.float32) * 2, name="w")
        tf.identity(tf.matmul(x, w), name="y")
        session = tf1.Session(graph=graph)
        session.run(tf1.global_variables_initializer())
    steps: list[str] = []
    spec = ExportSpec(session, SignatureSpec("serving_default", {"x": "x:0"}, {"y": "y:0"}),
                      tmp_path / "export", runtime="tfserving:2.7")
    result = smw.export(spec, verify=True, progress=lambda step: steps.append(step.message))
    session.close()
    assert result.report is not None and result.report.ok, result.report.summary()
    assert result.report.runtime == "TensorFlow 2.7.0, the runtime of TF Serving 2.7"
    assert "Verifying: loading the export in tfserving:2.7" in steps


def test_an_unknown_runtime_is_refused_with_the_names_close_to_it(dense_model):
    with pytest.raises(smw.errors.VerifyError, match="Did you mean 'eas:tensorflow_cpu_1.15'"):
        smw.verify(dense_model[0], runtime="eas:tensorflow_cpu_1.16")


def test_verify_in_a_runtime_feeds_strings_from_a_path(old_runtimes, lookup_model):
    report = smw.verify(lookup_model, runtime="tf:1.15",
                        inputs={"words": ["dog", "zebra"], "ids": [[0, 1]]})
    assert report.ok, report.summary()
    assert report.runtime == "TensorFlow 1.15.0"
    assert report.signature("to_id").output("ids").shape == (2,)
    assert report.signature("to_word").output("words").shape == (1, 2)
