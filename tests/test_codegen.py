"""The generated plain TensorFlow code writes the same SavedModel signatures as ``export``.

Each case exports a live source with :func:`export`, generates the code for a
second directory, and runs that code in a fresh Python process that first
rebuilds the source from files this module saves (weights, a ``.keras`` file,
TF1 and ``tf.train.Checkpoint`` checkpoints). Importing TensorFlow costs seconds,
so one driver process runs every case and reports each one's error, if any.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from checkout_env import checkout_env
from model_files import build_small_keras

from savedmodel_widgets import (
    ExportSpec,
    SignatureSpec,
    export,
    load_model_file,
    read_saved_model,
    suggest_spec,
)
from savedmodel_widgets.codegen import export_code
from savedmodel_widgets.errors import ExportSpecError
from savedmodel_widgets.sources import list_candidates
from savedmodel_widgets.spec import target_path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

DRIVER = """\
import json
import sys
import traceback
from pathlib import Path

sys.path.insert(0, {tests!r})
import tensorflow  # noqa: F401  (imported once, before the first case)

cases = json.loads(Path(sys.argv[1]).read_text())
errors = {{}}
for case in cases:
    namespace = {{"__name__": "__main__"}}
    try:
        exec(compile(case["prelude"], "<prelude " + case["name"] + ">", "exec"), namespace)
        exec(compile(case["code"], "<export " + case["name"] + ">", "exec"), namespace)
        errors[case["name"]] = ""
    except Exception:
        errors[case["name"]] = traceback.format_exc()
Path(sys.argv[2]).write_text(json.dumps(errors))
"""
"""Runs each case's prelude (rebuild the source) and generated code in a fresh namespace."""


# Sources the conftest fixtures do not have; the driver imports them from here. ------------


def table_graph(tf):
    """A ``tf.Graph`` without variables: ``words`` -> ``ids`` (a lookup table), ``lengths``
    and ``score`` (float lengths, a regression output)."""
    graph = tf.Graph()
    with graph.as_default():
        words = tf.compat.v1.placeholder(tf.string, [None], name="words")
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(["cat", "dog"]), tf.constant([0, 1], tf.int64)
            ),
            default_value=-1,
        )
        tf.identity(table.lookup(words), name="ids")
        lengths = tf.strings.length(words, name="lengths")
        tf.cast(lengths, tf.float32, name="score")
    return graph


def unsorted_outputs_module(tf):
    """A ``tf.Module`` whose function returns a dict with keys out of sorted order.

    ``tf.nest.flatten`` sorts a dict's keys, so code that zips the keys in
    insertion order with the flattened values swaps ``zeta`` and ``alpha``.
    """

    class Unsorted(tf.Module):
        def __init__(self):
            super().__init__(name="unsorted")
            self.factor = tf.Variable(2.0, name="factor")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def split(self, x):
            return {"zeta": x * self.factor, "alpha": tf.cast(x, tf.int32)}

    return Unsorted()


# Cases -------------------------------------------------------------------------------


@dataclass
class Case:
    """One export made twice: by ``export`` and by the generated code."""

    name: str
    spec: ExportSpec
    prelude: str
    backend_path: Path | None = None
    by_hand_path: Path | None = None
    code: str = ""
    error: str = ""


def _save_keras_weights(model: Any, path: Path) -> Path:
    np.savez(path, *[np.asarray(weight.numpy()) for weight in model.weights])
    return path


def _weights_prelude(builder: str, variable: str, weights: Path) -> str:
    return (
        f"import numpy as np\n"
        f"from live_sources import {builder}\n"
        f"{variable} = {builder}()\n"
        f"_weights = np.load({str(weights)!r})\n"
        f"{variable}.set_weights([_weights[f'arr_{{i}}'] for i in range(len(_weights.files))])\n"
    )


