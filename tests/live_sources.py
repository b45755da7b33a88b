"""Small live models of every source kind, built once per test session by conftest.

Each builder returns the object a user would have in a notebook kernel.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

CLASS_NAMES = ("cat", "dog", "bird")


def build_keras_functional():
    """Keras 3: inputs ``image`` (8) and ``meta`` (2) -> ``embedding`` (16) -> ``scores`` (3)."""
    import keras

    keras.utils.set_random_seed(7)
    image = keras.Input((8,), name="image")
    meta = keras.Input((2,), name="meta")
    joined = keras.layers.Concatenate(name="joined")([image, meta])
    embedding = keras.layers.Dense(16, activation="relu", name="embedding")(joined)
    dropped = keras.layers.Dropout(0.2, name="dropout")(embedding)
    scores = keras.layers.Dense(3, activation="softmax", name="scores")(dropped)
    return keras.Model([image, meta], scores, name="classifier")


def build_keras_sequential():
    """Keras 3 Sequential ``(4,) -> Dense(5) -> Dense(2)`` with an unnamed input."""
    import keras

    keras.utils.set_random_seed(8)
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)],
        name="regressor",
    )


def build_tf_keras_model():
    """tf_keras (Keras 2): ``pixels`` (6) -> ``hidden`` (8) -> ``probabilities`` (3)."""
    import tf_keras

    tf_keras.utils.set_random_seed(9)
    pixels = tf_keras.Input((6,), name="pixels")
    hidden = tf_keras.layers.Dense(8, activation="relu", name="hidden")(pixels)
    probabilities = tf_keras.layers.Dense(3, activation="softmax", name="probabilities")(hidden)
    return tf_keras.Model(pixels, probabilities, name="legacy")


def build_tf1_session(tf):
    """The reference's TF1 graph in a live session, trained one step.

    ``x`` [None, 4] -> ``scores`` = softmax(x W + b); ``classes`` looks the
    arg-max up in a hash table; ``scaled`` = scores * ``temperature`` (a second
    placeholder); ``labels`` -> ``loss`` -> an Adam ``train`` op.
    """
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(3)
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        weights = tf1.get_variable("W", [4, 3])
        bias = tf1.get_variable("b", [3], initializer=tf1.zeros_initializer())
        scores = tf.nn.softmax(tf.matmul(x, weights) + bias, name="scores")
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant([0, 1, 2], tf.int64), tf.constant(list(CLASS_NAMES))
            ),
            default_value="unknown",
        )
        classes = tf.identity(table.lookup(tf.argmax(scores, axis=1)), name="classes")
        temperature = tf1.placeholder(tf.float32, [], name="temperature")
        scaled = tf.multiply(scores, temperature, name="scaled")
        labels = tf1.placeholder(tf.int64, [None], name="labels")
        loss = tf.reduce_mean(
            tf1.losses.sparse_softmax_cross_entropy(labels, tf.matmul(x, weights) + bias),
            name="loss",
        )
        train = tf1.train.AdamOptimizer(0.1).minimize(loss, name="train")
        session = tf1.Session(graph=graph)
        session.run([tf1.global_variables_initializer(), tf1.tables_initializer()])
        rng = np.random.default_rng(0)
        session.run(train, {x: rng.random((8, 4), np.float32), labels: rng.integers(0, 3, 8)})
    return SimpleNamespace(
        session=session, graph=graph, x=x, scores=scores, classes=classes, scaled=scaled
    )


def build_tf_module(tf):
    """A ``tf.Module`` with ``predict`` (x -> logits) and ``proba`` (x -> probabilities)."""
    spec = tf.TensorSpec([None, 4], tf.float32)

    class Linear(tf.Module):
        def __init__(self):
            super().__init__(name="linear")
            self.kernel = tf.Variable(tf.random.stateless_normal([4, 3], [1, 2]), name="kernel")
            self.offset = tf.Variable(tf.ones([3]), name="offset")

        @tf.function(input_signature=[spec])
        def predict(self, x):
            return {"logits": x @ self.kernel + self.offset}

        @tf.function(input_signature=[spec])
        def proba(self, x):
            return tf.nn.softmax(x @ self.kernel + self.offset)

    return Linear()


def build_keras_subclassed():
    """A subclassed Keras 3 model called once on (3, 5): dict output ``logits``, ``hidden``."""
    import keras

    keras.utils.set_random_seed(10)

    class TwoHeads(keras.Model):
        def __init__(self):
            super().__init__(name="two_heads")
            self.hidden = keras.layers.Dense(4, activation="relu")
            self.head = keras.layers.Dense(2)

        def call(self, inputs):
            hidden = self.hidden(inputs)
            return {"logits": self.head(hidden), "hidden": hidden}

    model = TwoHeads()
    model(np.zeros((3, 5), np.float32))
    return model


def build_tf_keras_subclassed():
    """A subclassed tf_keras model called once on (3, 5), with one output."""
    import tf_keras

    tf_keras.utils.set_random_seed(11)

    class Scorer(tf_keras.Model):
        def __init__(self):
            super().__init__(name="scorer")
            self.dense = tf_keras.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            return self.dense(inputs)

    model = Scorer()
    model(np.zeros((3, 5), np.float32))
    return model
