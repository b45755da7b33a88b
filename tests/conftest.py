"""Real SavedModels written by TensorFlow, built once per test session.

Every export is tiny, so the whole set is written in a few seconds after the
(one) TensorFlow import. Tests that damage a model take a copy through
``saved_model_copy``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import shutil  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

CLASS_NAMES = ("cat", "dog", "bird")


@dataclass
class ExportedModels:
    """Paths of the exports, and the live objects some of them were written from."""

    paths: dict[str, str] = field(default_factory=dict)
    live: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def tf():
    """The TensorFlow module, imported once."""
    import tensorflow

    return tensorflow


# --- TF2 exports -------------------------------------------------------------


def export_keras3(tf, path):
    """Keras 3 functional model ``image`` -> Dense(16) -> ``scores``, via ``model.export``."""
    import keras

    inputs = keras.Input((8,), name="image")
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="scores")(hidden)
    model = keras.Model(inputs, outputs)
    model.export(path, verbose=False)
    return model


def linear_module(tf):
    """A ``tf.Module`` with variables and two ``tf.function`` methods over ``x [None, 4]``."""
    spec = tf.TensorSpec([None, 4], tf.float32, name="x")

    class Linear(tf.Module):
        def __init__(self):
            super().__init__(name="linear")
            # Attribute names differ from variable names, so the checkpoint key
            # (``kernel/...``) and the variable name (``weights``) differ.
            self.kernel = tf.Variable(tf.random.normal([4, 3]), name="weights")
            self.offset = tf.Variable(tf.random.normal([3]), name="bias")

        @tf.function(input_signature=[spec])
        def predict(self, x):
            return {"logits": x @ self.kernel + self.offset}

        @tf.function(input_signature=[spec])
        def proba(self, x):
            return {"probabilities": tf.nn.softmax(x @ self.kernel + self.offset)}

    return Linear()


def export_module(tf, path):
    """``tf.saved_model.save`` of a module with signatures serving_default and predict_proba."""
    module = linear_module(tf)
    tf.saved_model.save(
        module,
        path,
        signatures={
            "serving_default": module.predict.get_concrete_function(),
            "predict_proba": module.proba.get_concrete_function(),
        },
    )
    return module


def export_function(tf, path, spec, body, **tracked):
    """Save a variable-free module whose serving_default signature is ``body(spec)``;
    ``tracked`` objects (tables, assets) become attributes of the module."""
    module = tf.Module()
    for name, value in tracked.items():
        setattr(module, name, value)
    module.serve = tf.function(body, input_signature=[spec])
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return module


def export_string_input(tf, path):
    spec = tf.TensorSpec([None], tf.string, name="text")
    return export_function(tf, path, spec, lambda text: {"length": tf.strings.length(text)})


def export_fixed_batch(tf, path):
    spec = tf.TensorSpec([1, 4], tf.float32, name="x")
    return export_function(tf, path, spec, lambda x: {"y": x * 2.0})


def export_unknown_rank(tf, path):
    spec = tf.TensorSpec(None, tf.float32, name="x")
    return export_function(tf, path, spec, lambda x: {"y": x + 1.0})


def export_table_module(tf, path):
    """A TF2 export whose signature looks class ids up in a static hash table (its
    ``__saved_model_init_op`` fills the table)."""
    table = class_names_table(tf)
    spec = tf.TensorSpec([None], tf.int64, name="class_id")

    def look_up(class_id):
        return {"class_name": table.lookup(class_id)}

    return export_function(tf, path, spec, look_up, table=table)


# --- TF1 exports -------------------------------------------------------------


def tf1_scores(tf, x):
    """``softmax(x @ W + b)`` named ``scores``, as in the reference document."""
    weights = tf.Variable(tf.random.normal([4, 3]), name="W")
    bias = tf.Variable(tf.zeros([3]), name="b")
    return tf.nn.softmax(x @ weights + bias, name="scores")


def class_names_table(tf):
    """A static hash table from class ids 0, 1, 2 to :data:`CLASS_NAMES`."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant([0, 1, 2], tf.int64), tf.constant(list(CLASS_NAMES))
        ),
        default_value="unknown",
    )


def tf1_class_names(tf, scores):
    """Look the arg-max class id up in a static hash table of class names."""
    return class_names_table(tf).lookup(tf.argmax(scores, axis=1), name="classes")


