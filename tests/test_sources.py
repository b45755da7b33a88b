"""Finding exportable objects and listing their candidate tensors, on real models."""

from __future__ import annotations

import pytest

from savedmodel_widgets.errors import SourceError
from savedmodel_widgets.sources import (
    clean_alias,
    find_models,
    is_valid_alias,
    list_candidates,
    open_source,
    suggest_signature,
    unique_aliases,
)


def by_role(candidates):
    groups = {}
    for candidate in candidates:
        groups.setdefault(candidate.role, []).append(candidate.name)
    return groups


def test_find_models_lists_each_kind_and_skips_the_rest(
    tf, keras_model, keras_sequential, tf_keras_model, tf1, tf_module
):
    import keras

    closed = tf.compat.v1.Session(graph=tf.Graph())
    closed.close()
    namespace = {
        "model": keras_model,
        "seq": keras_sequential,
        "legacy": tf_keras_model,
        "sess": tf1.session,
        "graph_with_variables": tf1.graph,
        "module": tf_module,
        "unbuilt": keras.Sequential([keras.layers.Dense(2)]),
        "closed": closed,
        "plain_module": tf.Module(),
        "_hidden": keras_model,
        "number": 3,
        "text": "model",
    }
    entries = find_models(namespace)
    assert [(e.name, e.kind) for e in entries] == [
        ("model", "keras"),
        ("seq", "keras"),
        ("legacy", "tf_keras"),
        ("sess", "session"),
        ("module", "module"),
    ]
    labels = {e.name: e.label for e in entries}
    assert labels["model"] == "model  (Keras 3 functional, 2 inputs, 1 output)"
    assert labels["legacy"].startswith("legacy  (tf_keras functional")
    assert "3 placeholders" in labels["sess"]
    assert "predict, proba" in labels["module"]
    assert entries[0].obj is keras_model


def test_keras_functional_lists_inputs_outputs_then_every_layer(keras_model):
    candidates = list_candidates(keras_model)
    assert by_role(candidates) == {
        "input": ["image", "meta"],
        "output": ["scores"],
        "layer": ["joined", "embedding", "dropout"],
    }
    shapes = {c.name: c.shape for c in candidates}
    assert shapes == {
        "image": (None, 8),
        "meta": (None, 2),
        "scores": (None, 3),
        "joined": (None, 10),
        "embedding": (None, 16),
        "dropout": (None, 16),
    }
    assert {c.dtype for c in candidates} == {"float32"}
    assert next(c for c in candidates if c.name == "embedding").detail == "Dense"
    assert suggest_signature(keras_model) == (
        {"image": "image", "meta": "meta"},
        {"scores": "scores"},
    )


def test_keras_sequential_gets_a_readable_input_alias(keras_sequential):
    inputs, outputs = suggest_signature(keras_sequential)
    assert list(inputs) == ["input"]
    (output_alias,) = outputs
    assert is_valid_alias(output_alias)
    assert [c.shape for c in list_candidates(keras_sequential) if c.role == "input"] == [(None, 4)]


def test_keras_dict_outputs_suggest_their_keys(tf):
    import keras

    left = keras.Input((3,), name="left")
    right = keras.Input((3,), name="right")
    total = keras.ops.add(left, right)
    model = keras.Model({"left": left, "right": right},
                        {"sum": total, "score": keras.layers.Dense(1, name="head")(total)})
    inputs, outputs = suggest_signature(model)
    assert inputs == {"left": "left", "right": "right"}
    assert sorted(outputs) == ["score", "sum"]
    assert outputs["score"] == "head"


def test_tf_keras_model_candidates(tf_keras_model):
    candidates = list_candidates(tf_keras_model)
    assert by_role(candidates) == {
        "input": ["pixels"],
        "output": ["probabilities"],
        "layer": ["hidden"],
    }
    assert next(c for c in candidates if c.name == "hidden").shape == (None, 8)


