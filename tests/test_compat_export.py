"""Exports for an older runtime: frozen, rebuilt with reference variables, checked, written.

Each model is exported for ``eas:tensorflow_cpu_1.15`` and ``tfserving:2.7`` once per
module, reloaded with TensorFlow's TF1 serve loader (as TF Serving loads) and run
against the live model; its graph is checked with the op registry of that release.
"""

from __future__ import annotations

import numpy as np
import pytest
from model_files import build_small_keras
from numpy.testing import assert_allclose

import savedmodel_widgets as smw
from savedmodel_widgets import SignatureSpec, export, suggest_spec
from savedmodel_widgets._serve_loader import load_for_serving, run_signature
from savedmodel_widgets.cli import EXIT_OK, main
from savedmodel_widgets.codegen import export_code
from savedmodel_widgets.compat_export import needs_compatible_export
from savedmodel_widgets.errors import RuntimeIncompatibleError
from savedmodel_widgets.runtimes.loader import run_in_runtime
from savedmodel_widgets.runtimes.op_registry import find_incompatibilities
from savedmodel_widgets.sources import open_source

RUNTIMES = ("eas:tensorflow_cpu_1.15", "tfserving:2.7")
RELEASES = {"eas:tensorflow_cpu_1.15": "1.15", "tfserving:2.7": "2.7"}
MODELS = ("keras_bn_embedding", "keras_subclassed", "tf_keras_model", "tf1_table", "tf_module")
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
RNG = np.random.default_rng(18)


def build_keras_bn_embedding():
    """Keras 3 functional: ``ids`` (6 int32) -> Embedding(2000, 16) -> BatchNormalization
    with trained-like moving statistics -> pooled ``scores`` (3), and ``dense`` (5, 16)
    -> a second output ``extra`` that shares the BatchNormalization layer's weights."""
    import keras

    keras.utils.set_random_seed(18)
    ids = keras.Input((6,), dtype="int32", name="ids")
    dense = keras.Input((5, 16), name="dense")
    embedded = keras.layers.Embedding(2000, 16, name="embedding")(ids)
    norm = keras.layers.BatchNormalization(name="norm")
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(norm(embedded))
    scores = keras.layers.Dense(3, activation="softmax", name="scores")(pooled)
    pooled_dense = keras.layers.GlobalAveragePooling1D(name="pool_dense")(norm(dense))
    extra = keras.layers.Dense(2, name="extra")(pooled_dense)
    model = keras.Model([ids, dense], [scores, extra], name="bn_embedding")
    layer = model.get_layer("norm")
    layer.moving_mean.assign(RNG.normal(size=16).astype(np.float32))
    layer.moving_variance.assign(RNG.uniform(0.5, 2.0, size=16).astype(np.float32))
    layer.gamma.assign(RNG.uniform(0.5, 1.5, size=16).astype(np.float32))
    return model


def specs_of(name, model, directory, runtime):
    """The spec each model is exported with (two signatures where they share weights)."""
    if name == "keras_bn_embedding":
        return smw.ExportSpec(model, [
            SignatureSpec("serving_default", {"ids": "ids"}, {"scores": "scores"}),
            SignatureSpec("extra", {"dense": "dense"}, {"extra": "extra"}),
        ], directory, runtime=runtime)
    if name == "tf1_table":
        return smw.ExportSpec(model, [
            SignatureSpec("serving_default", {"x": "x:0"},
                          {"scores": "scores:0", "classes": "classes:0"}),
            SignatureSpec("scaled", {"x": "x:0", "temperature": "temperature:0"},
                          {"scaled": "scaled:0"}),
        ], directory, runtime=runtime)
    if name == "tf_module":
        return smw.ExportSpec(model, [
            SignatureSpec("serving_default", {"x": "predict:x"}, {"logits": "predict:logits"}),
            SignatureSpec("proba", {"x": "proba:x"}, {"probabilities": "proba:output"}),
        ], directory, runtime=runtime)
    return suggest_spec(model, directory, runtime=runtime)


def sample_inputs(source, signature):
    """Inputs for one signature, made from the candidates' dtypes and shapes."""
    feeds = {}
    for alias, name in signature.inputs:
        candidate = source.input_candidate(name)
        shape = tuple(4 if d is None else d for d in (candidate.shape or ()))
        if candidate.dtype.startswith("int"):
            feeds[alias] = RNG.integers(0, 2000, shape).astype(candidate.dtype)
        else:
            feeds[alias] = RNG.random(shape).astype(candidate.dtype)
    return feeds


