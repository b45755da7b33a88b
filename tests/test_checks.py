"""Serving-readiness checks on real SavedModels written by TensorFlow."""

from __future__ import annotations

import os
import shutil

import pytest

import savedmodel_widgets as smw
from savedmodel_widgets.savedmodel.checks import is_ready
from savedmodel_widgets.savedmodel.text import render_summary


def codes(results, level=None):
    return {r.code for r in results if level is None or r.level == level}


def tf1_export(
    tf, path, tags=("serve",), method=None, output="scores", signature="serving_default"
):
    """A small TF1 builder export whose tags, method and output can be varied."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        weights = tf.compat.v1.get_variable("w", [4, 2], use_resource=True)
        outputs = {"scores": x @ weights, "handle": weights.handle}
        session.run(tf.compat.v1.global_variables_initializer())
        utils = tf.compat.v1.saved_model.utils
        signature_def = tf.compat.v1.saved_model.signature_def_utils.build_signature_def(
            inputs={"image": utils.build_tensor_info(x)},
            outputs={output: utils.build_tensor_info(outputs[output])},
            method_name=method or tf.compat.v1.saved_model.PREDICT_METHOD_NAME,
        )
        builder = tf.compat.v1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(
            session, list(tags), signature_def_map={signature: signature_def}
        )
        builder.save()
    return path


def test_reference_simple_save_is_ready_for_both(saved_models):
    results = smw.check(saved_models["simple_save"], "tfserving")
    assert codes(results, "error") == set() and codes(results, "warning") == set()
    # EAS's newest processor loads it (measured in TensorFlow 2.7's own library), dropping
    # the attribute VarHandleOp.debug_name it does not know, which holds a variable's name.
    results = smw.check(saved_models["simple_save"], "eas", "eas:tensorflow_cpu_2.7")
    assert codes(results, "error") == set()
    assert codes(results, "warning") == {"attr-dropped-by-runtime"}
    (dropped,) = [r for r in results if r.level == "warning"]
    assert "'debug_name'" in dropped.message and "VarHandleOp" in dropped.message


def test_version_directory_note_only_for_tfserving(saved_models):
    assert "no-version-directory" in codes(smw.check(saved_models["simple_save"], "tfserving"))
    assert "no-version-directory" not in codes(smw.check(saved_models["simple_save"], "eas"))
    assert "no-version-directory" not in codes(smw.check(saved_models["versioned"], "tfserving"))


def test_named_signature_without_serving_default(saved_models):
    for target, phrase in (("tfserving", "requests that do not name"), ("eas", "signature_name")):
        (finding,) = [
            r for r in smw.check(saved_models["builder"], target) if r.code == "no-serving-default"
        ]
        assert finding.level == "warning"
        assert "'predict_images'" in finding.message and phrase in finding.message


def test_keras_generated_output_alias(saved_models):
    results = smw.check(saved_models["keras3"], "eas")
    generated = [r for r in results if r.code == "generated-alias"]
    assert generated and all("'output_0'" in r.message for r in generated)
    assert {r.signature for r in generated} == {"serve", "serving_default"}
    assert "keras.Input(name=" in generated[0].fix


def test_fixed_batch_and_unknown_rank(saved_models):
    fixed = [r for r in smw.check(saved_models["fixed_batch"]) if r.code == "fixed-batch-dimension"]
    assert fixed and "(1, 4)" in fixed[0].message
    assert "exactly 1 row per request" in fixed[0].message
    assert "unknown-rank" in codes(smw.check(saved_models["unknown_rank"]), "warning")


def test_sparse_input_is_an_error_for_eas_only(saved_models):
    assert "non-dense-tensor" in codes(smw.check(saved_models["sparse_input"], "eas"), "error")
    assert "non-dense-tensor" in codes(
        smw.check(saved_models["sparse_input"], "tfserving"), "warning"
    )


def test_string_input_is_fine(saved_models):
    assert codes(smw.check(saved_models["string_input"], "eas"), "error") == set()


def test_text_format_note(saved_models):
    assert "text-format" in codes(smw.check(saved_models["pbtxt"]), "info")


def test_missing_and_damaged_variables(saved_model_copy):
    path = saved_model_copy("simple_save")
    with open(os.path.join(path, "variables", "variables.index"), "wb") as file:
        file.write(b"not a table")
    assert "variables-unreadable" in codes(smw.check(path), "error")
    shutil.rmtree(os.path.join(path, "variables"))
    results = smw.check(path, "eas")
    (missing,) = [r for r in results if r.code == "variables-missing"]
    assert missing.level == "error" and "is missing" in missing.message


def test_model_without_variables_needs_no_variables_dir(saved_models):
    info = smw.read_saved_model(saved_models["string_input"])
    assert not any(mg.has_variables for mg in info.meta_graphs)
    assert "variables-missing" not in codes(smw.check(info))


def test_no_serve_tag(tf, tmp_path):
    path = tf1_export(tf, str(tmp_path / "train"), tags=("train",))
    (finding,) = [r for r in smw.check(path) if r.code == "no-serve-tag"]
    assert finding.level == "error" and "['train']" in finding.message


def test_classify_method_is_a_warning_for_eas_and_fine_for_tfserving(tf, tmp_path):
    """EAS documents predict requests only; no source says it refuses other methods."""
    path = tf1_export(tf, str(tmp_path / "classify"), method="tensorflow/serving/classify")
    eas = smw.check(path, "eas")
    assert "method-not-predict" in codes(eas, "warning") and codes(eas, "error") == set()
    assert codes(smw.check(path, "tfserving"), "error") == set()


def test_resource_output_cannot_be_sent(tf, tmp_path):
    path = tf1_export(tf, str(tmp_path / "resource"), output="handle")
    for target in ("tfserving", "eas"):
        (finding,) = [r for r in smw.check(path, target) if r.code == "unsupported-dtype"]
        assert "resource" in finding.message and "receive" in finding.message


def test_missing_asset(tf, tmp_path):
    vocabulary = tmp_path / "vocab.txt"
    vocabulary.write_text("a\nb\n")
    module = tf.Module()
    module.vocabulary = tf.saved_model.Asset(str(vocabulary))
    module.read = tf.function(
        lambda: {"text": tf.io.read_file(module.vocabulary)}, input_signature=[]
    )
    path = str(tmp_path / "assets_model")
    tf.saved_model.save(module, path, signatures={"serving_default": module.read})
    assert "asset-missing" not in codes(smw.check(path))
    os.remove(os.path.join(path, "assets", "vocab.txt"))
    (finding,) = [r for r in smw.check(path) if r.code == "asset-missing"]
    assert "assets/vocab.txt" in finding.message


def test_results_are_sorted_by_level_and_target_is_validated(saved_models):
    results = smw.check(saved_models["sparse_input"], "eas")
    order = [("error", "warning", "info").index(r.level) for r in results]
    assert order == sorted(order)
    assert all(r.target == "eas" for r in results)
    with pytest.raises(ValueError, match="tfserving, eas"):
        smw.check(saved_models["simple_save"], "torchserve")


def test_verdict_counts_levels(saved_models):
    from savedmodel_widgets.savedmodel.checks import verdict

    eas = smw.check(saved_models["simple_save"], "eas")
    assert [r.code for r in eas] == ["runtime-not-chosen"]
    assert verdict(eas) == "ready to serve (1 warning)"
    assert verdict(eas[1:]) == "ready to serve"
    sparse = smw.check(saved_models["sparse_input"], "eas")
    errors = sum(r.level == "error" for r in sparse)
    assert verdict(sparse).startswith(f"will not serve ({errors} error")
    builder = smw.check(saved_models["builder"], "tfserving")
    assert verdict(builder) == "ready to serve (1 warning, 1 note)"
    assert [r.code for r in builder] == ["no-serving-default", "no-version-directory"]


def test_incomplete_newer_version_directory(saved_model_copy):
    parent = saved_model_copy("versioned")
    os.makedirs(os.path.join(parent, "2", "variables"))
    assert "newest-version-incomplete" not in codes(smw.check(parent))
    os.makedirs(os.path.join(parent, "7", "variables"))
    info = smw.read_saved_model(parent)
    assert (info.version, info.versions_without_model) == (3, (2, 7))
    (finding,) = [r for r in smw.check(info) if r.code == "newest-version-incomplete"]
    assert finding.level == "error" and "7" in finding.message and "3" in finding.message
    assert "newest-version-incomplete" not in codes(smw.check(info, "eas"))
    assert "the highest version directory, 7, holds no saved_model.pb" in render_summary(info)
    assert smw.read_saved_model(os.path.join(parent, "1")).versions_without_model == (2, 7)


def test_ragged_input_is_named_in_the_finding(saved_models):
    info = smw.read_saved_model(saved_models["ragged_input"])
    (tokens,) = info.signature().inputs
    assert tokens.is_composite and not tokens.is_sparse
    (finding,) = [r for r in smw.check(info, "eas") if r.code == "non-dense-tensor"]
    assert finding.level == "error" and "composite (RaggedTensorSpec)" in finding.message


def test_table_without_init_op_is_an_error_for_both(saved_models):
    """simple_save of a graph with a lookup table writes no init op (tensorflow/serving#1731)."""
    info = smw.read_saved_model(saved_models["table_simple_save"])
    for target, server in (("tfserving", "TF Serving"), ("eas", "EAS")):
        results = smw.check(info, target)
        (finding,) = [r for r in results if r.code == "tables-not-initialized"]
        assert finding.level == "error" and finding.signature == "serving_default"
        assert "reads the lookup table 'hash_table'" in finding.message
        assert "no init op" in finding.message and f"{server} loads the model" in finding.message
        assert "'Table not initialized'" in finding.message
        assert "legacy_init_op=" in finding.fix and "tables_initializer()" in finding.fix
        assert codes(results, "error") == {"tables-not-initialized"}


def test_tensorflow_loader_confirms_the_tables_stay_empty(tf, saved_models):
    """TensorFlow's TF1 loader (restore, then the init op, as TF Serving's C++ loader does)
    fails the lookup without an init op and answers with one."""
    tf1 = tf.compat.v1
    batch = [[0.0, 1.0, 0.0, 0.0]]
    for name in ("table_simple_save", "table_legacy_init_op"):
        with tf.Graph().as_default(), tf1.Session() as session:
            meta_graph = tf1.saved_model.load(session, ["serve"], saved_models[name])
            signature = meta_graph.signature_def["serving_default"]
            fetch = signature.outputs["classes"].name
            feed = {signature.inputs["images"].name: batch}
            if name == "table_simple_save":
                with pytest.raises(tf.errors.FailedPreconditionError, match="not initialized"):
                    session.run(fetch, feed)
            else:
                (label,) = session.run(fetch, feed)
                assert label in (b"cat", b"dog", b"bird")
    # A table that no signature reads stays empty and harms nothing.
    with tf.Graph().as_default(), tf1.Session() as session:
        meta_graph = tf1.saved_model.load(session, ["serve"], saved_models["table_unread"])
        signature = meta_graph.signature_def["serving_default"]
        feed = {signature.inputs["images"].name: batch}
        assert session.run(signature.outputs["scores"].name, feed).shape == (1, 3)


@pytest.mark.parametrize(
    "name",
    ["table_legacy_init_op", "builder", "pbtxt", "multi_tag", "table_module", "simple_save",
     "table_unread"],
)
def test_tables_with_an_init_op_or_no_tables_read_are_fine(saved_models, name):
    info = smw.read_saved_model(saved_models[name])
    meta_graph = info.serving_meta_graph
    has_tables = "HashTableV2" in dict(meta_graph.op_counts)
    assert has_tables == (name != "simple_save")
    assert bool(meta_graph.init_op) == (name not in ("simple_save", "table_unread"))
    # Each signature names the tables its outputs are computed from.
    reads_table = name not in ("simple_save", "table_unread")
    assert any(s.lookup_tables for s in meta_graph.signatures) == reads_table
    for target in ("tfserving", "eas"):
        assert "tables-not-initialized" not in codes(smw.check(info, target))


def test_smw_export_of_a_tf1_session_with_a_table_writes_the_init_op(tf1, tmp_path):
    from savedmodel_widgets import ExportSpec, SignatureSpec

    signature = SignatureSpec("serving_default", {"image": "x:0"}, {"classes": "classes:0"})
    result = smw.export(ExportSpec(tf1.session, signature, tmp_path / "classes"))
    meta_graph = result.info.serving_meta_graph
    assert "HashTableV2" in dict(meta_graph.op_counts)
    assert meta_graph.init_op == "legacy_init_op"
    for target in ("tfserving", "eas"):
        assert "tables-not-initialized" not in codes(smw.check(result.info, target))


def test_a_ref_dtype_is_its_base_dtype(tf, saved_models):
    """A TF1 variable fetched directly has dtype float32_ref; the server sends float32."""
    path = saved_models["ref_output"]
    weights = smw.read_saved_model(path).signature().outputs[1]
    assert (weights.alias, weights.dtype) == ("weights", "float32_ref")
    for target in ("tfserving", "eas"):
        assert codes(smw.check(path, target), "error") == set()
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        signature = tf1.saved_model.load(session, ["serve"], path).signature_def[
            "serving_default"]
        value = session.run(signature.outputs["weights"].name)
    assert value.dtype == "float32" and value.shape == (4, 3)


def test_train_and_serve_tags_need_the_tags_option(tf, saved_models):
    path = saved_models["train_serve"]
    info = smw.read_saved_model(path)
    assert info.serving_meta_graph is None and info.main_meta_graph.tags == ("train", "serve")
    (finding,) = [r for r in smw.check(info, "tfserving") if r.code == "serve-tags-not-exact"]
    assert finding.level == "error" and "--saved_model_tags=serve,train" in finding.fix
    assert "serve-tags-not-exact" in codes(smw.check(info, "eas"), "warning")
    assert "no-serve-tag" not in codes(smw.check(info))
    # TensorFlow's loader matches the whole tag set, as TF Serving's does.
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        with pytest.raises(RuntimeError, match="could not be found"):
            tf1.saved_model.load(session, ["serve"], path)
        tf1.saved_model.load(session, ["serve", "train"], path)


def test_variables_of_an_asset_path_need_no_values(tf, saved_models):
    """A TF2 table filled from an asset: its functions create a variable for the asset's
    path, but the checkpoint holds only the object graph, and TensorFlow loads it."""
    path = saved_models["asset_table"]
    info = smw.read_saved_model(path)
    assert info.variables == () and os.listdir(os.path.join(path, "variables"))
    for target in ("tfserving", "eas"):
        assert codes(smw.check(info, target), "error") == set()
    loaded = tf.saved_model.load(path)
    ids = loaded.signatures["serving_default"](word=tf.constant(["dog", "cow"]))["id"]
    assert ids.numpy().tolist() == [1, -1]


def test_variables_without_values_are_not_called_empty(saved_model_copy):
    path = saved_model_copy("simple_save")
    os.remove(os.path.join(path, "variables", "variables.index"))
    (finding,) = [r for r in smw.check(path) if r.code == "variables-missing"]
    assert "no variables.index" in finding.message and "empty" not in finding.message
    for name in os.listdir(os.path.join(path, "variables")):
        os.remove(os.path.join(path, "variables", name))
    (finding,) = [r for r in smw.check(path) if r.code == "variables-missing"]
    assert "variables/ is empty" in finding.message


def tf1_restore_fails(tf, path):
    """True when TensorFlow's TF1 serve loader (TF Serving's way) fails restoring."""
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        try:
            tf1.saved_model.load(session, ["serve"], path)
        except (tf.errors.NotFoundError, tf.errors.DataLossError,
                tf.errors.OutOfRangeError) as error:
            return str(error)
    return ""


@pytest.mark.parametrize("damage", ["missing", "short"])
def test_missing_or_short_data_shard(tf, saved_model_copy, damage):
    path = saved_model_copy("simple_save")
    data = os.path.join(path, "variables", "variables.data-00000-of-00001")
    assert not tf1_restore_fails(tf, path)
    if damage == "missing":
        os.remove(data)
    else:
        os.truncate(data, os.path.getsize(data) // 2)
    assert tf1_restore_fails(tf, path)
    info = smw.read_saved_model(path)
    assert info.variables  # the index is fine: show still lists the variables
    (finding,) = [r for r in smw.check(info) if r.code == "variables-data-missing"]
    assert finding.level == "error" and "variables.data-00000-of-00001" in finding.message
    assert ("is missing" if damage == "missing" else "holds") in finding.message
    shown = render_summary(info)
    assert f"data file problem: {info.data_file_problems[0]}" in shown


def test_missing_data_shard_of_a_tf2_export(tf, saved_model_copy):
    path = saved_model_copy("module")
    os.remove(os.path.join(path, "variables", "variables.data-00000-of-00001"))
    with pytest.raises(Exception, match="(?i)no such file|not found"):
        tf.saved_model.load(path)
    assert "variables-data-missing" in codes(smw.check(path, "eas"), "error")


def test_nodes_pinned_to_a_gpu(tf, saved_models):
    path = saved_models["gpu_pinned"]
    for target in ("tfserving", "eas"):
        (finding,) = [r for r in smw.check(path, target) if r.code == "gpu-device-pinned"]
        assert finding.level == "warning" and "'scores'" in finding.message
    assert "gpu-device-pinned" not in codes(smw.check(saved_models["simple_save"]))
    # Without soft placement (TF Serving's session), the pinned node cannot run on a CPU.
    tf1 = tf.compat.v1
    config = tf1.ConfigProto(allow_soft_placement=False)
    with (tf.Graph().as_default(), tf1.Session(config=config) as session,
          pytest.raises(tf.errors.InvalidArgumentError, match="GPU")):
        signature = tf1.saved_model.load(session, ["serve"], path).signature_def[
            "serving_default"]
        session.run(signature.outputs["scores"].name, {signature.inputs["image"].name: [[0.0] * 4]})


# --- checks against a runtime: the op registry of the release it runs --------------------

RUNTIME_CODES = {"op-not-in-runtime", "attr-not-in-runtime", "custom-op"}


@pytest.fixture(scope="module")
def keras_default_export(keras_model, tmp_path_factory):
    """A Keras 3 model exported by ``smw.export`` as it is by default."""
    path = tmp_path_factory.mktemp("runtime") / "keras"
    return smw.export(smw.suggest_spec(keras_model, path)).info


def test_default_keras_export_is_refused_by_old_runtimes(keras_default_export):
    (debug_name,) = [r for r in smw.check(keras_default_export, "eas",
                                          runtime="eas:tensorflow_cpu_1.15")
                     if r.code == "attr-not-in-runtime" and "'debug_name'" in r.message]
    assert debug_name.level == "error" and debug_name.runtime == "eas:tensorflow_cpu_1.15"
    assert "VarHandleOp" in debug_name.message
    assert "TensorFlow 1.15 (eas:tensorflow_cpu_1.15)" in debug_name.message
    assert "runtime='eas:tensorflow_cpu_1.15'" in debug_name.fix

    results = smw.check(keras_default_export, "tfserving", runtime="tfserving:2.7")
    (copy_on_read,) = [r for r in results if r.code == "op-not-in-runtime"
                       and "DisableCopyOnRead" in r.message]
    assert "Op type not registered 'DisableCopyOnRead'" in copy_on_read.message
    # The oldest TF Serving whose TensorFlow registers the op, and VarHandleOp.debug_name.
    assert "choose 'tfserving:2.10' or newer, whose TensorFlow 2.10 has it" in copy_on_read.fix
    assert not is_ready(results)

    for target in ("tfserving", "eas"):
        installed = smw.check(keras_default_export, target, runtime="installed")
        assert not codes(installed) & RUNTIME_CODES
        assert {r.runtime for r in installed} <= {"installed"}


def test_tf1_builder_with_ref_variables_and_stripped_defaults_passes_1_15(tf, tmp_path):
    path = str(tmp_path / "stripped")
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        inputs, outputs, name = reference_graph_with_ref_variables(tf)
        session.run(tf1.global_variables_initializer())
        signature = tf1.saved_model.signature_def_utils.predict_signature_def(inputs, outputs)
        builder = tf1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map={name: signature}, strip_default_attrs=True)
        builder.save()
    for runtime in ("eas:tensorflow_cpu_1.15", "eas:tensorflow_cpu_1.12", "tfserving:2.7"):
        assert not codes(smw.check(path, "eas", runtime=runtime)) & RUNTIME_CODES, runtime


def reference_graph_with_ref_variables(tf):
    """The reference graph with TF1 ref variables (``tf.Variable`` under TF2 behaviour
    makes resource variables)."""
    tf1 = tf.compat.v1
    x = tf1.placeholder(tf.float32, [None, 4], name="x")
    with tf1.variable_scope("model", use_resource=False):
        weights = tf1.get_variable("W", [4, 3])
        bias = tf1.get_variable("b", [3], initializer=tf1.zeros_initializer())
    assert weights.dtype == tf.dtypes.float32._as_ref
    scores = tf.nn.softmax(tf.matmul(x, weights) + bias, name="scores")
    return {"image": x}, {"scores": scores}, "serving_default"


def test_simple_save_is_refused_by_1_15_for_a_default_attribute(saved_models):
    results = smw.check(saved_models["simple_save"], "eas", runtime="eas:tensorflow_cpu_1.15")
    (grad_a,) = [r for r in results if r.code == "attr-not-in-runtime" and "'grad_a'" in r.message]
    assert "MatMul" in grad_a.message and "2.16 and newer" in grad_a.message
    assert grad_a.fix.startswith("Every such node holds grad_a's default")
    assert "strip_default_attrs=True" in grad_a.fix
    assert not codes(smw.check(saved_models["simple_save"], "tfserving",
                               runtime="tfserving:2.16")) & RUNTIME_CODES


def test_py_function_is_a_custom_op_for_every_runtime(tf, tmp_path):
    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def serve(self, x):
            return {"doubled": tf.py_function(lambda v: v * 2, [x], tf.float32)}

    module = Doubler()
    path = str(tmp_path / "py_function")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    for runtime in ("eas:tensorflow_cpu_1.12", "tfserving:2.7", "tf:2.20", "installed"):
        (custom,) = [r for r in smw.check(path, runtime=runtime) if r.code == "custom-op"]
        assert custom.level == "error" and "EagerPyFunc" in custom.message
        assert "tf.py_function" in custom.fix


def test_eas_without_runtime_warns_and_names_the_option(saved_models):
    (warning,) = [r for r in smw.check(saved_models["simple_save"], "eas")
                  if r.code == "runtime-not-chosen"]
    assert warning.level == "warning" and "TensorFlow 2.7 or older" in warning.message
    assert "runtime='eas:tensorflow_cpu_1.15'" in warning.fix and "--runtime" in warning.fix
    assert warning.runtime == ""
    assert "runtime-not-chosen" not in codes(smw.check(saved_models["simple_save"], "tfserving"))
    assert "runtime-not-chosen" not in codes(
        smw.check(saved_models["simple_save"], "eas", runtime="eas:tensorflow_cpu_2.7"))


def test_unknown_runtime_names_the_close_ones(saved_models):
    with pytest.raises(ValueError, match="Did you mean 'eas:tensorflow_cpu_1.15'"):
        smw.check(saved_models["simple_save"], "eas", runtime="eas:tensorflow_cpu_1.16")


def test_runtime_findings_render(keras_default_export):
    from savedmodel_widgets.savedmodel.html import render_checks

    info = smw.read_saved_model(keras_default_export.path)
    results = info.check("eas", runtime="eas:tensorflow_cpu_1.15")
    html = render_checks(results, "eas", "eas:tensorflow_cpu_1.15")
    assert "EAS on eas:tensorflow_cpu_1.15 (TensorFlow 1.15): <span" in html
    assert "attr-not-in-runtime" in html and "debug_name" in html


def test_runtime_check_of_a_text_format_model(saved_models):
    """saved_model.pbtxt is parsed with every node's attributes, then walked in full."""
    old = smw.check(saved_models["pbtxt"], "eas", runtime="eas:tensorflow_cpu_1.15")
    (grad_a,) = [r for r in old if r.code == "attr-not-in-runtime" and "'grad_a'" in r.message]
    assert grad_a.fix.startswith("Every such node holds grad_a's default")
    binary = smw.check(saved_models["table_simple_save"], "eas", runtime="eas:tensorflow_cpu_1.15")
    assert {r.message.split(":")[0] for r in old if r.code in RUNTIME_CODES} == {
        r.message.split(":")[0] for r in binary if r.code in RUNTIME_CODES}
    assert not codes(smw.check(saved_models["pbtxt"], "eas", runtime="installed")) & RUNTIME_CODES


def test_an_op_whose_kernel_the_runtime_dropped(tf, tmp_path):
    """TensorFlow 2.21 registers BoostedTreesBucketize but has no kernel for it (its own
    serve loader fails: the corpus' TF 2.1 Estimator export); 2.8 runs it."""
    path = str(tmp_path / "bucketize")
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        x = tf1.placeholder(tf.float32, [None], name="x")
        (buckets,) = tf.raw_ops.BoostedTreesBucketize(
            float_values=[x], bucket_boundaries=[tf.constant([0.0, 1.0])])
        signature = tf1.saved_model.signature_def_utils.predict_signature_def(
            {"x": x}, {"bucket": tf.identity(buckets, name="bucket")})
        builder = tf1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    (dropped,) = [r for r in smw.check(path, runtime="installed") if r.code in RUNTIME_CODES]
    assert dropped.code == "op-not-in-runtime" and "has no CPU kernel" in dropped.message
    assert "TensorFlow 1.12 to 2.8 run BoostedTreesBucketize" in dropped.message
    assert dropped.fix == "Choose 'tf:2.8' or older, whose TensorFlow 2.8 has it."
    assert not codes(smw.check(path, runtime="tfserving:2.8")) & RUNTIME_CODES