def _make_cases(root: Path, tf, keras_model, keras_sequential, tf_keras_model, tf1, tf_module,
                model_files):
    files = root / "sources"
    files.mkdir()
    cases = []

    weights = _save_keras_weights(keras_model, files / "keras_functional.npz")
    prelude = _weights_prelude("build_keras_functional", "model", weights)
    cases.append(Case("keras_direct", suggest_spec(keras_model, root, version="auto"),
                      prelude))
    embed = SignatureSpec(
        "embed",
        {"meta": "meta", "image": "image"},
        {"embedding": "embedding", "joined": "joined", "scores": "scores"},
    )
    serving = SignatureSpec("serving_default", {"image": "image", "meta": "meta"},
                            {"scores": "scores"})
    cases.append(Case("keras_submodel", ExportSpec(keras_model, (serving, embed), root), prelude))
    # Names a generated function or argument must not take: the model variable and ``tf``.
    clashing = SignatureSpec("model", {"model": "image", "tf": "meta"}, {"keras": "scores"})
    cases.append(Case("keras_name_clashes", ExportSpec(keras_model, clashing, root), prelude))

    sequential_file = files / "sequential.keras"
    keras_sequential.save(sequential_file)
    by_role = {c.role: c.name for c in list_candidates(keras_sequential)}  # one of each
    sequential = SignatureSpec(
        "serving_default", {"x": by_role["input"]}, {"hidden": by_role["layer"],
                                                      "y": by_role["output"]}
    )
    cases.append(Case(
        "keras_sequential",
        ExportSpec(keras_sequential, sequential, root, source_name="regressor"),
        f"import keras\nregressor = keras.models.load_model({str(sequential_file)!r})\n",
    ))

    weights = _save_keras_weights(tf_keras_model, files / "tf_keras.npz")
    signatures = (
        SignatureSpec("serving_default", {"pixels": "pixels"}, {"probabilities": "probabilities"}),
        SignatureSpec("features", {"pixels": "pixels"}, {"hidden": "hidden"}),
    )
    cases.append(Case("tf_keras", ExportSpec(tf_keras_model, signatures, root),
                      _weights_prelude("build_tf_keras_model", "model", weights)))

    checkpoint = files / "tf1" / "model.ckpt"
    with tf1.graph.as_default():
        tf.compat.v1.train.Saver().save(tf1.session, str(checkpoint))
    prelude = (
        "import tensorflow as tf\n"
        "from live_sources import build_tf1_session\n"
        "_live = build_tf1_session(tf)\n"
        "sess = _live.session\n"
        "with _live.graph.as_default():\n"
        f"    tf.compat.v1.train.Saver().restore(sess, {str(checkpoint)!r})\n"
    )
    simple = SignatureSpec("serving_default", {"image": "x:0"},
                           {"scores": "scores:0", "classes": "classes:0"})
    cases.append(Case("tf1_simple_save", ExportSpec(tf1.session, simple, root, source_name="sess"),
                      prelude))
    signatures = (
        SignatureSpec("predict_images", {"images": "x:0"},
                      {"scores": "scores:0", "classes": "classes:0"}),
        SignatureSpec("scaled", {"images": "x:0", "temperature": "temperature:0"},
                      {"scaled": "scaled:0"}),
    )
    cases.append(Case(
        "tf1_builder",
        ExportSpec(tf1.session, signatures, root, tags=("serve", "gpu"), source_name="sess"),
        prelude,
    ))

    graph_spec = SignatureSpec("serving_default", {"words": "words:0"},
                               {"ids": "ids:0", "lengths": "lengths:0"})
    cases.append(Case("tf1_graph", ExportSpec(table_graph(tf), graph_spec, root,
                                              source_name="graph"),
                      "import tensorflow as tf\n"
                      "from test_codegen import table_graph\n"
                      "graph = table_graph(tf)\n"))
    regress = (graph_spec, SignatureSpec("regress", {"inputs": "words:0"},
                                         {"outputs": "score:0"}, method="regress"))
    cases.append(Case("tf1_graph_regress", ExportSpec(table_graph(tf), regress, root,
                                                      source_name="graph"),
                      "import tensorflow as tf\n"
                      "from test_codegen import table_graph\n"
                      "graph = table_graph(tf)\n"))

    module_checkpoint = files / "module" / "ckpt"
    tf.train.Checkpoint(module=tf_module).write(str(module_checkpoint))
    signatures = (
        SignatureSpec("serving_default", {"x": "predict:x"}, {"logits": "predict:logits"}),
        SignatureSpec("proba", {"x": "proba:x"}, {"probabilities": "proba:output"}),
    )
    cases.append(Case(
        "module",
        ExportSpec(tf_module, signatures, root, source_name="module"),
        "import tensorflow as tf\n"
        "from live_sources import build_tf_module\n"
        "module = build_tf_module(tf)\n"
        f"tf.train.Checkpoint(module=module).read({str(module_checkpoint)!r}).assert_consumed()\n",
    ))
    unsorted = SignatureSpec("serving_default", {"x": "split:x"},
                             {"zeta": "split:zeta", "alpha": "split:alpha"})
    cases.append(Case(
        "module_unsorted_outputs",
        ExportSpec(unsorted_outputs_module(tf), unsorted, root, source_name="module"),
        "import tensorflow as tf\n"
        "from test_codegen import unsorted_outputs_module\n"
        "module = unsorted_outputs_module(tf)\n",
    ))
    cases += _file_cases(model_files, root)
    return cases


