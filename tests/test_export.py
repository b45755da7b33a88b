"""Export live models of every kind, reload them with TensorFlow, compare predictions."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose

from savedmodel_widgets import ExportSpec, SignatureSpec, export, export_code, suggest_spec, verify
from savedmodel_widgets._atomic import host_tag
from savedmodel_widgets.errors import ExportSpecError, TargetExistsError

RNG = np.random.default_rng(42)


def features(*shape):
    return RNG.random(shape, dtype=np.float32)


def signature_keys(loaded, name):
    function = loaded.signatures[name]
    _, inputs = function.structured_input_signature
    return sorted(inputs), sorted(function.structured_outputs)


def test_keras_default_export_round_trips(tf, keras_model, tmp_path):
    result = export(suggest_spec(keras_model, tmp_path / "classifier"))
    assert result.path == tmp_path / "classifier"
    signature = result.info.signature("serving_default")
    assert list(signature.input_aliases) == ["image", "meta"]
    assert list(signature.output_aliases) == ["scores"]
    assert [t.shape for t in signature.inputs] == [(None, 8), (None, 2)]

    loaded = tf.saved_model.load(str(result.path))
    image, meta = features(5, 8), features(5, 2)
    got = loaded.signatures["serving_default"](image=image, meta=meta)
    assert list(got) == ["scores"]
    assert_allclose(got["scores"].numpy(), keras_model([image, meta]).numpy(), rtol=1e-6)


def test_keras_weights_are_written_once(keras_model, tmp_path):
    result = export(suggest_spec(keras_model, tmp_path / "once"))
    weights = {w.path: int(np.prod(w.shape)) * 4 for w in keras_model.weights}
    assert sorted(v.name for v in result.info.variables) == sorted(weights)
    assert sum(v.nbytes for v in result.info.variables) == sum(weights.values())
    data = result.path / "variables" / "variables.data-00000-of-00001"
    assert data.stat().st_size < 1.02 * sum(weights.values()) + 4096
    assert result.bytes_written == sum(
        f.stat().st_size for f in result.path.rglob("*") if f.is_file()
    )


def test_keras_intermediate_layer_and_several_signatures(tf, keras_model, tmp_path):
    spec = ExportSpec(
        keras_model,
        [
            SignatureSpec(
                "predict_images",
                {"pixels": "image", "extra": "meta"},
                {"probabilities": "scores", "embedding": "embedding"},
            ),
            SignatureSpec("embed", {"image": "image", "meta": "meta"}, {"vector": "embedding"}),
        ],
        tmp_path / "multi",
    )
    result = export(spec)
    assert sorted(s.name for s in result.info.signatures) == ["embed", "predict_images"]
    loaded = tf.saved_model.load(str(result.path))
    assert signature_keys(loaded, "predict_images") == (
        ["extra", "pixels"],
        ["embedding", "probabilities"],
    )
    image, meta = features(3, 8), features(3, 2)
    got = loaded.signatures["predict_images"](pixels=image, extra=meta)
    import keras

    inner = keras.Model(keras_model.inputs, keras_model.get_layer("embedding").output)
    assert_allclose(got["probabilities"].numpy(), keras_model([image, meta]).numpy(), rtol=1e-6)
    assert_allclose(got["embedding"].numpy(), inner([image, meta]).numpy(), rtol=1e-6)
    vector = loaded.signatures["embed"](image=image, meta=meta)["vector"]
    assert_allclose(vector.numpy(), got["embedding"].numpy(), rtol=1e-6)


def test_keras_output_needing_an_unchosen_input_is_refused(keras_model, tmp_path):
    spec = ExportSpec(
        keras_model, SignatureSpec("serving_default", {"image": "image"}, {"scores": "scores"}),
        tmp_path / "refused",
    )
    with pytest.raises(ExportSpecError, match="needs the model input 'meta'"):
        export(spec)
    assert not (tmp_path / "refused").exists()
    assert os.listdir(tmp_path) == []


def test_keras_sequential_and_tf_keras_round_trip(tf, keras_sequential, tf_keras_model, tmp_path):
    for model, width in ((keras_sequential, 4), (tf_keras_model, 6)):
        result = export(suggest_spec(model, tmp_path / model.name))
        (signature,) = result.info.signatures
        assert signature.inputs[0].shape == (None, width)
        loaded = tf.saved_model.load(str(result.path))
        batch = features(4, width)
        (alias,) = signature.input_aliases
        got = loaded.signatures["serving_default"](**{alias: batch})
        (value,) = got.values()
        assert_allclose(value.numpy(), np.asarray(model(batch)), rtol=1e-6)


def test_tf1_simple_save_equivalent_from_the_reference(tf, tf1, tmp_path):
    spec = ExportSpec(
        tf1.session, SignatureSpec("serving_default", {"image": "x:0"}, {"scores": "scores:0"}),
        tmp_path / "simple",
    )
    result = export(spec)
    rows = [(r["direction"], r["alias"], r["tensor"]) for r in result.info.signature_rows()]
    assert rows == [("input", "image", "x:0"), ("output", "scores", "scores:0")]
    loaded = tf.saved_model.load(str(result.path))
    batch = features(6, 4)
    got = loaded.signatures["serving_default"](image=batch)["scores"].numpy()
    assert_allclose(got, tf1.session.run(tf1.scores, {tf1.x: batch}), rtol=1e-6)


def test_tf1_builder_with_predict_images_and_a_lookup_table(tf, tf1, tmp_path):
    spec = ExportSpec(
        tf1.session,
        [
            SignatureSpec(
                "predict_images", {"images": "x:0"}, {"scores": "scores:0", "classes": "classes:0"}
            ),
            SignatureSpec(
                "scaled", {"images": "x:0", "temperature": "temperature:0"}, {"scaled": "scaled:0"}
            ),
        ],
        tmp_path / "builder",
    )
    result = export(spec)
    assert sorted(s.name for s in result.info.signatures) == ["predict_images", "scaled"]
    meta_graph = result.info.serving_meta_graph
    assert meta_graph.tags == ("serve",)
    assert dict(meta_graph.op_counts).get("LookupTableImportV2") == 1
    loaded = tf.saved_model.load(str(result.path))
    batch = features(5, 4)
    got = loaded.signatures["predict_images"](images=batch)
    expected = tf1.session.run(tf1.classes, {tf1.x: batch})
    assert got["classes"].numpy().tolist() == expected.tolist()
    scaled = loaded.signatures["scaled"](images=batch, temperature=np.float32(2.0))["scaled"]
    assert_allclose(scaled.numpy(), 2.0 * got["scores"].numpy(), rtol=1e-6)


def test_tf1_session_exports_again_with_other_choices(tf, tf1, tmp_path):
    graph = tf1.graph
    main_ops_before = list(graph.get_collection("saved_model_main_op"))
    results = []
    for outputs in ({"scores": "scores:0"}, {"classes": "classes:0"}, {"best": "classes:0"}):
        spec = ExportSpec(
            tf1.session, SignatureSpec("serving_default", {"image": "x:0"}, outputs),
            tmp_path / "versions", version="auto",
        )
        results.append(export(spec))
    assert [r.path.name for r in results] == ["1", "2", "3"]
    assert [r.version for r in results] == [1, 2, 3]
    # Each result's code writes where that export went, not the next free version.
    assert [r.spec.version for r in results] == [1, 2, 3]
    assert f'"{tmp_path / "versions" / "2"}"' in export_code(results[1].spec)
    assert results[2].info.other_versions == (1, 2)
    assert list(results[2].info.signature("serving_default").output_aliases) == ["best"]
    assert list(graph.get_collection("saved_model_main_op")) == main_ops_before
    loaded = tf.saved_model.load(str(results[2].path))
    batch = features(2, 4)
    got = loaded.signatures["serving_default"](image=batch)["best"].numpy()
    assert got.tolist() == tf1.session.run(tf1.classes, {tf1.x: batch}).tolist()


def test_tf1_output_needing_an_unchosen_placeholder_is_refused(tf1, tmp_path):
    spec = ExportSpec(
        tf1.session, SignatureSpec("serving_default", {"image": "x:0"}, {"out": "scaled:0"}),
        tmp_path / "refused",
    )
    with pytest.raises(ExportSpecError, match="placeholder 'temperature:0'"):
        export(spec)
    assert os.listdir(tmp_path) == []


def test_tf1_feeding_an_inner_tensor_cuts_the_dependency(tf, tf1, tmp_path):
    spec = ExportSpec(
        tf1.session,
        SignatureSpec("serving_default", {"probabilities": "scores:0", "t": "temperature:0"},
                      {"scaled": "scaled:0"}),
        tmp_path / "fed",
    )
    loaded = tf.saved_model.load(str(export(spec).path))
    scores = features(2, 3)
    got = loaded.signatures["serving_default"](probabilities=scores, t=np.float32(3.0))
    assert_allclose(got["scaled"].numpy(), 3.0 * scores, rtol=1e-6)


def test_tf_module_functions_as_named_signatures(tf, tf_module, tmp_path):
    spec = ExportSpec(
        tf_module,
        [
            SignatureSpec("serving_default", {"features": "predict:x"},
                          {"logits": "predict:logits"}),
            SignatureSpec("probabilities", {"features": "proba:x"}, {"p": "proba:output"}),
        ],
        tmp_path / "module",
    )
    result = export(spec)
    loaded = tf.saved_model.load(str(result.path))
    batch = features(3, 4)
    logits = loaded.signatures["serving_default"](features=batch)["logits"].numpy()
    assert_allclose(logits, tf_module.predict(batch)["logits"].numpy(), rtol=1e-6)
    p = loaded.signatures["probabilities"](features=batch)["p"].numpy()
    assert_allclose(p, tf_module.proba(batch).numpy(), rtol=1e-6)
    assert len(result.info.variables) == 2


def bad_specs(keras_model):
    good_in, good_out = {"image": "image", "meta": "meta"}, {"scores": "scores"}

    def one(name="serving_default", inputs=good_in, outputs=good_out, **spec):
        return ExportSpec(keras_model, SignatureSpec(name, inputs, outputs,
                                                     spec.pop("method", "predict")),
                          "unused", **spec)

    return {
        "unknown tensor": (one(outputs={"scores": "score"}), "Did you mean 'scores'"),
        "unknown input": (one(inputs={"image": "images", "meta": "meta"}),
                          "Valid inputs: 'image', 'meta'"),
        "duplicate alias": (one(outputs={"image": "scores"}), "'image' is used more than once"),
        "invalid alias": (one(outputs={"2scores": "scores"}), "'2scores' is not a valid alias"),
        "keyword alias": (one(outputs={"class": "scores"}), "'class' is not a valid alias"),
        "no inputs": (one(inputs={}), "has no inputs"),
        "no outputs": (one(outputs={}), "has no outputs"),
        "reserved name": (one(name="__saved_model_init_op"), "'__' are TensorFlow's own"),
        "method": (one(method="classify"), "method 'classify' is not available"),
        "tags": (one(tags=("serve", "gpu")), "always tags the MetaGraph 'serve'"),
        "version": (one(version=-1), "version must be None"),
        "duplicate signatures": (
            ExportSpec(keras_model, [SignatureSpec("a", good_in, good_out)] * 2, "unused"),
            "'a' is used 2 times",
        ),
    }


@pytest.mark.parametrize("case", list(bad_specs(None)))
def test_bad_specs_are_refused_before_anything_is_written(case, keras_model, tmp_path):
    spec, message = bad_specs(keras_model)[case]
    spec = spec.replace(directory=tmp_path / "target")
    with pytest.raises(ExportSpecError, match=message):
        export(spec)
    assert os.listdir(tmp_path) == []


def test_existing_target_is_kept_unless_overwrite(tf, keras_model, tf_module, tmp_path):
    target = tmp_path / "model"
    first = export(suggest_spec(tf_module, target))
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    spec = suggest_spec(keras_model, target)
    with pytest.raises(TargetExistsError, match="overwrite=True"):
        export(spec)
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    assert list(first.info.signature("serving_default").input_aliases) == ["x"]

    replaced = export(spec.replace(overwrite=True))
    assert list(replaced.info.signature("serving_default").input_aliases) == ["image", "meta"]
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no staging or old copy left
    loaded = tf.saved_model.load(str(target))
    assert signature_keys(loaded, "serving_default") == (["image", "meta"], ["scores"])


def test_empty_target_directory_is_used(keras_model, tmp_path):
    (tmp_path / "empty").mkdir()
    assert export(suggest_spec(keras_model, tmp_path / "empty")).info.signatures


def test_integer_version_and_progress_messages(keras_model, tmp_path):
    steps = []
    result = export(suggest_spec(keras_model, tmp_path / "served", version=7),
                    progress=steps.append)
    assert result.path == tmp_path / "served" / "7"
    assert result.version == 7
    messages = [step.message for step in steps]
    assert messages[0] == "Checked the export spec"
    assert any("Tracing signature 'serving_default'" in m for m in messages)
    assert messages[-1] == f"Done: {result.path}"
    assert str(steps[-1]) == f"[{len(steps)}/{len(steps)}] Done: {result.path}"
    with pytest.raises(TargetExistsError):
        export(suggest_spec(keras_model, tmp_path / "served", version=7))


@pytest.mark.parametrize(("kind", "verify_too"), [
    ("keras_model", True), ("keras_subclassed", False), ("tf_keras_model", False),
    ("tf1", True), ("tf_module", False),
])
def test_progress_counts_its_own_steps(kind, verify_too, request, tmp_path):
    """Every source reports exactly the number of steps its first report announces, so a
    progress bar fills once, at the end (verification is one of the steps)."""
    source = request.getfixturevalue(kind)
    model = source.session if kind == "tf1" else source
    spec = suggest_spec(model, tmp_path / kind)
    second = dataclasses.replace(spec.signatures[0], name="second")
    spec = spec.replace(signatures=(*spec.signatures, second))
    steps = []
    result = export(spec, verify=verify_too, progress=steps.append)
    assert [step.step for step in steps] == list(range(1, len(steps) + 1))
    assert {step.total for step in steps} == {len(steps)}
    assert (result.report is not None) == verify_too
    if verify_too:
        assert "Verifying" in steps[-2].message
        assert result.report.ok, result.report.summary()


def test_stale_staging_directories_of_dead_processes_are_removed(keras_model, tmp_path):
    host = host_tag()
    stale = tmp_path / f".model.partial-{host}-999999999-0badcafe"
    (stale / "variables").mkdir(parents=True)
    alive = tmp_path / f".model.partial-{host}-{os.getpid()}-00c0ffee"
    alive.mkdir()
    # The same dead process number on another machine sharing the volume: its export
    # may still be running there, so it stays.
    elsewhere = tmp_path / ".model.partial-other_machine-999999999-0badcafe"
    elsewhere.mkdir()
    result = export(suggest_spec(keras_model, tmp_path / "model"))
    assert not stale.exists()
    assert alive.exists() and elsewhere.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["model"]
    assert result.path == tmp_path / "model"


def test_result_renders_in_a_notebook(keras_model, tmp_path):
    result = export(suggest_spec(keras_model, tmp_path / "html"))
    html = result._repr_html_()
    assert "Exported <code>" in html
    assert "serving_default" in html and "scores" in html


def test_trained_keras_model_with_a_lookup_table_exports_weights_only(tf, tmp_path):
    import keras

    word = keras.Input((1,), dtype="string", name="word")
    ids = keras.layers.StringLookup(vocabulary=["cat", "dog"], name="lookup")(word)
    vectors = keras.layers.Flatten(name="vector")(keras.layers.Embedding(4, 3, name="emb")(ids))
    model = keras.Model(word, vectors)
    model.compile("adam", "mse")
    model.fit(tf.constant([["cat"], ["dog"]]), np.zeros((2, 3)), verbose=0)
    result = export(suggest_spec(model, tmp_path / "words"))
    assert [v.name for v in result.info.variables] == ["emb/embeddings"]  # no optimizer state
    code = export_code(result.spec.replace(directory=tmp_path / "by_hand"))
    assert "export_root.model_layers = model.layers" in code
    exec(compile(code, "<export>", "exec"), {"model": model})
    by_hand = tf.saved_model.load(str(tmp_path / "by_hand"))
    loaded = tf.saved_model.load(str(result.path))
    words = np.array([["dog"], ["cow"]], dtype=object)
    got = loaded.signatures["serving_default"](word=tf.constant(words))["vector"]
    assert_allclose(got.numpy(), model(tf.constant(words)).numpy(), rtol=1e-6)
    again = by_hand.signatures["serving_default"](word=tf.constant(words))["vector"]
    assert_allclose(again.numpy(), got.numpy(), rtol=1e-6)


def test_subclassed_keras_models_round_trip(tf, keras_subclassed, tf_keras_subclassed,
                                             tmp_path):
    spec = ExportSpec(
        keras_subclassed,
        SignatureSpec("serving_default", {"features": "input"},
                      {"scores": "logits", "embedding": "hidden"}),
        tmp_path / "two_heads",
    )
    two_heads = export(spec)
    loaded = tf.saved_model.load(str(two_heads.path))
    batch = features(4, 5)
    got = loaded.signatures["serving_default"](features=batch)
    expected = keras_subclassed(batch)
    report = verify(two_heads, inputs={"features": batch})
    assert report.ok and report.compared_with_source, report.summary()
    assert_allclose(got["scores"].numpy(), expected["logits"].numpy(), rtol=1e-6)
    assert_allclose(got["embedding"].numpy(), expected["hidden"].numpy(), rtol=1e-6)

    result = export(suggest_spec(tf_keras_subclassed, tmp_path / "scorer"))
    assert result.info.signature("serving_default").inputs[0].shape == (None, 5)
    loaded = tf.saved_model.load(str(result.path))
    got = loaded.signatures["serving_default"](input=batch)["output"]
    assert_allclose(got.numpy(), tf_keras_subclassed(batch).numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "fixture",
    ["keras_model", "keras_sequential", "tf_keras_model", "tf1", "tf_module", "keras_subclassed"],
)
def test_default_exports_pass_every_serving_check(fixture, request, tmp_path):
    from savedmodel_widgets import check

    source = request.getfixturevalue(fixture)
    source = getattr(source, "session", source)
    result = export(suggest_spec(source, tmp_path, version="auto"))
    findings = [*check(result.info, "tfserving", "installed"),
                *check(result.info, "eas", "installed")]
    # The one warning: EAS's processors run TensorFlow 2.7 or older, not the installed one.
    assert [f.code for f in findings if f.level != "info"] == ["runtime-not-chosen"]


def test_uninitialized_tf1_variable_is_an_export_error_and_nothing_is_written(tf, tmp_path):
    from savedmodel_widgets.errors import ExportError

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        weights = tf.compat.v1.get_variable("w", [2, 2])
        tf.matmul(x, weights, name="y")
    with tf.compat.v1.Session(graph=graph) as session:
        spec = ExportSpec(session, SignatureSpec("serving_default", {"x": "x:0"}, {"y": "y:0"}),
                          tmp_path / "model")
        with pytest.raises(ExportError, match="global_variables_initializer"):
            export(spec)
    assert os.listdir(tmp_path) == []


def test_tf1_classify_and_regress_keys_follow_tf_serving(tf, tf1, tmp_path):
    spec = ExportSpec(
        tf1.session,
        SignatureSpec("classify", {"images": "x:0"}, {"classes": "classes:0"}, "classify"),
        tmp_path / "classify",
    )
    with pytest.raises(ExportSpecError, match=r"'inputs' \(string\).*input 'images' \(float32\)"):
        export(spec)
    assert os.listdir(tmp_path) == []

    graph = tf.Graph()
    with graph.as_default():
        examples = tf.compat.v1.placeholder(tf.string, [None], name="examples")
        tf.cast(tf.strings.length(examples), tf.float32, name="value")
    regress = SignatureSpec("regress", {"inputs": "examples:0"}, {"outputs": "value:0"},
                            "regress")
    result = export(ExportSpec(graph, regress, tmp_path / "regress"))
    assert result.info.signature("regress").method_name == "tensorflow/serving/regress"
