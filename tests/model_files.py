"""Model files of every kind a user brings, written with real TensorFlow once per test session.

:func:`write_model_files` saves each file, then moves the whole folder, so
the absolute paths that ``tf.compat.v1.train.Saver`` writes into each
``checkpoint`` file point nowhere, as after a copy from another machine. It
records what the original models predict on fixed inputs, so a test can
compare a converted SavedModel with the model that wrote the file.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from live_sources import build_keras_functional, build_tf1_session, build_tf_keras_model

RNG = np.random.default_rng(5)
PIXELS = RNG.random((5, 6), np.float32)
IMAGE = RNG.random((5, 8), np.float32)
META = RNG.random((5, 2), np.float32)
X = RNG.random((5, 4), np.float32)
WIDE = RNG.random((5, 3), np.float32)


def build_small_keras():
    """Keras 3 ``features`` (3) -> Dense(4, relu) -> ``out`` (2), built, seeded."""
    import keras

    keras.utils.set_random_seed(21)
    features = keras.Input((3,), name="features")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(features)
    out = keras.layers.Dense(2, name="out")(hidden)
    return keras.Model(features, out, name="small")


def build_scale_layer():
    """A custom Keras 3 layer class that is not registered with Keras."""
    import keras

    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    return Scale


def _keras_files(root: Path, tf) -> dict:
    import keras
    import tf_keras

    predictions = {}

    legacy = build_tf_keras_model()
    legacy.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    with warnings.catch_warnings():  # the legacy format is the point here
        warnings.simplefilter("ignore", UserWarning)
        legacy.save(root / "keras2.h5")
    legacy.save_weights(root / "keras2_weights.h5")
    legacy.save_weights(str(root / "tf_keras_weights" / "weights"))  # TF format: model is root
    predictions["keras2"] = legacy.predict(PIXELS, verbose=0)

    tf_keras.utils.set_random_seed(12)
    wide = tf_keras.Input((3,), name="wide")
    dense = tf_keras.layers.Dense(4, name="dense")(wide)
    squared = tf.math.square(dense)  # becomes a TFOpLambda layer, which Keras 3 cannot read
    tfop = tf_keras.Model(wide, squared, name="tfop")
    shifted = tf_keras.layers.Lambda(lambda t: t - 0.5, name="shift")(squared)
    lambda_tfop = tf_keras.Model(wide, shifted, name="lambda_tfop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tfop.save(root / "keras2_tfop.h5")
        lambda_tfop.save(root / "keras2_lambda_tfop.h5")
    predictions["keras2_tfop"] = tfop.predict(WIDE, verbose=0)
    predictions["keras2_lambda_tfop"] = lambda_tfop.predict(WIDE, verbose=0)

    functional = build_keras_functional()
    functional.compile(optimizer="adam", loss="categorical_crossentropy")
    functional.save(root / "keras3.h5")
    functional.save(root / "keras3.keras")
    predictions["keras3"] = functional.predict([IMAGE, META], verbose=0)

    small = build_small_keras()
    small.save_weights(root / "small.weights.h5")
    predictions["small"] = small.predict(WIDE, verbose=0)

    keras.utils.set_random_seed(22)
    features = keras.Input((3,), name="features")
    doubled = keras.layers.Lambda(lambda t: t * 2.0 + 1.0, name="double")(features)
    lambda_model = keras.Model(features, keras.layers.Dense(2, name="out")(doubled))
    lambda_model.save(root / "lambda.keras")
    lambda_model.save(root / "lambda.h5")
    predictions["lambda"] = lambda_model.predict(WIDE, verbose=0)

    keras.utils.set_random_seed(24)
    activation = keras.Sequential(
        [keras.Input((3,), name="features"),
         keras.layers.Dense(2, activation=lambda t: t * 2.0 - 1.0, name="dense")])
    with warnings.catch_warnings():  # Keras warns that a lambda is unsafe: the point here
        warnings.simplefilter("ignore", UserWarning)
        activation.save(root / "lambda_activation.keras")
    predictions["lambda_activation"] = activation.predict(WIDE, verbose=0)

    scale = build_scale_layer()
    keras.utils.set_random_seed(23)
    features = keras.Input((3,), name="features")
    custom = keras.Model(features, scale(3.0, name="scale")(keras.layers.Dense(2)(features)))
    custom.save(root / "custom.keras")
    predictions["custom"] = custom.predict(WIDE, verbose=0)
    return predictions


def _tf1_checkpoints(root: Path, tf) -> dict:
    tf1 = tf.compat.v1
    predictions = {}
    model = build_tf1_session(tf)
    session = model.session
    rng = np.random.default_rng(1)
    directory = root / "tf1_run"
    directory.mkdir()
    no_meta = root / "tf1_no_meta"
    no_meta.mkdir()
    with model.graph.as_default():
        saver = tf1.train.Saver()
        labels = model.graph.get_tensor_by_name("labels:0")
        train = model.graph.get_operation_by_name("train")
        for step in (500, 1000):
            session.run(train, {model.x: rng.random((8, 4), np.float32),
                                labels: rng.integers(0, 3, 8)})
            saver.save(session, str((directory / "model.ckpt").resolve()), global_step=step)
            predictions[f"tf1_{step}"] = session.run(model.scores, {model.x: X})
        predictions["tf1_classes"] = session.run(model.classes, {model.x: X})
        saver.save(session, str(no_meta / "model.ckpt"), global_step=1000,
                   write_meta_graph=False)
    session.close()

    # A graph with one more variable, whose .meta does not fit the checkpoint above.
    other = tf.Graph()
    with other.as_default():
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        weights = tf1.get_variable("W", [4, 3])
        extra = tf1.get_variable("extra_bias", [3])
        tf.nn.softmax(tf.matmul(x, weights) + extra, name="scores")
        tf1.train.export_meta_graph(str(root / "other_graph.meta"))
    return predictions


def _tf2_checkpoints(root: Path, tf) -> dict:
    import keras

    small = build_small_keras()
    optimizer = keras.optimizers.Adam(0.01)
    small.compile(optimizer=optimizer, loss="mse")
    small.fit(WIDE, np.ones((5, 2), np.float32), epochs=2, verbose=0)
    checkpoint = tf.train.Checkpoint(model=small, optimizer=optimizer)
    checkpoint.save(str(root / "tf2_run" / "ckpt"))
    return {"tf2": small.predict(WIDE, verbose=0)}


def write_model_files(tf, base: Path) -> SimpleNamespace:
    """Write every kind of model file under ``base``; return paths and predictions.

    Returns
    -------
    SimpleNamespace
        ``root`` (the folder, after the move), ``predictions`` (name -> array:
        ``keras2``, ``keras2_tfop``, ``keras3``, ``small``, ``lambda``,
        ``custom``, ``tf1_500``, ``tf1_1000``, ``tf1_classes``, ``tf2``) and
        the inputs ``PIXELS``, ``IMAGE``, ``META``, ``X``, ``WIDE``.
    """
    written = base / "written"
    written.mkdir(parents=True)
    predictions = {}
    predictions.update(_keras_files(written, tf))
    predictions.update(_tf1_checkpoints(written, tf))
    predictions.update(_tf2_checkpoints(written, tf))
    root = base / "copied"
    shutil.move(written, root)
    return SimpleNamespace(root=root, predictions=predictions, PIXELS=PIXELS, IMAGE=IMAGE,
                           META=META, X=X, WIDE=WIDE)
