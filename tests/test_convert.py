"""Model files -> SavedModel: each kind of file converted, reloaded, and compared with the
model that wrote it; bad files refused with a clear message and nothing written."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from live_sources import build_keras_sequential, build_tf1_session, build_tf_keras_model
from model_files import build_scale_layer, build_small_keras
from numpy.testing import assert_allclose

from savedmodel_widgets import (
    ModelFile,
    convert,
    find_model_files,
    list_checkpoint_variables,
    load_model_file,
    verify,
)
from savedmodel_widgets.errors import (
    ConvertError,
    ModelCodeNeededError,
    UnknownCustomObjectError,
    UntrustedCodeError,
)

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def served(tf, path, signature="serving_default", **inputs):
    """Reload a SavedModel with TensorFlow and run one signature: ``{alias: array}``."""
    loaded = tf.saved_model.load(str(path))
    return {key: value.numpy() for key, value in loaded.signatures[signature](**inputs).items()}


def refused(tmp_path, error, path, **kwargs):
    """Convert ``path``, expect ``error``, check nothing was written; return the message."""
    out = tmp_path / "out"
    with pytest.raises(error) as raised:
        convert(path, out, **kwargs)
    assert not out.exists()
    return str(raised.value)


# Keras files ------------------------------------------------------------------------


def test_keras2_h5_loads_with_keras3_without_compiling(tf, model_files, tmp_path):
    loaded = load_model_file(model_files.root / "keras2.h5")
    assert loaded.format == "keras-h5"
    assert loaded.loader.startswith("Keras 3")
    assert "Written by Keras 2" in loaded.notes[0]
    assert "keras.models.load_model(" in loaded.load_code and "compile=False" in loaded.load_code
    result = convert(loaded, tmp_path / "legacy")
    got = served(tf, result.path, pixels=model_files.PIXELS)
    assert list(got) == ["probabilities"]
    assert_allclose(got["probabilities"], model_files.predictions["keras2"], **TOLERANCE)


def test_keras2_h5_with_tf_ops_falls_back_to_tf_keras(tf, model_files, tmp_path):
    messages = []
    loaded = load_model_file(model_files.root / "keras2_tfop.h5", progress=messages.append)
    assert loaded.loader.startswith("tf_keras")
    assert any("TFOpLambda" in note and "Keras 3" in note for note in loaded.notes)
    assert any("loading it with tf_keras" in message for message in messages)
    result = convert(loaded, tmp_path / "tfop")
    got = served(tf, result.path, wide=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["keras2_tfop"], **TOLERANCE)


@pytest.mark.parametrize("name", ["keras3.h5", "keras3.keras"])
def test_keras3_files_convert_with_their_inputs_and_a_chosen_signature(tf, model_files,
                                                                       tmp_path, name):
    result = convert(model_files.root / name, tmp_path / "out", signature_name="predict_images",
                     version="auto")
    assert result.path == tmp_path / "out" / "1"
    assert result.info.signature("predict_images").input_aliases == ("image", "meta")
    got = served(tf, result.path, "predict_images", image=model_files.IMAGE, meta=model_files.META)
    assert_allclose(got["scores"], model_files.predictions["keras3"], **TOLERANCE)


def test_convert_takes_aliases_and_candidate_names(tf, model_files, tmp_path):
    result = convert(model_files.root / "keras3.keras", tmp_path / "out",
                     inputs={"photo": "image", "extra": "meta"}, outputs=["embedding", "scores"])
    signature = result.info.signature()
    assert sorted(signature.input_aliases) == ["extra", "photo"]
    assert sorted(signature.output_aliases) == ["embedding", "scores"]
    got = served(tf, result.path, photo=model_files.IMAGE, extra=model_files.META)
    assert got["embedding"].shape == (5, 16)
    assert_allclose(got["scores"], model_files.predictions["keras3"], **TOLERANCE)


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_lambda_layers_are_refused_until_trusted(tf, model_files, tmp_path, name):
    message = refused(tmp_path, UntrustedCodeError, model_files.root / name)
    assert "'double' (Lambda layer)" in message and "trust=True" in message

    result = convert(model_files.root / name, tmp_path / "trusted", trust=True)
    got = served(tf, result.path, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["lambda"], **TOLERANCE)
    assert "safe_mode=False" in result.spec.load_code


def test_lambda_activation_is_code_too(tf, model_files, tmp_path):
    path = model_files.root / "lambda_activation.keras"
    message = refused(tmp_path, UntrustedCodeError, path)
    assert "'dense' (Python lambda)" in message
    message = refused(tmp_path, ModelCodeNeededError, path, trust=True)
    assert "Keras cannot load that back" in message and "model=build_model" in message

    def build():  # the user's code: the lambda comes from here, not from the file
        import keras

        return keras.Sequential([keras.Input((3,), name="features"), keras.layers.Dense(
            2, activation=lambda t: t * 2.0 - 1.0, name="dense")])

    result = convert(path, tmp_path / "rebuilt", model=build)
    got = served(tf, result.path, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["lambda_activation"],
                    **TOLERANCE)


def test_trusted_lambda_layers_load_with_tf_keras_too(tf, model_files, tmp_path):
    path = model_files.root / "keras2_lambda_tfop.h5"
    assert "'shift'" in refused(tmp_path, UntrustedCodeError, path)
    loaded = load_model_file(path, trust=True)
    assert loaded.loader.startswith("tf_keras")
    assert "safe_mode=False" in loaded.load_code
    result = convert(loaded, tmp_path / "out")
    got = served(tf, result.path, wide=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["keras2_lambda_tfop"],
                    **TOLERANCE)


def test_lambda_file_weights_load_into_a_given_model_without_trust(tf, model_files, tmp_path):
    import keras

    def build():
        features = keras.Input((3,), name="features")
        doubled = keras.layers.Lambda(lambda t: t * 2.0 + 1.0, name="double")(features)
        return keras.Model(features, keras.layers.Dense(2, name="out")(doubled))

    loaded = load_model_file(model_files.root / "lambda.h5", model=build)
    assert loaded.loader == "the given model's load_weights"
    result = convert(loaded, tmp_path / "out")
    got = served(tf, result.path, features=model_files.WIDE)
    assert_allclose(got["out"], model_files.predictions["lambda"], **TOLERANCE)


def test_unknown_custom_layer_is_named_and_custom_objects_load_it(tf, model_files, tmp_path):
    message = refused(tmp_path, UnknownCustomObjectError, model_files.root / "custom.keras")
    assert "'Scale'" in message and "custom_objects={'Scale': Scale}" in message

    result = convert(model_files.root / "custom.keras", tmp_path / "custom",
                     custom_objects={"Scale": build_scale_layer()})
    got = served(tf, result.path, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["custom"], **TOLERANCE)
    assert 'custom_objects={"Scale": Scale}' in result.spec.load_code


def test_custom_classes_come_from_a_namespace_and_failures_keep_their_cause(tf, model_files,
                                                                            tmp_path):
    with pytest.raises(UnknownCustomObjectError) as raised:
        load_model_file(model_files.root / "custom.keras", namespace={"Other": object})
    assert raised.value.__cause__ is not None  # Keras' own error, for the traceback

    steps = []
    loaded = load_model_file(model_files.root / "custom.keras", progress=steps.append,
                             namespace={"Scale": build_scale_layer(), "unrelated": 1})
    assert "Taking the custom class 'Scale' from the namespace" in steps
    result = convert(loaded, tmp_path / "custom")
    got = served(tf, result.path, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["custom"], **TOLERANCE)


@pytest.mark.parametrize(("name", "builder", "prediction", "inputs"), [
    ("keras2_weights.h5", build_tf_keras_model, "keras2", "PIXELS"),
    ("small.weights.h5", build_small_keras, "small", "WIDE"),
])
def test_weights_only_files_need_the_architecture(tf, model_files, tmp_path, name, builder,
                                                  prediction, inputs):
    message = refused(tmp_path, ModelCodeNeededError, model_files.root / name)
    assert "weights only" in message and "architecture" in message and "model=" in message

    loaded = load_model_file(model_files.root / name, model=builder)
    assert loaded.format == "keras-weights"
    result = convert(loaded, tmp_path / "out")
    values = getattr(model_files, inputs)
    got = served(tf, result.path, **{result.info.signature().input_aliases[0]: values})
    assert_allclose(next(iter(got.values())), model_files.predictions[prediction], **TOLERANCE)


def test_damaged_keras_files_are_refused(model_files, tmp_path):
    data = (model_files.root / "keras3.h5").read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    assert "damaged or truncated HDF5" in refused(tmp_path, ConvertError, truncated)

    text = tmp_path / "model.h5"
    text.write_text("<html>404 Not Found</html>")
    assert "neither an HDF5 file" in refused(tmp_path, ConvertError, text)

    data = (model_files.root / "keras3.keras").read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    assert "damaged or truncated .keras" in refused(tmp_path, ConvertError, cut)

    missing = refused(tmp_path, ConvertError, tmp_path / "missing.h5")
    assert "missing.h5" in missing and "No such file" in missing


# TF1 checkpoints --------------------------------------------------------------------


@pytest.mark.parametrize("where", ["tf1_run", "tf1_run/model.ckpt-1000",
                                   "tf1_run/model.ckpt-1000.meta",
                                   "tf1_run/model.ckpt-1000.index", "tf1_run/checkpoint"])
def test_tf1_checkpoint_converts_as_in_the_reference(tf, model_files, tmp_path, where):
    checkpoint_file = (model_files.root / "tf1_run" / "checkpoint").read_text()
    assert str(model_files.root) not in checkpoint_file  # the folder was moved after saving

    result = convert(model_files.root / where, tmp_path / "lr",
                     inputs={"image": "x:0"}, outputs={"scores": "scores:0"},
                     signature_name="predict_images")
    assert result.spec.source_name == "sess"
    got = served(tf, result.path, "predict_images", image=model_files.X)
    assert_allclose(got["scores"], model_files.predictions["tf1_1000"], **TOLERANCE)


def test_tf1_older_prefix_restores_its_own_values(tf, model_files, tmp_path):
    before, after = model_files.predictions["tf1_500"], model_files.predictions["tf1_1000"]
    assert not np.allclose(before, after)
    with load_model_file(model_files.root / "tf1_run" / "model.ckpt-500") as loaded:
        assert loaded.path.name == "model.ckpt-500"
        assert "Other checkpoints beside it: model.ckpt-1000." in loaded.notes
        result = convert(loaded, tmp_path / "old", inputs=["x:0"], outputs=["scores:0"])
        got = served(tf, result.path, x=model_files.X)
    assert_allclose(got["scores"], before, **TOLERANCE)


def test_tf1_latest_checkpoint_is_found_from_the_files(tf, model_files, model_file_copy,
                                                       tmp_path):
    run = model_file_copy("tf1_run")
    (run / "checkpoint").unlink()
    loaded = load_model_file(run)
    assert loaded.path == run / "model.ckpt-1000"
    result = convert(loaded, tmp_path / "out", inputs={"x": "x:0"},
                     outputs={"scores": "scores:0", "classes": "classes:0"})
    got = served(tf, result.path, x=model_files.X)
    assert_allclose(got["scores"], model_files.predictions["tf1_1000"], **TOLERANCE)
    assert list(got["classes"]) == list(model_files.predictions["tf1_classes"])


def test_tf1_default_signature_skips_training_tensors(model_files):
    loaded = load_model_file(model_files.root / "tf1_run")
    inputs, outputs = loaded.source.suggest()
    assert "x:0" in inputs.values()
    assert not any("Adam" in name or "save/" in name or name.startswith("train")
                   for name in outputs.values())


def test_tf1_checkpoint_without_meta_restores_into_a_rebuilt_session(tf, model_files,
                                                                    tmp_path):
    message = refused(tmp_path, ModelCodeNeededError, model_files.root / "tf1_no_meta")
    assert "without a .meta graph" in message and "model=sess" in message

    rebuilt = build_tf1_session(tf)  # the same graph, with other initial values
    assert not np.allclose(rebuilt.session.run(rebuilt.scores, {rebuilt.x: model_files.X}),
                           model_files.predictions["tf1_1000"])
    result = convert(model_files.root / "tf1_no_meta", tmp_path / "out", model=rebuilt.session,
                     inputs={"x": "x:0"}, outputs={"scores": "scores:0"})
    got = served(tf, result.path, x=model_files.X)
    assert_allclose(got["scores"], model_files.predictions["tf1_1000"], **TOLERANCE)
    rebuilt.session.close()


def test_meta_graph_whose_variables_are_not_in_the_checkpoint(model_files, model_file_copy,
                                                              tmp_path):
    run = model_file_copy("tf1_run")
    shutil.copy(model_files.root / "other_graph.meta", run / "model.ckpt-1000.meta")
    message = refused(tmp_path, ConvertError, run)
    assert "'extra_bias'" in message and "not in the checkpoint" in message


def test_incomplete_checkpoints_are_refused(model_file_copy, tmp_path):
    run = model_file_copy("tf1_run")
    data = run / "model.ckpt-1000.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:40])
    assert "cut short" in refused(tmp_path, ConvertError, run)
    data.unlink()
    message = refused(tmp_path, ConvertError, run)
    assert "model.ckpt-1000.data-00000-of-00001" in message and "missing" in message

    index = run / "model.ckpt-500.index"
    index.write_bytes(index.read_bytes()[:-10])
    assert "damaged or cut short" in refused(tmp_path, ConvertError, run / "model.ckpt-500")


def test_missing_checkpoint_prefix_suggests_the_ones_there(model_files, tmp_path):
    message = refused(tmp_path, ConvertError, model_files.root / "tf1_run" / "model.ckpt-700")
    assert "Did you mean 'model.ckpt-500'?" in message and "model.ckpt-1000" in message
    message = refused(tmp_path, ConvertError, model_files.root / "other_graph.meta")
    assert "graph without values" in message
    message = refused(tmp_path, ConvertError, model_files.root)
    assert "holds no checkpoint, but Keras model files: custom.keras" in message


def test_list_checkpoint_variables_matches_tensorflow(tf, model_files):
    for name in ("tf1_run", "tf2_run"):
        prefix = tf.train.latest_checkpoint(str(model_files.root / name))
        if prefix is None:  # tf1_run's checkpoint file points where the files were saved
            prefix = str(model_files.root / name / "model.ckpt-1000")
        expected = {key: tuple(shape) for key, shape in tf.train.list_variables(prefix)
                    if key != "_CHECKPOINTABLE_OBJECT_GRAPH"}
        listed = list_checkpoint_variables(model_files.root / name)
        assert {v.key: v.shape for v in listed} == expected
    tf1_names = {v.name for v in list_checkpoint_variables(model_files.root / "tf1_run")}
    assert {"W", "b"} <= tf1_names


# TF2 checkpoints --------------------------------------------------------------------


def test_tf2_checkpoint_needs_the_models_code(tf, model_files, tmp_path):
    message = refused(tmp_path, ModelCodeNeededError, model_files.root / "tf2_run")
    assert "TF2 object checkpoint" in message and "model=" in message
    assert "model, optimizer" in message

    for model in (build_small_keras, build_small_keras()):
        loaded = load_model_file(model_files.root / "tf2_run", model=model)
        assert loaded.format == "tf2-checkpoint"
        result = convert(loaded, tmp_path / "out", version="auto")
        got = served(tf, result.path, features=model_files.WIDE)
        assert_allclose(got["out"], model_files.predictions["tf2"], **TOLERANCE)


def test_tf2_checkpoint_with_the_model_as_its_root(tf, model_files, tmp_path):
    loaded = load_model_file(model_files.root / "tf_keras_weights", model=build_tf_keras_model)
    assert "Restored as the checkpoint's root." in loaded.notes
    assert "tf.train.Checkpoint(model)" in loaded.load_code
    result = convert(loaded, tmp_path / "out")
    got = served(tf, result.path, pixels=model_files.PIXELS)
    assert_allclose(got["probabilities"], model_files.predictions["keras2"], **TOLERANCE)


def test_tf2_checkpoint_refuses_a_model_that_does_not_fit(model_files, tmp_path):
    message = refused(tmp_path, ConvertError, model_files.root / "tf2_run",
                      model=build_keras_sequential)
    assert "does not fit" in message

    def wider():  # the same layers with another width: the shapes differ
        import keras

        features = keras.Input((3,), name="features")
        hidden = keras.layers.Dense(7, activation="relu", name="hidden")(features)
        return keras.Model(features, keras.layers.Dense(2, name="out")(hidden))

    message = refused(tmp_path, ConvertError, model_files.root / "tf2_run", model=wider)
    assert "does not fit" in message and "(3, 4)" in message and "(3, 7)" in message


# The result -------------------------------------------------------------------------


def test_converted_model_verifies_against_the_loaded_model(model_files, tmp_path):
    result = convert(model_files.root / "keras2.h5", tmp_path / "out")
    report = verify(result)
    assert report.ok, report


def test_model_file_describes_itself(model_files):
    loaded = load_model_file(model_files.root / "keras3.keras")
    assert isinstance(loaded, ModelFile)
    assert loaded.describe().startswith("keras3.keras: Keras 3 model (.keras), loaded with Keras 3")
    html = loaded._repr_html_()
    assert "Keras 3 functional, 2 inputs" in html and "Written by Keras 3" in html


def test_meta_graph_with_an_op_this_tensorflow_lacks(model_file_copy, tmp_path):
    from tensorflow.core.protobuf import meta_graph_pb2

    run = model_file_copy("tf1_run")
    meta = run / "model.ckpt-1000.meta"
    graph = meta_graph_pb2.MetaGraphDef.FromString(meta.read_bytes())
    next(node for node in graph.graph_def.node if node.name == "scores").op = "ContribOnlyOp"
    meta.write_bytes(graph.SerializeToString())
    message = refused(tmp_path, ConvertError, run)
    assert "'ContribOnlyOp'" in message and "model=sess" in message

    meta.write_bytes(meta.read_bytes()[:100])
    assert "cannot be imported" in refused(tmp_path, ConvertError, run)


def test_find_model_files_lists_what_convert_opens(model_files, saved_models, tmp_path):
    shutil.copytree(model_files.root, tmp_path / "work")
    shutil.copytree(saved_models["keras3"], tmp_path / "work" / "exported")  # not offered
    (tmp_path / "work" / ".hidden").mkdir()
    shutil.copy(model_files.root / "keras3.h5", tmp_path / "work" / ".hidden" / "x.h5")
    (tmp_path / "work" / "broken.h5").write_text("not a model")
    found = {item.path.relative_to(tmp_path / "work").as_posix(): item
             for item in find_model_files(tmp_path / "work")}
    assert set(found) == {
        "keras2.h5", "keras2_tfop.h5", "keras2_lambda_tfop.h5", "keras3.h5", "keras3.keras",
        "lambda.keras", "lambda.h5", "lambda_activation.keras", "custom.keras",
        "keras2_weights.h5", "small.weights.h5", "broken.h5", "other_graph.meta", "tf1_run",
        "tf1_no_meta", "tf2_run", "tf_keras_weights",
    }
    assert found["keras3.keras"].format == "keras"
    assert "Keras model by Keras 3" in found["keras3.keras"].description
    assert "needs trust" in found["lambda.h5"].description
    assert found["keras2_weights.h5"].format == "keras-weights"
    assert found["broken.h5"].format == "damaged"
    assert found["other_graph.meta"].format == "incomplete"
    assert found["tf1_run"].format == "tf1-checkpoint"
    assert "model.ckpt-1000" in found["tf1_run"].description
    assert "needs the model's code" in found["tf1_no_meta"].description
    assert found["tf2_run"].format == "tf2-checkpoint"
    assert found["tf1_run"].size == sum(p.stat().st_size for p in (tmp_path / "work" / "tf1_run")
                                        .iterdir())


def test_reference_h5_conversion_image_to_scores(tf, model_files, tmp_path):
    """The reference: load_model('./mnist.h5'), then simple_save with inputs={"image":
    model.input} and outputs={"scores": model.output}, as the default signature."""
    result = convert(model_files.root / "keras2.h5", tmp_path / "mnist",
                     inputs={"image": "pixels"}, outputs={"scores": "probabilities"})
    rows = {(row["direction"], row["alias"]): row for row in result.info.signature_rows()}
    assert set(rows) == {("input", "image"), ("output", "scores")}
    assert rows[("input", "image")]["shape"] == (None, 6)
    assert all(row["method"] == "tensorflow/serving/predict" for row in rows.values())
    got = served(tf, result.path, image=model_files.PIXELS)
    assert_allclose(got["scores"], model_files.predictions["keras2"], **TOLERANCE)


def test_meta_graph_whose_shapes_differ_from_the_checkpoint(tf, model_file_copy, tmp_path):
    run = model_file_copy("tf1_run")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        tf.matmul(x, tf.compat.v1.get_variable("W", [4, 5]), name="scores")
        tf.compat.v1.train.Saver()
        tf.compat.v1.train.export_meta_graph(str(run / "model.ckpt-1000.meta"))
    message = refused(tmp_path, ConvertError, run)
    assert "W is (4, 5) in the graph, (4, 3) in the checkpoint" in message


def test_weights_that_do_not_fit_the_given_model(model_files, tmp_path):
    message = refused(tmp_path, ConvertError, model_files.root / "small.weights.h5",
                      model=build_keras_sequential)
    assert "do not fit the given model" in message
