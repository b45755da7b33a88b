"""Every read of a TensorFlow or Keras attribute that is not public API, in one place.

The export backend needs a few things that neither library exposes publicly:
the layer graph behind a Keras tensor, the input and output structure of a
functional model, the input shapes a subclassed model recorded on its first
call, the traces of a ``tf.function`` without an input signature, whether a
session is closed, whether a TF1 variable is one slice of a partitioned one,
and TensorFlow's ``TrackableObjectGraph`` message. Each is read here, and
nowhere else; when a library renames one, the read raises
:class:`~savedmodel_widgets.errors.FrameworkAPIError` naming the attribute and
the installed version, instead of quietly doing something else.
``tests/test_framework_internals.py`` checks each read on real objects.

Nothing here imports TensorFlow or Keras at module level.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

from ..errors import FrameworkAPIError

__all__ = [
    "KerasHistory",
    "keras_history",
    "keras_node",
    "model_input_structure",
    "model_output_structure",
    "node_call_arguments",
    "node_input_tensors",
    "node_output_tensors",
    "partitioned_variable",
    "recorded_build_shapes",
    "recorded_input_spec",
    "run_session_unchecked",
    "session_closed",
    "traced_concrete_functions",
    "trackable_object_graph",
]


_LIBRARY_NAMES = {"keras": "Keras", "tf_keras": "tf_keras", "tensorflow": "TensorFlow"}


def _library_of(obj: Any) -> str:
    """``keras``, ``tf_keras`` or ``tensorflow``: the library whose object ``obj`` is."""
    module = type(obj).__module__.split(".")[0]
    if module in _LIBRARY_NAMES:
        return module
    for library in ("tf_keras", "keras"):  # a user's subclass lives in the user's module
        loaded = sys.modules.get(library)
        if loaded is not None and isinstance(obj, loaded.layers.Layer):
            return library
    return "tensorflow"


def _library_version(obj: Any) -> str:
    """``Keras 3.15.1``, ``tf_keras 2.21.0`` or ``TensorFlow 2.21.0``: what made ``obj``."""
    library = _library_of(obj)
    version = getattr(sys.modules.get(library), "__version__", "unknown")
    return f"{_LIBRARY_NAMES[library]} {version}"


def _read(obj: Any, attribute: str, what: str) -> Any:
    """``obj.attribute``, or a :class:`FrameworkAPIError` that names it and the version."""
    try:
        return getattr(obj, attribute)
    except AttributeError:
        raise FrameworkAPIError(
            f"savedmodel_widgets reads {type(obj).__name__}.{attribute} ({what}), which "
            f"{_library_version(obj)} does not have. This version is not supported yet: "
            "install the TensorFlow and Keras versions named in the project's setup.cfg, "
            "or report the versions you use."
        ) from None


# Keras layer graphs ---------------------------------------------------------------


class KerasHistory(NamedTuple):
    """Where a symbolic Keras tensor comes from: the layer (or op), which call of it, and
    which of that call's outputs."""

    operation: Any
    node_index: int
    tensor_index: int


def keras_history(tensor: Any) -> KerasHistory:
    """The layer, call and output index that made a symbolic Keras 3 or tf_keras tensor."""
    operation, node_index, tensor_index = _read(tensor, "_keras_history",
                                                "the layer that made a tensor")
    return KerasHistory(operation, node_index, tensor_index)


def keras_node(operation: Any, node_index: int) -> Any:
    """The ``node_index``-th call of a layer (or op) in a layer graph."""
    return _read(operation, "_inbound_nodes", "the calls of a layer")[node_index]


def node_input_tensors(node: Any) -> list[Any]:
    """The symbolic tensors one call of a layer took, flattened."""
    if hasattr(node, "keras_inputs"):  # tf_keras
        return list(node.keras_inputs)
    return list(_read(node, "input_tensors", "the inputs of a layer call"))


def node_output_tensors(node: Any) -> list[Any]:
    """The symbolic tensors one call of a layer returned, flattened."""
    if hasattr(node, "keras_inputs"):  # tf_keras
        import tensorflow as tf

        return list(tf.nest.flatten(node.outputs))
    return list(_read(node, "output_tensors", "the outputs of a layer call"))