def tf1_signature(tf, inputs, outputs):
    """A predict SignatureDef from ``{alias: tensor}`` dicts."""
    utils = tf.compat.v1.saved_model.utils
    return tf.compat.v1.saved_model.signature_def_utils.build_signature_def(
        inputs={alias: utils.build_tensor_info(t) for alias, t in inputs.items()},
        outputs={alias: utils.build_tensor_info(t) for alias, t in outputs.items()},
        method_name=tf.compat.v1.saved_model.PREDICT_METHOD_NAME,
    )


def tf1_build(tf, path, graph_fn, as_text=False, extra_tags=None, tags=("serve",)):
    """Run ``graph_fn(tf) -> (inputs, outputs, signature name)`` in a fresh graph and
    write it with ``SavedModelBuilder`` under ``tags`` (``serve``).

    With ``extra_tags``, a second meta graph with those tags is added whose
    signature is the same one under the name ``<name>_<last tag>``. The session
    allows soft placement, so a graph pinned to a GPU is written on a CPU machine.
    """
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    with tf.Graph().as_default(), tf.compat.v1.Session(config=config) as session:
        inputs, outputs, name = graph_fn(tf)
        session.run(tf.compat.v1.global_variables_initializer())
        signature = tf1_signature(tf, inputs, outputs)
        builder = tf.compat.v1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(
            session,
            list(tags),
            signature_def_map={name: signature},
            main_op=tf.compat.v1.tables_initializer(),
        )
        if extra_tags:
            builder.add_meta_graph(
                list(extra_tags),
                signature_def_map={f"{name}_{extra_tags[-1]}": signature},
            )
        builder.save(as_text=as_text)


def images_graph(tf):
    """The reference's ``predict_images``: images -> scores and class names."""
    images = tf.compat.v1.placeholder(tf.float32, [None, 4], name="images")
    scores = tf1_scores(tf, images)
    classes = tf1_class_names(tf, scores)
    return {"images": images}, {"scores": scores, "classes": classes}, "predict_images"


def default_images_graph(tf):
    """``images_graph`` under the signature name serving_default."""
    inputs, outputs, _ = images_graph(tf)
    return inputs, outputs, "serving_default"


def sparse_graph(tf):
    features = tf.compat.v1.sparse_placeholder(tf.float32, shape=[None, 10], name="features")
    total = tf.sparse.reduce_sum(features, axis=1)
    return {"features": features}, {"total": total}, "serving_default"


def ragged_graph(tf):
    tokens = tf.compat.v1.ragged.placeholder(tf.float32, ragged_rank=1, value_shape=[])
    total = tf.reduce_sum(tokens, axis=1)
    return {"tokens": tokens}, {"total": total}, "serving_default"


def gpu_pinned_graph(tf):
    """The reference's ``x`` -> ``scores``, computed under ``tf.device('/device:GPU:0')``
    (its variables are not pinned, so the graph is written without a GPU)."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    weights = tf.Variable(tf.random.normal([4, 3]), name="W")
    with tf.device("/device:GPU:0"):
        scores = tf.nn.softmax(x @ weights, name="scores")
    return {"image": x}, {"scores": scores}, "serving_default"


def ref_output_graph(tf):
    """A signature whose output is a TF1 variable fetched directly: dtype ``float32_ref``."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    weights = tf.compat.v1.Variable(tf.ones([4, 3]), name="W", use_resource=False)
    return {"image": x}, {"scores": x @ weights, "weights": weights}, "serving_default"


def reference_graph(tf):
    """The reference document's ``simple_save`` example: image -> scores."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    return {"image": x}, {"scores": tf1_scores(tf, x)}, "serving_default"


def tf1_simple_save(tf, path, graph_fn, legacy_init_op=False):
    """Run ``graph_fn`` in a fresh graph and write it with ``simple_save`` (whose signature
    is always serving_default); with ``legacy_init_op``, pass the tables initializer as
    its ``legacy_init_op=``."""
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        inputs, outputs, _ = graph_fn(tf)
        session.run(tf1.global_variables_initializer())
        extra = {}
        if legacy_init_op:
            extra["legacy_init_op"] = tf.group(tf1.tables_initializer(), name="legacy_init_op")
        tf1.saved_model.simple_save(session, path, inputs=inputs, outputs=outputs, **extra)


def export_simple_save(tf, path):
    """Exactly the reference document's ``simple_save`` example."""
    tf1_simple_save(tf, path, reference_graph)