def _file_cases(model_files, root: Path) -> list[Case]:
    """Converted files: the code loads the file itself, so only the TF2 checkpoint's
    model (the user's code) is built by the prelude."""
    files = model_files.root
    tf1 = load_model_file(files / "tf1_run")
    images = tf1.spec(root, inputs={"image": "x:0"},
                      outputs={"scores": "scores:0", "classes": "classes:0"},
                      signature_name="predict_images")
    tf2 = load_model_file(files / "tf2_run", model=build_small_keras)
    return [
        Case("file_keras2_h5", load_model_file(files / "keras2.h5").spec(root), ""),
        Case("file_tf_keras_fallback", load_model_file(files / "keras2_tfop.h5").spec(root), ""),
        Case("file_tf1_checkpoint", images, ""),
        Case("file_tf2_checkpoint", tf2.spec(root),
             "from model_files import build_small_keras\nmodel = build_small_keras()\n"),
    ]


def _run_driver(root: Path, cases: list[Case]) -> dict[str, str]:
    driver = root / "driver.py"
    driver.write_text(DRIVER.format(tests=str(TESTS)))
    cases_file, errors_file = root / "cases.json", root / "errors.json"
    cases_file.write_text(json.dumps(
        [{"name": c.name, "prelude": c.prelude, "code": c.code} for c in cases]
    ))
    result = subprocess.run(
        [sys.executable, str(driver), str(cases_file), str(errors_file)],
        cwd=REPO, env=checkout_env(), capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(errors_file.read_text())


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tf, keras_model, keras_sequential, tf_keras_model, tf1,
             tf_module, model_files) -> dict[str, Case]:
    """Every case exported by ``export`` and by its generated code (run in one process)."""
    root = tmp_path_factory.mktemp("codegen")
    cases = _make_cases(root, tf, keras_model, keras_sequential, tf_keras_model, tf1, tf_module,
                        model_files)
    started = time.perf_counter()
    for case in cases:
        case.spec = case.spec.replace(directory=root / "backend" / case.name)
        case.backend_path = export(case.spec).path
        by_hand = case.spec.replace(directory=root / "by_hand" / case.name)
        case.by_hand_path = target_path(by_hand)
        case.code = export_code(by_hand)
    exported_at = time.perf_counter()
    errors = _run_driver(root, cases)
    print(
        f"{len(cases)} cases: export() and export_code() {exported_at - started:.1f} s, "
        f"the generated code in one process {time.perf_counter() - exported_at:.1f} s"
    )
    for case in cases:
        case.error = errors[case.name]
    return {case.name: case for case in cases}