def test_tf1_lists_placeholders_then_unconsumed_then_the_rest_without_training_ops(tf1):
    candidates = list_candidates(tf1.session)
    roles = by_role(candidates)
    assert roles["input"] == ["x:0", "temperature:0", "labels:0"]
    assert {"classes:0", "scaled:0"} <= set(roles["output"])
    assert "scores:0" in roles["tensor"]
    order = [c.role for c in candidates]
    assert order == sorted(order, key=["input", "output", "tensor"].index)
    names = [c.name for c in candidates]
    for name in names:
        assert not name.startswith(("gradients/", "save", "train", "Adam", "init")), name
        assert not name.endswith("/read:0"), name
    assert "W:0" not in names and "b:0" not in names
    classes = next(c for c in candidates if c.name == "classes:0")
    assert (classes.dtype, classes.shape, classes.alias) == ("string", (None,), "classes")


def test_tf1_suggestion_takes_unconsumed_outputs_and_the_placeholders_they_need(tf1):
    inputs, outputs = suggest_signature(tf1.session)
    assert outputs == {"classes": "classes:0", "scaled": "scaled:0"}
    assert inputs == {"x": "x:0", "temperature": "temperature:0"}


def test_graph_candidate_shapes_and_aliases_come_on_demand(tf):
    graph = tf.Graph()
    with graph.as_default():
        features = tf.compat.v1.placeholder(tf.float32, [None, 5], name="features")
        hidden = features
        for _ in range(300):
            hidden = tf.nn.relu(hidden * 2.0)
        tf.nn.softmax(hidden, name="probabilities")
        tf.compat.v1.placeholder(tf.int32, None, name="anything")
    candidates = list_candidates(graph)
    outputs = [c for c in candidates if c.role == "output"]
    assert [c.name for c in outputs] == ["probabilities:0"]
    assert outputs[0].shape == (None, 5)
    assert next(c for c in candidates if c.name == "anything:0").shape is None
    assert next(c for c in candidates if c.name == "Relu_7:0").alias == "relu_7"


def test_module_functions_become_candidates(tf_module):
    candidates = list_candidates(tf_module)
    assert by_role(candidates) == {
        "input": ["predict:x", "proba:x"],
        "output": ["predict:logits", "proba:output"],
    }
    assert suggest_signature(tf_module) == ({"x": "predict:x"}, {"logits": "predict:logits"})


def test_not_ready_and_unsupported_objects_say_what_to_do(tf, tf1):
    import keras

    with pytest.raises(SourceError, match="has not been built"):
        open_source(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(SourceError, match="Session that trained"):
        open_source(tf1.graph)
    with pytest.raises(SourceError, match="no tf.function"):
        open_source(tf.Module())
    with pytest.raises(SourceError, match="Cannot export an object of type builtins.dict"):
        open_source({})


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("x:0", "x"),
        ("dense_1/BiasAdd:0", "dense_1_biasadd"),
        ("Image-Input", "image_input"),
        ("3d", "tensor_3d"),
        ("class", "class_"),
        ("///", "tensor"),
    ],
)
def test_clean_alias_makes_valid_names(name, alias):
    assert clean_alias(name) == alias
    assert is_valid_alias(alias)


def test_alias_rules_and_uniqueness():
    assert not is_valid_alias("2x")
    assert not is_valid_alias("_x")
    assert not is_valid_alias("lambda")
    assert not is_valid_alias("a-b")
    assert unique_aliases(["x", "x", "y", "x"], taken=["y"]) == ["x", "x_1", "y_1", "x_2"]


def test_subclassed_models_list_their_call_inputs_and_outputs(keras_subclassed,
                                                               tf_keras_subclassed):
    candidates = list_candidates(keras_subclassed)
    assert [(c.name, c.role, c.shape) for c in candidates] == [
        ("input", "input", (None, 5)),
        ("logits", "output", (None, 2)),
        ("hidden", "output", (None, 4)),
    ]
    assert suggest_signature(tf_keras_subclassed) == ({"input": "input"}, {"output": "output"})
    assert find_models({"m": keras_subclassed})[0].description == (
        "Keras 3 subclassed TwoHeads, 1 input"
    )


def test_subclassed_model_never_called_says_to_call_it(tf):
    import keras

    class Empty(keras.Model):
        def call(self, inputs):
            return inputs

    with pytest.raises(SourceError, match="has not been built"):
        open_source(Empty())