def node_call_arguments(node: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of one call of a layer."""
    if hasattr(node, "keras_inputs"):  # tf_keras
        return tuple(node.call_args), dict(node.call_kwargs)
    arguments = _read(node, "arguments", "the arguments of a layer call")
    return tuple(arguments.args), dict(arguments.kwargs)


def _is_keras3_sequential(model: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(model, keras.Sequential)


def model_input_structure(model: Any) -> Any:
    """How a functional or Sequential model takes its inputs: one tensor, a list or a dict
    of symbolic tensors (dict keys are the input names a caller uses)."""
    if _is_keras3_sequential(model):
        return model.inputs[0]  # a Keras 3 Sequential model takes one tensor
    if _library_of(model) == "tf_keras":
        return _read(model, "_nested_inputs", "the structure of the model's inputs")
    return _read(model, "_inputs_struct", "the structure of the model's inputs")


def model_output_structure(model: Any) -> Any:
    """How a functional or Sequential model returns its outputs: one tensor, a list or a
    dict of symbolic tensors."""
    if _is_keras3_sequential(model):
        return model.outputs[0]
    if _library_of(model) == "tf_keras":
        return _read(model, "_nested_outputs", "the structure of the model's outputs")
    return _read(model, "_outputs_struct", "the structure of the model's outputs")


def recorded_build_shapes(model: Any) -> dict[str, Any] | None:
    """The input shapes a Keras 3 subclassed model recorded when it was built
    (``{"x_shape": (1, 8)}``), or None before its first call."""
    return _read(model, "_build_shapes_dict", "the input shapes of the first call")


def recorded_input_spec(model: Any) -> Any:
    """The input ``TensorSpec`` structure a tf_keras subclassed model recorded on its first
    call, or None before it."""
    return _read(model, "_saved_model_inputs_spec", "the input specs of the first call")


# TensorFlow -------------------------------------------------------------------------


def traced_concrete_functions(function: Any) -> list[Any]:
    """The concrete functions a ``tf.function`` without an input signature has traced."""
    listing = _read(function, "_list_all_concrete_functions_for_serialization",
                    "the traces of a tf.function")
    return list(listing())


def session_closed(session: Any) -> bool:
    """Whether a ``tf.compat.v1.Session`` has been closed."""
    return bool(_read(session, "_closed", "whether a session is closed"))


def run_session_unchecked(session: Any, feeds: list[tuple[Any, Any]],
                          fetches: list[Any]) -> list[Any]:
    """Run ``session`` as C++ ``Session::Run`` does (TF Serving's call): the values go
    to TensorFlow as they are, without ``Session.run``'s Python checks (a feed's shape
    against the tensor's static shape, numpy's cast to the tensor's dtype), so a bad
    value gets TensorFlow's own error. ``feeds`` are ``(graph tensor, numpy value)``."""
    run = _read(session, "_call_tf_sessionrun", "the session's C run call")

    def output(tensor: Any) -> Any:
        return _read(tensor, "_as_tf_output", "a graph tensor's C handle")()

    return list(run(None, {output(tensor): value for tensor, value in feeds},
                    [output(tensor) for tensor in fetches], [], None))


def partitioned_variable(variable: Any) -> bool:
    """Whether a TF1 variable is one slice of a partitioned variable (its checkpoint value
    is the whole variable, so its shape differs from the slice's)."""
    return _read(variable, "_save_slice_info", "the slice a partitioned variable holds") \
        is not None


def trackable_object_graph() -> Any:
    """A new, empty ``TrackableObjectGraph`` message (TensorFlow's own class)."""
    try:
        from tensorflow.core.protobuf import trackable_object_graph_pb2
    except ImportError as error:
        import tensorflow as tf

        raise FrameworkAPIError(
            "savedmodel_widgets reads TF2 checkpoints' object graph with "
            "tensorflow.core.protobuf.trackable_object_graph_pb2, which TensorFlow "
            f"{tf.__version__} does not have."
        ) from error
    return trackable_object_graph_pb2.TrackableObjectGraph()
