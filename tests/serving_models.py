"""The models the serving tests serve, written once per test module.

``write_half_plus_two`` is TF Serving's own test model, rebuilt here: the graph of
``tensorflow_serving/servables/tensorflow/testdata/saved_model_half_plus_two.py``
(github.com/tensorflow/serving), which writes the
``saved_model_half_plus_two_2_versions`` model its REST handler tests
(``model_servers/http_rest_api_handler_test.cc``) and JSON metadata file use:
``y = 0.5 x + 2`` with a predict, two classify and three regress signatures,
the classify/regress ones on serialized ``tf.Example`` strings. The ported
cases in ``tests/tfserving_rest_cases.py`` expect its numbers.

``write_keras_classifier`` is a small Keras 3 model written with the project's
``smw.export`` into a versioned parent (versions 1 and 2, different weights).
"""

from __future__ import annotations

import os

import numpy as np

HALF_PLUS_TWO = "saved_model_half_plus_two_2_versions"
HALF_PLUS_TWO_VERSIONS = (123, 124)
KERAS_NAME = "classifier"
KERAS_VERSIONS = (1, 2)


def write_half_plus_two(tf, path: str) -> None:
    """TF Serving's ``_generate_saved_model_for_half_plus_two`` (TF1 branch, CPU, main op),
    without its asset file; its metadata JSON is the checked-in model's."""
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        a = tf1.Variable(0.5, name="a")
        b = tf1.Variable(2.0, name="b")
        c = tf1.Variable(3.0, name="c")
        # Unknown rank, as in the checked-in model; the TensorFlow that wrote it gave
        # ParseExample's outputs the shape [?, 1] even so, which set_shape restores.
        serialized = tf1.placeholder(tf.string, name="tf_example")
        features = tf1.parse_example(serialized, {
            "x": tf1.FixedLenFeature([1], dtype=tf.float32),
            "x2": tf1.FixedLenFeature([1], dtype=tf.float32, default_value=[0.0]),
        })
        for parsed in features.values():
            parsed.set_shape([None, 1])
        x = tf.identity(features["x"], name="x")
        y = tf.add(tf.multiply(a, x), b, name="y")
        y2 = tf.add(tf.multiply(a, x), c, name="y2")
        x2 = tf.identity(features["x2"], name="x2")
        y3 = tf.add(tf.multiply(a, x2), c, name="y3")
        info = tf1.saved_model.utils.build_tensor_info
        build = tf1.saved_model.signature_def_utils.build_signature_def
        names = tf1.saved_model.signature_constants

        def regress(inputs, outputs):
            return build({"inputs": info(inputs)}, {"outputs": info(outputs)},
                         names.REGRESS_METHOD_NAME)

        def classify(inputs, scores):
            return build({"inputs": info(inputs)}, {"scores": info(scores)},
                         names.CLASSIFY_METHOD_NAME)

        signatures = {
            "regress_x_to_y": regress(serialized, y),
            "regress_x_to_y2": regress(serialized, y2),
            "regress_x2_to_y3": regress(x2, y3),
            "classify_x_to_y": classify(serialized, y),
            "classify_x2_to_y3": classify(x2, y3),
            "serving_default": build({"x": info(x)}, {"y": info(y)}, names.PREDICT_METHOD_NAME),
        }
        session.run(tf1.global_variables_initializer())
        builder = tf1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map=signatures,
            main_op=tf1.group(tf1.local_variables_initializer(), tf1.tables_initializer()),
        )
        builder.save()


def write_half_plus_two_versions(tf, parent: str) -> str:
    """``parent/123`` and ``parent/124``, as TF Serving's test data lays them out."""
    for version in HALF_PLUS_TWO_VERSIONS:
        write_half_plus_two(tf, os.path.join(parent, str(version)))
    return parent


def build_keras_classifier(seed: int):
    """Keras 3: ``image`` (8) -> Dense(16, relu) -> ``scores`` (3, softmax)."""
    import keras

    keras.utils.set_random_seed(seed)
    image = keras.Input((8,), name="image")
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(image)
    scores = keras.layers.Dense(3, activation="softmax", name="scores")(hidden)
    return keras.Model(image, scores, name=KERAS_NAME)


def write_keras_classifier(parent: str) -> dict[int, object]:
    """Export two versions of the classifier with ``smw.export``; ``{version: model}``."""
    import savedmodel_widgets as smw

    models = {}
    for version in KERAS_VERSIONS:
        model = build_keras_classifier(seed=version)
        smw.export(smw.suggest_spec(model, parent, version=version))
        models[version] = model
    return models


def sample_images(count: int, seed: int = 0) -> np.ndarray:
    """``count`` float32 rows for the classifier."""
    return np.random.default_rng(seed).random((count, 8), dtype=np.float32)
