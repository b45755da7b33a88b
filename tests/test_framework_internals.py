"""Each read of a TensorFlow or Keras attribute that is not public API, on real objects.

When a new TensorFlow or Keras renames one of them, the test of that read fails
here by name, and users get a FrameworkAPIError that names the version instead
of quietly wrong behaviour.
"""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_widgets.errors import FrameworkAPIError
from savedmodel_widgets.sources import framework_internals as internals


def test_keras3_history_node_and_its_tensors(keras_model):
    scores = keras_model.outputs[0]
    history = internals.keras_history(scores)
    assert history.operation is keras_model.get_layer("scores")
    assert (history.node_index, history.tensor_index) == (0, 0)
    node = internals.keras_node(history.operation, history.node_index)
    assert internals.node_output_tensors(node) == [scores]
    [dropped] = internals.node_input_tensors(node)
    assert internals.keras_history(dropped).operation is keras_model.get_layer("dropout")
    args, kwargs = internals.node_call_arguments(node)
    assert args == (dropped,) and kwargs == {}


def test_tf_keras_history_node_and_its_tensors(tf_keras_model):
    output = tf_keras_model.outputs[0]
    history = internals.keras_history(output)
    assert history.operation is tf_keras_model.get_layer("probabilities")
    node = internals.keras_node(history.operation, history.node_index)
    assert [id(t) for t in internals.node_output_tensors(node)] == [id(output)]
    [hidden] = internals.node_input_tensors(node)
    assert internals.keras_history(hidden).operation is tf_keras_model.get_layer("hidden")
    args, kwargs = internals.node_call_arguments(node)
    assert [id(a) for a in args] == [id(hidden)] and kwargs == {}


def test_model_structures_of_keras3_tf_keras_and_sequential(keras_model, keras_sequential,
                                                            tf_keras_model):
    import keras

    image = keras.Input((3,), name="image")
    named = keras.Model({"image": image}, {"double": keras.layers.Dense(1)(image)})
    assert internals.model_input_structure(named) == {"image": image}
    assert list(internals.model_output_structure(named)) == ["double"]
    assert internals.model_input_structure(keras_model) == keras_model.inputs
    assert internals.model_input_structure(keras_sequential) is keras_sequential.inputs[0]
    assert internals.model_output_structure(keras_sequential) is keras_sequential.outputs[0]
    assert internals.model_input_structure(tf_keras_model) is tf_keras_model.inputs[0]
    assert internals.model_output_structure(tf_keras_model) is tf_keras_model.outputs[0]


def test_recorded_shapes_of_subclassed_models(keras_subclassed, tf_keras_subclassed):
    assert internals.recorded_build_shapes(keras_subclassed) == {"input_shape": (3, 5)}
    spec = internals.recorded_input_spec(tf_keras_subclassed)
    assert spec.shape.as_list() == [3, 5] and spec.dtype.name == "float32"


def test_traces_of_a_function_without_input_signature(tf):
    function = tf.function(lambda x: x * 2.0)
    assert internals.traced_concrete_functions(function) == []
    function(tf.constant([1.0]))
    [concrete] = internals.traced_concrete_functions(function)
    np.testing.assert_allclose(concrete(tf.constant([3.0])).numpy(), [6.0])


def test_session_closed_and_partitioned_variables(tf):
    tf1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        whole = tf1.get_variable("whole", [4, 2])
        parts = tf1.get_variable("parts", [4, 2],
                                 partitioner=tf1.fixed_size_partitioner(2))
        session = tf1.Session(graph=graph)
    assert not internals.partitioned_variable(whole)
    assert all(internals.partitioned_variable(part) for part in parts)
    assert not internals.session_closed(session)
    session.close()
    assert internals.session_closed(session)


def test_trackable_object_graph_reads_a_real_checkpoint(tf, tmp_path):
    checkpoint = tf.train.Checkpoint(model=tf.Module(), step=tf.Variable(1))
    prefix = checkpoint.write(str(tmp_path / "ckpt"))
    graph = internals.trackable_object_graph()
    graph.ParseFromString(tf.train.load_checkpoint(prefix).get_tensor(
        "_CHECKPOINTABLE_OBJECT_GRAPH"))
    assert sorted(child.local_name for child in graph.nodes[0].children) == ["model", "step"]


def test_a_missing_attribute_is_a_loud_error_naming_the_version(keras_model):
    import keras

    class Renamed:  # what a tensor of a Keras that renamed _keras_history would look like
        pass

    with pytest.raises(FrameworkAPIError, match=r"Renamed\._keras_history.*TensorFlow"):
        internals.keras_history(Renamed())

    class Detached(keras.layers.Layer):
        def __getattribute__(self, name):
            if name == "_inbound_nodes":
                raise AttributeError(name)
            return super().__getattribute__(name)

    with pytest.raises(FrameworkAPIError, match=rf"_inbound_nodes.*Keras {keras.__version__}"):
        internals.keras_node(Detached(), 0)


def test_run_session_unchecked_runs_as_cpp_session_run(tf):
    tf1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        x = tf1.placeholder(tf.float32, [None, 1], name="x")
        y = tf.identity(x * 2.0, name="y")
        session = tf1.Session(graph=graph)
    value = np.array([[1.0, 2.0]], np.float32)  # Session.run refuses this shape
    with pytest.raises(ValueError, match="Cannot feed value of shape"):
        session.run(y, {x: value})
    (doubled,) = internals.run_session_unchecked(session, [(x, value)], [y])
    np.testing.assert_allclose(doubled, [[2.0, 4.0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Expects arg.0. to be float"):
        internals.run_session_unchecked(session, [(x, value.astype(np.float64))], [y])
    session.close()