@pytest.fixture(scope="module")
def models(tf, keras_subclassed, tf_keras_model, tf1, tf_module):
    return {
        "keras_bn_embedding": build_keras_bn_embedding(),
        "keras_subclassed": keras_subclassed,
        "tf_keras_model": tf_keras_model,
        "tf1_table": tf1.session,
        "tf_module": tf_module,
    }


@pytest.fixture(scope="module")
def exports(models, tmp_path_factory):
    """``{(model, runtime): (ExportResult, progress steps)}``, each written once."""
    root = tmp_path_factory.mktemp("compat")
    written = {}
    for name, model in models.items():
        for runtime in RUNTIMES:
            steps = []
            spec = specs_of(name, model, root / name / runtime.replace(":", "_"), runtime)
            written[name, runtime] = (export(spec, progress=steps.append), steps)
    return written


def graph_def_of(path):
    """The GraphDef of the one meta graph of the SavedModel at ``path``."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    (meta_graph,) = saved.meta_graphs
    return meta_graph.graph_def


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODELS)
def test_served_outputs_equal_the_live_model(exports, models, name, runtime):
    result, _ = exports[name, runtime]
    source = open_source(models[name])
    session, meta_graph = load_for_serving(str(result.path))
    try:
        for signature in result.spec.signatures:
            feeds = sample_inputs(source, signature)
            got = run_signature(session, meta_graph, signature.name, feeds)
            want = source.evaluate(signature, feeds)
            assert sorted(got) == sorted(signature.output_aliases)
            for alias, value in want.items():
                if np.asarray(value).dtype.kind in "OSU":
                    assert list(got[alias]) == list(value)
                else:
                    assert_allclose(got[alias], value, **TOLERANCE)
    finally:
        session.close()


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODELS)
def test_the_runtime_knows_every_op_and_attribute(exports, name, runtime):
    result, _ = exports[name, runtime]
    graph_def = graph_def_of(result.path)
    assert find_incompatibilities(graph_def.SerializeToString(), RELEASES[runtime]) == []
    ops = {node.op for node in graph_def.node}
    assert "VarHandleOp" not in ops and "DisableCopyOnRead" not in ops
    assert "VariableV2" in ops
    assert result.runtime == runtime == result.spec.runtime


def test_weights_are_variables_each_stored_once_with_readable_names(tf, exports, models):
    result, _ = exports["keras_bn_embedding", "eas:tensorflow_cpu_1.15"]
    stored = dict(tf.train.list_variables(str(result.path / "variables" / "variables")))
    model = models["keras_bn_embedding"]
    assert sorted(stored) == sorted(weight.path for weight in model.weights)
    embedding = model.get_layer("embedding").embeddings
    assert stored["embedding/embeddings"] == list(embedding.shape)
    weight_bytes = sum(int(np.prod(weight.shape)) * 4 for weight in model.weights)
    data = result.path / "variables" / "variables.data-00000-of-00001"
    assert data.stat().st_size >= weight_bytes
    assert (result.path / "saved_model.pb").stat().st_size < weight_bytes / 4


def test_two_signatures_of_a_module_share_its_variables(tf, exports):
    result, _ = exports["tf_module", "tfserving:2.7"]
    stored = dict(tf.train.list_variables(str(result.path / "variables" / "variables")))
    assert stored == {"kernel": [4, 3], "offset": [3]}
    assert sorted(s.name for s in result.info.signatures) == ["proba", "serving_default"]


def test_progress_numbers_every_step_from_the_first(exports):
    for name in ("keras_bn_embedding", "tf1_table"):
        _, steps = exports[name, "eas:tensorflow_cpu_1.15"]
        assert [step.step for step in steps] == list(range(1, len(steps) + 1))
        assert {step.total for step in steps} == {len(steps)}
        messages = [step.message for step in steps]
        assert any("Freezing" in message for message in messages)
        assert "Checking the ops and attributes against TensorFlow 1.15" in messages
        assert messages[-1].startswith("Done: ")


def test_refused_before_writing_for_a_runtime_without_the_op(tf, tmp_path):
    import keras

    class Mixer(keras.layers.Layer):
        def build(self, input_shape):
            self.mixing = self.add_weight(shape=(input_shape[-1], 3), name="mixing")

        def call(self, inputs):
            return tf.einsum("ab,bc->ac", inputs, self.mixing)

    keras.utils.set_random_seed(5)
    features = keras.Input((4,), name="features")
    model = keras.Model(features, Mixer(name="mixer")(features))
    target = tmp_path / "parent" / "einsum"
    spec = suggest_spec(model, target, runtime="eas:tensorflow_cpu_1.14")
    with pytest.raises(RuntimeIncompatibleError) as raised:
        export(spec)
    message = str(raised.value)
    assert "'Einsum'" in message and "in the layer 'mixer'" in message and "1.15" in message
    assert "choose eas:tensorflow_cpu_1.15 or newer" in message
    assert [item.op for item in raised.value.incompatibilities] == ["Einsum"]
    assert not (tmp_path / "parent").exists()
    result = export(spec.replace(runtime="eas:tensorflow_cpu_1.15"))
    session, meta_graph = load_for_serving(str(result.path))
    x = RNG.random((2, 4)).astype(np.float32)
    got = run_signature(session, meta_graph, "serving_default", {"features": x})
    session.close()
    assert_allclose(next(iter(got.values())), model(x).numpy(), **TOLERANCE)


def test_the_installed_release_takes_the_default_export(keras_model, tmp_path):
    installed = smw.runtimes()[-1]
    spec = suggest_spec(keras_model, tmp_path / "m", runtime=f"tf:{installed.release}")
    assert not needs_compatible_export(spec)
    assert needs_compatible_export(spec.replace(runtime="tfserving:2.7"))
    result = export(spec)
    assert result.runtime == f"tf:{installed.release}"
    assert "VarHandleOp" in {node.op for node in graph_def_of(result.path).node}


def test_convert_and_the_cli_take_the_runtime(tf, tmp_path, capsys):
    model = build_small_keras()
    model.save(tmp_path / "small.keras")
    x = RNG.random((3, 3)).astype(np.float32)
    result = smw.convert(tmp_path / "small.keras", tmp_path / "api", runtime="tfserving:2.7")
    assert result.runtime == "tfserving:2.7"
    out = tmp_path / "cli"
    code = main(["convert", str(tmp_path / "small.keras"), "--out", str(out),
                 "--runtime", "eas:tensorflow_cpu_1.15"])
    assert code == EXIT_OK, capsys.readouterr().err
    for path in (result.path, out):
        assert "VarHandleOp" not in {node.op for node in graph_def_of(path).node}
        session, meta_graph = load_for_serving(str(path))
        got = run_signature(session, meta_graph, "serving_default", {"features": x})
        session.close()
        assert_allclose(got["out"], model(x).numpy(), **TOLERANCE)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODELS)
def test_the_real_old_runtime_loads_and_runs_the_export(exports, models, name, runtime):
    """The export loads in the runtime's own TensorFlow (its C API, fetched once into the
    cache) and every signature's outputs equal the live model's."""
    result, _ = exports[name, runtime]
    source = open_source(models[name])
    feeds = {signature.name: sample_inputs(source, signature)
             for signature in result.spec.signatures}
    outcome = run_in_runtime(result.path, runtime, feeds)
    assert outcome.ok, outcome.summary()
    assert outcome.tensorflow_version.startswith(RELEASES[runtime])
    for signature in result.spec.signatures:
        want = source.evaluate(signature, feeds[signature.name])
        got = outcome.outputs[signature.name]
        for alias, value in want.items():
            if np.asarray(value).dtype.kind in "OSU":
                assert [bytes(v) for v in got[alias]] == [bytes(v) for v in value]
            else:
                assert_allclose(got[alias], value, **TOLERANCE)


@pytest.mark.parametrize("name", MODELS)
def test_the_generated_code_writes_an_equivalent_export(tf, exports, models, name, tmp_path):
    """``export_code`` for an older runtime is plain TensorFlow (freeze, rebuild with
    reference variables, SavedModelBuilder) that writes the same signatures, weights and
    outputs as ``export``."""
    result, _ = exports[name, "eas:tensorflow_cpu_1.15"]
    spec = result.spec.replace(directory=tmp_path / "by_code")
    code = export_code(spec)
    assert "savedmodel_widgets" not in code
    assert "strip_default_attrs=True" in code and "use_resource=False" in code
    exec(compile(code, f"<export code {name}>", "exec"), {spec.source_name: models[name]})
    by_code = tmp_path / "by_code"
    assert find_incompatibilities(graph_def_of(by_code).SerializeToString(), "1.15") == []
    variables = tf.train.list_variables
    assert variables(str(by_code / "variables" / "variables")) == variables(
        str(result.path / "variables" / "variables"))
    source = open_source(models[name])
    exported, exported_meta_graph = load_for_serving(str(result.path))
    written, meta_graph = load_for_serving(str(by_code))
    try:
        assert sorted(meta_graph.signature_def) == sorted(s.name for s in spec.signatures)
        for signature in spec.signatures:
            feeds = sample_inputs(source, signature)
            want = run_signature(exported, exported_meta_graph, signature.name, feeds)
            got = run_signature(written, meta_graph, signature.name, feeds)
            assert sorted(got) == sorted(want)
            for alias, value in want.items():
                if value.dtype.kind in "OSU":
                    assert list(got[alias]) == list(value)
                else:
                    assert_allclose(got[alias], value, **TOLERANCE)
    finally:
        exported.close()
        written.close()


def test_a_keras_model_takes_the_chosen_tags_for_an_older_runtime(keras_model, tmp_path):
    spec = suggest_spec(keras_model, tmp_path / "tagged", runtime="tfserving:2.7")
    with pytest.raises(smw.errors.ExportSpecError, match="older runtime"):
        export(spec.replace(runtime="installed", tags=("serve", "gpu")))
    result = export(spec.replace(tags=("serve", "gpu")))
    assert "for tfserving:2.7" in result._repr_html_()
    session, meta_graph = load_for_serving(str(result.path), tags=("serve", "gpu"))
    image = RNG.random((2, 8)).astype(np.float32)
    meta = RNG.random((2, 2)).astype(np.float32)
    got = run_signature(session, meta_graph, "serving_default", {"image": image, "meta": meta})
    session.close()
    assert_allclose(got["scores"], keras_model([image, meta]).numpy(), **TOLERANCE)


def test_verify_after_a_compatible_export_runs_every_signature(tf1, tmp_path):
    spec = specs_of("tf1_table", tf1.session, tmp_path / "verified", "eas:tensorflow_cpu_1.15")
    steps = []
    result = export(spec, verify=True, progress=steps.append)
    assert result.report is not None and result.report.ok, result.report.summary()
    # Every step is numbered in order; verification adds notes within its own step
    # (fetching the runtime, loading the export in it).
    numbers, total = [step.step for step in steps], steps[0].total
    assert numbers == sorted(numbers) and sorted(set(numbers)) == list(range(1, total + 1))
    assert {step.total for step in steps} == {total}
    (verifying,) = [step for step in steps if step.message.startswith("Verifying")]
    notes = [step for step in steps if step.step == verifying.step and step is not verifying]
    assert any("TensorFlow 1.15" in note.message for note in notes), notes


def test_a_graph_without_variables_keeps_its_lookup_table(tf, tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        words = tf.compat.v1.placeholder(tf.string, [None], name="words")
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(["cat", "dog"]),
                                                tf.constant([0, 1], tf.int64)),
            default_value=-1,
        )
        tf.identity(table.lookup(words), name="ids")
    spec = smw.ExportSpec(graph, SignatureSpec("serving_default", {"words": "words:0"},
                                               {"ids": "ids:0"}),
                          tmp_path / "table", source_name="graph", runtime="tfserving:2.7")
    result = export(spec)
    exec(compile(export_code(spec.replace(directory=tmp_path / "by_code")), "<code>", "exec"),
         {"graph": graph})
    for path in (result.path, tmp_path / "by_code"):
        assert find_incompatibilities(graph_def_of(path).SerializeToString(), "2.7") == []
        session, meta_graph = load_for_serving(str(path))
        got = run_signature(session, meta_graph, "serving_default",
                            {"words": np.array([b"dog", b"cow", b"cat"])})
        session.close()
        assert got["ids"].tolist() == [1, -1, 0]


def test_string_and_half_precision_variables_become_variables_again(tf, tmp_path):
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        ids = tf1.placeholder(tf.int32, [None], name="ids")
        labels = tf1.Variable(["cat", "dog", "bird"], name="labels")
        weights = tf1.Variable(np.array([0.5, 1.5, 2.5], np.float16), name="weights")
        tf.gather(labels, ids, name="label")
        tf.gather(weights, ids, name="weight")
        session = tf1.Session(graph=graph)
        session.run(tf1.global_variables_initializer())
    spec = smw.ExportSpec(session, SignatureSpec("serving_default", {"ids": "ids:0"},
                                                 {"label": "label:0", "weight": "weight:0"}),
                          tmp_path / "typed", runtime="eas:tensorflow_cpu_1.15")
    result = export(spec)
    session.close()
    stored = dict(tf.train.list_variables(str(result.path / "variables" / "variables")))
    assert stored == {"labels": [3], "weights": [3]}
    served, meta_graph = load_for_serving(str(result.path))
    got = run_signature(served, meta_graph, "serving_default", {"ids": np.array([2, 0])})
    served.close()
    assert got["label"].tolist() == [b"bird", b"cat"]
    assert got["weight"].dtype == np.float16 and got["weight"].tolist() == [2.5, 0.5]