def export_table_simple_save(tf, path):
    """``simple_save`` of ``images_graph``, whose class names come from a lookup table:
    without ``legacy_init_op=`` it writes no init op (tensorflow/serving#1731)."""
    tf1_simple_save(tf, path, images_graph)


def scores_of_images_graph(tf):
    """``images_graph`` with only its ``scores`` in the signature: the table is in the
    graph, but nothing a client calls reads it."""
    inputs, outputs, _ = images_graph(tf)
    return inputs, {"scores": outputs["scores"]}, "serving_default"


def export_table_unread(tf, path):
    """``simple_save`` without an init op of a graph whose table no signature reads: it
    serves, so no check may complain."""
    tf1_simple_save(tf, path, scores_of_images_graph)


def export_table_legacy_init_op(tf, path):
    """``export_table_simple_save`` done right: ``legacy_init_op=`` fills the table."""
    tf1_simple_save(tf, path, images_graph, legacy_init_op=True)


def export_builder(tf, path):
    tf1_build(tf, path, images_graph)


def export_pbtxt(tf, path):
    tf1_build(tf, path, images_graph, as_text=True)


def export_multi_tag(tf, path):
    tf1_build(tf, path, default_images_graph, extra_tags=("serve", "gpu"))


def export_train_serve(tf, path):
    """One meta graph tagged ``train`` and ``serve``: TF Serving loads it only when told to."""
    tf1_build(tf, path, default_images_graph, tags=("train", "serve"))


def export_gpu_pinned(tf, path):
    tf1_build(tf, path, gpu_pinned_graph)


def export_ref_output(tf, path):
    tf1_build(tf, path, ref_output_graph)


def export_asset_table(tf, path):
    """A TF2 static hash table filled from an asset file (its init op reads the file).

    The only state is the asset's path: the object graph has no variables, and the
    checkpoint index holds nothing but the object graph.
    """
    vocabulary = f"{path}_vocabulary.txt"
    with open(vocabulary, "w") as file:
        file.write("\n".join(CLASS_NAMES) + "\n")
    table = tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(
            vocabulary, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
        ),
        default_value=-1,
    )
    spec = tf.TensorSpec([None], tf.string, name="word")
    return export_function(tf, path, spec, lambda word: {"id": table.lookup(word)}, table=table)


def export_sparse_input(tf, path):
    tf1_build(tf, path, sparse_graph)


def export_ragged_input(tf, path):
    tf1_build(tf, path, ragged_graph)


# --- the session fixture -----------------------------------------------------

EXPORTERS = {
    "keras3": export_keras3,
    "module": export_module,
    "simple_save": export_simple_save,
    "builder": export_builder,
    "pbtxt": export_pbtxt,
    "multi_tag": export_multi_tag,
    "string_input": export_string_input,
    "sparse_input": export_sparse_input,
    "ragged_input": export_ragged_input,
    "fixed_batch": export_fixed_batch,
    "unknown_rank": export_unknown_rank,
    "table_simple_save": export_table_simple_save,
    "table_legacy_init_op": export_table_legacy_init_op,
    "table_unread": export_table_unread,
    "table_module": export_table_module,
    "train_serve": export_train_serve,
    "gpu_pinned": export_gpu_pinned,
    "ref_output": export_ref_output,
    "asset_table": export_asset_table,
}
"""Every single-directory export, by the name tests use."""

VERSIONS = (1, 3)
"""Version directories of the ``versioned`` layout (each a copy of ``module``)."""


def make_versioned(source, parent):
    """TF Serving layout: ``parent/1``, ``parent/3`` and a non-numeric ``parent/tmp-foo``."""
    os.makedirs(parent)
    for version in VERSIONS:
        shutil.copytree(source, os.path.join(parent, str(version)))
    # An export in progress: it holds a SavedModel, but is not a version.
    shutil.copytree(source, os.path.join(parent, "tmp-foo"))
    return parent


@pytest.fixture(scope="session")
def exported_models(tf, tmp_path_factory):
    """Write every model once; keep the live Keras model and module."""
    root = tmp_path_factory.mktemp("saved_models")
    exported = ExportedModels()
    for name, export in EXPORTERS.items():
        path = str(root / name)
        live = export(tf, path)
        exported.paths[name] = path
        if live is not None:
            exported.live[name] = live
    exported.paths["versioned"] = make_versioned(exported.paths["module"], str(root / "versioned"))
    return exported