def signature_table(path: Path) -> list[tuple[Any, ...]]:
    """Tags, signature, method, direction, alias, dtype, shape and encoding of each tensor.

    The graph tensor names are left out: they differ between two equal exports.
    """
    rows = read_saved_model(path).signature_rows()
    keys = ("tags", "signature", "method", "direction", "alias", "dtype", "shape", "encoding")
    return sorted(tuple(row[key] for key in keys) for row in rows)


def saved_variables(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    return sorted((v.dtype, v.shape) for v in read_saved_model(path).variables)


CASES = [
    "keras_direct",
    "keras_submodel",
    "keras_name_clashes",
    "keras_sequential",
    "tf_keras",
    "tf1_simple_save",
    "tf1_builder",
    "tf1_graph",
    "tf1_graph_regress",
    "module",
    "module_unsorted_outputs",
    "file_keras2_h5",
    "file_tf_keras_fallback",
    "file_tf1_checkpoint",
    "file_tf2_checkpoint",
]


# The generated code, run -----------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_generated_code_writes_the_same_signatures(exported, name):
    case = exported[name]
    assert not case.error, f"{case.code}\n{case.error}"
    assert (case.by_hand_path / "saved_model.pb").is_file()
    assert signature_table(case.by_hand_path) == signature_table(case.backend_path)


@pytest.mark.parametrize("name", CASES)
def test_generated_code_writes_the_weights_once(exported, name):
    case = exported[name]
    assert not case.error, case.error
    assert saved_variables(case.by_hand_path) == saved_variables(case.backend_path)


def test_module_dict_outputs_are_picked_by_key(exported):
    case = exported["module_unsorted_outputs"]
    assert not case.error, case.error
    assert 'return {"zeta": outputs["zeta"], "alpha": outputs["alpha"]}' in case.code
    outputs = read_saved_model(case.by_hand_path).signature().outputs
    assert {t.alias: t.dtype for t in outputs} == {"zeta": "float32", "alpha": "int32"}


def test_keras_signature_keys_survive_renamed_arguments(exported):
    case = exported["keras_name_clashes"]
    assert "def model_1(model_1, tf_1):" in case.code
    signature = read_saved_model(case.by_hand_path).signature("model")
    assert sorted(signature.input_aliases) == ["model", "tf"]
    assert signature.output_aliases == ("keras",)


# The generated code, read ----------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_code_compiles_and_needs_no_savedmodel_widgets(exported, name):
    code = exported[name].code
    compile(code, "<export>", "exec")
    assert "savedmodel_widgets" not in code
    assert code.startswith("import ") and code.endswith("\n")
    assert max(len(line) for line in code.splitlines()) <= 100
    assert f'export_path = "{exported[name].by_hand_path}"' in code


def test_single_default_tf1_signature_uses_simple_save(exported):
    code = exported["tf1_simple_save"].code
    assert "tf.compat.v1.saved_model.simple_save(" in code
    assert "graph = sess.graph" in code
    assert 'inputs={"image": graph.get_tensor_by_name("x:0")}' in code
    assert "legacy_init_op=legacy_init_op" in code  # the classes come from a lookup table
    assert "Builder" not in code


def test_tf1_signatures_use_the_builder_as_in_the_reference(exported):
    code = exported["tf1_builder"].code
    assert "builder = tf.compat.v1.saved_model.Builder(export_path)" in code
    assert "tensor_info_x = tf.compat.v1.saved_model.build_tensor_info(" in code
    assert code.count("tf.compat.v1.saved_model.build_signature_def(") == 2
    assert "method_name=tf.compat.v1.saved_model.PREDICT_METHOD_NAME" in code
    regress = exported["tf1_graph_regress"].code
    assert "method_name=tf.compat.v1.saved_model.REGRESS_METHOD_NAME" in regress
    assert '"predict_images": predict_images_signature' in code
    assert "[tf.compat.v1.saved_model.SERVING, tf.compat.v1.saved_model.GPU]" in code
    assert 'legacy_init_op = tf.group(tf.compat.v1.tables_initializer(), name="legacy_init_op")' \
        in code
    assert "main_op=legacy_init_op" in code
    assert code.rstrip().endswith("builder.save()")
    assert "simple_save" not in code


def test_graph_without_session_opens_one(exported):
    code = exported["tf1_graph"].code
    assert "with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:" in code
    assert "simple_save(" in code


def test_tf1_without_tables_has_no_main_op(tf):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        tf.nn.relu(x, name="y")
    spec = ExportSpec(graph, SignatureSpec("serving_default", {"x": "x:0"}, {"y": "y:0"}),
                      "unused", source_name="graph")
    code = export_code(spec)
    assert "legacy_init_op" not in code and "main_op" not in code


def test_keras_model_is_called_directly_when_the_signature_is_the_whole_model(exported):
    code = exported["keras_direct"].code
    assert "scores = model([image, meta], training=False)" in code
    assert 'tf.TensorSpec((None, 8), tf.float32, name="image")' in code
    assert "keras.Model(" not in code and "import keras" not in code
    assert "export_root.model_weights = model.weights" in code
    assert "tf.saved_model.save(export_root, export_path" in code


def test_keras_submodel_names_layers_by_their_public_names(exported):
    code = exported["keras_submodel"].code
    assert "import keras" in code
    assert "embed_model = keras.Model(" in code
    assert 'model.get_layer("meta").output, model.get_layer("image").output' in code
    assert 'model.get_layer("embedding").output' in code
    assert "embedding, joined, scores = embed_model([meta, image], training=False)" in code
    assert "_inbound_nodes" not in code


def test_sequential_input_without_a_name_is_model_inputs(exported):
    code = exported["keras_sequential"].code
    assert "inputs=regressor.inputs[0]" in code
    assert "regressor.weights" in code


def test_tf_keras_submodel_uses_tf_keras(exported):
    code = exported["tf_keras"].code
    assert "import tf_keras" in code
    assert "features_model = tf_keras.Model(" in code
    assert "probabilities = model(pixels, training=False)" in code


def test_module_functions_are_called_and_outputs_renamed(exported):
    code = exported["module"].code
    assert 'return {"logits": module.predict(x)["logits"]}' in code
    assert 'return {"probabilities": module.proba(x)}' in code
    assert "tf.saved_model.save(" in code and "    module,\n" in code


def test_shared_layer_and_plain_op_outputs_run_in_process(tf, tmp_path):
    """Keras 3 has no public name for a shared layer's second output: the code calls the
    layer again on the same input, with public Keras only, and gives the same values."""
    import keras

    shared = keras.layers.Dense(3, name="shared")
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    total = keras.ops.add(shared(a), shared(b))
    model = keras.Model([a, b], keras.layers.Dense(2, name="head")(total))
    names = [c.name for c in list_candidates(model) if c.role == "layer"]
    add = names[2]  # "add", or "add_N" when other tests made Keras ops before
    assert names[:2] == ["shared_0", "shared_1"] and add.startswith("add")
    signature = SignatureSpec("serving_default", {"a": "a", "b": "b"},
                              {"first": "shared_0", "second": "shared_1", "total": add})
    spec = ExportSpec(model, signature, tmp_path / "backend")
    code = export_code(spec.replace(directory=tmp_path / "by_hand"))
    assert 'model.get_layer("shared").output,' in code  # the first call
    assert 'model.get_layer("shared")(model.get_layer("b").output)' in code  # the second
    assert "._" not in code  # no private attribute of Keras
    assert f'next(op for op in model.operations if op.name == "{add}").output' in code
    exec(compile(code, "<export>", "exec"), {"model": model})
    export(spec)
    assert signature_table(tmp_path / "by_hand") == signature_table(tmp_path / "backend")
    feeds = {"a": tf.constant([[1.0, 2.0, 3.0]]), "b": tf.constant([[-1.0, 0.5, 2.0]])}
    by_hand = tf.saved_model.load(str(tmp_path / "by_hand")).signatures["serving_default"]
    backend = tf.saved_model.load(str(tmp_path / "backend")).signatures["serving_default"]
    expected, got = backend(**feeds), by_hand(**feeds)
    for alias in ("first", "second", "total"):
        np.testing.assert_allclose(got[alias].numpy(), expected[alias].numpy(), rtol=1e-6)


def test_signature_names_that_are_no_python_names_still_run(keras_model, tmp_path):
    serving = {"image": "image", "meta": "meta"}, {"scores": "scores"}
    signatures = tuple(SignatureSpec(name, *serving) for name in ("class", "print", "by-name"))
    spec = ExportSpec(keras_model, signatures, tmp_path / "backend")
    code = export_code(spec.replace(directory=tmp_path / "by_hand"))
    assert "def class_1(image, meta):" in code
    assert "def print_1(image, meta):" in code  # no builtin is shadowed in the notebook
    assert "def by_name(image, meta):" in code
    assert '"class": class_1, "print": print_1, "by-name": by_name' in code
    exec(compile(code, "<export>", "exec"), {"model": keras_model})
    export(spec)
    assert signature_table(tmp_path / "by_hand") == signature_table(tmp_path / "backend")


def test_subclassed_models_are_called_whole(keras_subclassed, tf_keras_subclassed, tmp_path):
    two_heads = SignatureSpec("predict", {"x": "input"}, {"scores": "logits", "vector": "hidden"})
    specs = [
        ExportSpec(keras_subclassed, two_heads, tmp_path / "two_heads"),
        suggest_spec(tf_keras_subclassed, tmp_path / "scorer"),
    ]
    codes = [export_code(spec.replace(directory=tmp_path / "by_hand" / spec.source.name))
             for spec in specs]
    assert "outputs = model(x, training=False)" in codes[0]
    assert 'return {"scores": outputs["logits"], "vector": outputs["hidden"]}' in codes[0]
    assert 'return {"output": model(input, training=False)}' in codes[1]
    for spec, code in zip(specs, codes, strict=True):
        exec(compile(code, "<export>", "exec"), {"model": spec.source})
        export(spec)
        assert signature_table(tmp_path / "by_hand" / spec.source.name) == signature_table(
            spec.directory
        )


# Paths, versions, errors -----------------------------------------------------------


def test_auto_version_is_written_as_the_next_number(keras_model, tmp_path):
    for existing in ("1", "2"):
        (tmp_path / existing).mkdir()
    code = export_code(suggest_spec(keras_model, tmp_path, version="auto"))
    assert f'export_path = "{tmp_path / "3"}"' in code
    assert '# version="auto": 3 is the next free version number' in code
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2"]  # nothing written


def test_fixed_version_and_overwrite(keras_model, tmp_path):
    spec = suggest_spec(keras_model, tmp_path, version=7, overwrite=True)
    code = export_code(spec)
    assert f'export_path = "{tmp_path / "7"}"' in code
    assert code.startswith("import shutil\n\nimport tensorflow as tf\n")
    assert "shutil.rmtree(export_path, ignore_errors=True)" in code


def test_to_code_is_export_code(keras_model):
    spec = suggest_spec(keras_model, "export/classifier")
    assert export_code(spec) == export_code(spec)
    assert 'export_path = "export/classifier"' in export_code(spec)


def test_invalid_spec_is_refused_with_the_valid_names(keras_model):
    spec = ExportSpec(keras_model, SignatureSpec("serving_default", {"image": "imag"},
                                                 {"scores": "scores"}), "unused")
    with pytest.raises(ExportSpecError, match="Did you mean 'image'"):
        export_code(spec)


def test_source_name_must_be_a_variable_name(keras_model):
    spec = suggest_spec(keras_model, "unused", source_name="my model")
    with pytest.raises(ExportSpecError, match="not a Python variable name"):
        export_code(spec)