@pytest.fixture(scope="session")
def saved_models(exported_models):
    """``name -> path`` of real SavedModels written by TensorFlow (do not modify them)."""
    return dict(exported_models.paths)


@pytest.fixture(scope="session")
def live_models(exported_models):
    """``name -> object`` the TF2 exports were written from (``keras3``, ``module``, ...)."""
    return exported_models.live


@pytest.fixture(scope="session")
def keras_model(tf):
    """A built Keras 3 functional model: ``image``, ``meta`` -> ``embedding`` -> ``scores``."""
    from live_sources import build_keras_functional

    return build_keras_functional()


@pytest.fixture(scope="session")
def keras_sequential(tf):
    """A Keras 3 Sequential model with an unnamed ``(4,)`` input and a ``(2,)`` output."""
    from live_sources import build_keras_sequential

    return build_keras_sequential()


@pytest.fixture(scope="session")
def tf_keras_model(tf):
    """A tf_keras (Keras 2) functional model: ``pixels`` -> ``hidden`` -> ``probabilities``."""
    from live_sources import build_tf_keras_model

    return build_tf_keras_model()


@pytest.fixture(scope="session")
def keras_subclassed(tf):
    """A subclassed Keras 3 model, called once on (3, 5), returning ``logits`` and ``hidden``."""
    from live_sources import build_keras_subclassed

    return build_keras_subclassed()


@pytest.fixture(scope="session")
def tf_keras_subclassed(tf):
    """A subclassed tf_keras model, called once on (3, 5), with a single output."""
    from live_sources import build_tf_keras_subclassed

    return build_tf_keras_subclassed()


@pytest.fixture(scope="session")
def tf1(tf):
    """The reference's TF1 graph in an open session (``.session``, ``.graph``, tensors)."""
    from live_sources import build_tf1_session

    model = build_tf1_session(tf)
    yield model
    model.session.close()


@pytest.fixture(scope="session")
def tf_module(tf):
    """A ``tf.Module`` with ``predict`` (dict output) and ``proba`` (single output)."""
    from live_sources import build_tf_module

    return build_tf_module(tf)


@pytest.fixture
def saved_model_copy(saved_models, tmp_path):
    """A function ``copy(name) -> path`` that copies a model where a test may damage it."""

    def copy(name):
        destination = tmp_path / f"{name}_copy"
        shutil.copytree(saved_models[name], destination)
        return str(destination)

    return copy


@pytest.fixture(scope="session")
def model_files(tf, tmp_path_factory):
    """Every kind of model file (Keras .h5 and .keras, TF1 and TF2 checkpoints), moved after
    writing; ``.root``, ``.predictions`` and the inputs (see ``model_files.py``)."""
    from model_files import write_model_files

    return write_model_files(tf, tmp_path_factory.mktemp("model_files"))


@pytest.fixture
def model_file_copy(model_files, tmp_path):
    """A function ``copy(name) -> Path`` that copies a file or folder a test may damage."""

    def copy(name):
        source = model_files.root / name
        destination = tmp_path / name
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)
        return destination

    return copy


# --- old TensorFlow runtimes -------------------------------------------------------------


@pytest.fixture(scope="session")
def old_runtimes(tmp_path_factory):
    """TensorFlow 1.15's and 2.7's C API, fetched once per test session: ``{release:
    FetchedRuntime}``.

    They go into ``$SAVEDMODEL_WIDGETS_CACHE`` when it is set (so repeated runs reuse
    it), else into a directory of this session; the variable points there for the whole
    session, so ``verify(runtime=...)`` and ``run_in_runtime`` find them.
    """
    from savedmodel_widgets.runtimes.fetch import CACHE_VARIABLE, fetch_runtime

    given = os.environ.get(CACHE_VARIABLE)
    if not given:
        os.environ[CACHE_VARIABLE] = str(tmp_path_factory.mktemp("runtime-cache"))
    try:
        yield {release: fetch_runtime(release) for release in ("1.15", "2.7")}
    finally:
        if not given:
            del os.environ[CACHE_VARIABLE]


# --- reporting ------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the browser tests left their screenshots, when they took any."""
    from jupyterlab_browser import SCREENSHOT_DIR, SCREENSHOTS

    if SCREENSHOTS:
        terminalreporter.write_line(
            f"Browser screenshots ({len(SCREENSHOTS)}) of each scenario's final state: "
            f"{SCREENSHOT_DIR}")
