"""TF Serving's ``PredictionLog`` and TensorFlow's ``TensorProto``, without TensorFlow.

The messages a warm-up file holds, declared with the project's proto-subset compiler
under the names and field numbers of their sources:

- ``PredictionLog``, ``PredictLog``: ``tensorflow_serving/apis/prediction_log.proto``
- ``PredictRequest``: ``tensorflow_serving/apis/predict.proto``
- ``ModelSpec``: ``tensorflow_serving/apis/model.proto`` (its ``version`` is a
  ``google.protobuf.Int64Value``, declared here as ``Int64Value``, the same on the wire)
- ``TensorProto``: ``tensorflow/core/framework/tensor.proto``; ``TensorShapeProto`` and
  ``DataType``: ``tensor_shape.proto`` and ``types.proto`` (taken from the reader's schema)

Only the fields a predict warm-up record uses are declared; the other kinds of log
(classify, regress, multi-inference, session run, streamed predict) are kept as bytes so
that a record holding one is recognised and refused by name. All are compiled into one
private pool in the package ``tensorflow.serving``; the package is not part of the wire
format (TensorProto's own package is ``tensorflow``).

Arrays go into a ``TensorProto`` as ``tf.make_tensor_proto`` puts them: the raw
little-endian bytes in ``tensor_content`` for the dtypes TensorFlow packs that way when
there is more than one element, else the typed value field of the dtype (``half_val``
holds float16 bit patterns, ``scomplex_val`` / ``dcomplex_val`` real and imaginary parts
in turn). Reading follows ``tf.make_ndarray``: ``tensor_content`` when present, else the
typed field, the last value repeated when fewer than the shape holds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import DeployError
from ..savedmodel._schema import DATA_TYPE_ENUM, TENSOR_SHAPE, class_of, compile_pool
from .requests import WarmupRequest

__all__ = [
    "DEFAULT_SIGNATURE",
    "TENSOR_DTYPES",
    "array_from_tensor_proto",
    "decode_prediction_log",
    "encode_prediction_log",
    "fill_tensor_proto",
    "message_class",
]

_PACKAGE = "tensorflow.serving"

DEFAULT_SIGNATURE = "serving_default"
"""The signature TF Serving runs for a request that names none
(``kDefaultServingSignatureDefKey``)."""

_MESSAGES = """
message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated int32 half_val = 13;
  repeated float float_val = 5;
  repeated double double_val = 6;
  repeated int32 int_val = 7;
  repeated bytes string_val = 8;
  repeated float scomplex_val = 9;
  repeated int64 int64_val = 10;
  repeated bool bool_val = 11;
  repeated double dcomplex_val = 12;
  repeated uint32 uint32_val = 16;
  repeated uint64 uint64_val = 17;
}

message Int64Value {
  int64 value = 1;
}

message ModelSpec {
  string name = 1;
  oneof version_choice {
    Int64Value version = 2;
    string version_label = 4;
  }
  string signature_name = 3;
}

message PredictRequest {
  ModelSpec model_spec = 1;
  map<string, TensorProto> inputs = 2;
  repeated string output_filter = 3;
}

message PredictLog {
  PredictRequest request = 1;
}

message PredictionLog {
  oneof log_type {
    bytes classify_log = 2;
    bytes regress_log = 3;
    PredictLog predict_log = 6;
    bytes predict_streamed_log = 7;
    bytes multi_inference_log = 4;
    bytes session_run_log = 5;
  }
}
"""

TENSOR_DTYPES: dict[str, tuple[int, str, bool]] = {
    "float16": (19, "half_val", True),
    "float32": (1, "float_val", True),
    "float64": (2, "double_val", True),
    "int8": (6, "int_val", True),
    "int16": (5, "int_val", True),
    "int32": (3, "int_val", True),
    "int64": (9, "int64_val", True),
    "uint8": (4, "int_val", True),
    "uint16": (17, "int_val", False),
    "uint32": (22, "uint32_val", True),
    "uint64": (23, "uint64_val", True),
    "bool": (10, "bool_val", False),
    "complex64": (8, "scomplex_val", False),
    "complex128": (18, "dcomplex_val", False),
    "string": (7, "string_val", False),
}
"""``{dtype name: (DataType number, typed value field, packed in tensor_content)}`` for
every dtype a dense input can have; the last item says whether ``tf.make_tensor_proto``
puts more than one value in ``tensor_content`` (its ``_TENSOR_CONTENT_TYPES``)."""

_NAMES_BY_NUMBER = {number: name for name, (number, _, _) in TENSOR_DTYPES.items()}


@functools.cache
def message_class(name: str) -> Any:
    """The message class called ``name`` (``"PredictionLog"``, ``"TensorProto"``, ...)."""
    pool = compile_pool(DATA_TYPE_ENUM + TENSOR_SHAPE + _MESSAGES, _PACKAGE,
                        "savedmodel_widgets/tfserving_prediction_log.proto")
    return class_of(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


def _dtype_name(array: np.ndarray) -> str:
    if array.dtype.kind in "SUO":
        return "string"
    return "bool" if array.dtype == np.bool_ else str(array.dtype)


def fill_tensor_proto(proto: Any, alias: str, array: np.ndarray) -> None:
    """Fill an empty ``TensorProto`` with ``array`` as ``tf.make_tensor_proto`` does.

    Raises
    ------
    DeployError
        For a dtype a ``TensorProto`` of a request cannot carry here.
    """
    name = _dtype_name(array)
    if name not in TENSOR_DTYPES:
        raise DeployError(f"Input {alias!r} is {array.dtype}; a warm-up request carries "
                          f"{', '.join(TENSOR_DTYPES)}. Pass an array of one of them.")
    number, field, packed = TENSOR_DTYPES[name]
    proto.dtype = number
    proto.tensor_shape.SetInParent()  # a scalar's shape is present and empty, as TF writes it
    for size in array.shape:
        proto.tensor_shape.dim.add().size = size
    if packed and array.size > 1:
        proto.tensor_content = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        return
    flat = array.reshape(-1)
    if name == "string":
        values: Any = flat.tolist()
        if any(not isinstance(item, bytes | str) for item in values):
            raise DeployError(f"Input {alias!r} is an array of Python objects that are not all "
                              "strings; pass a numpy array of numbers, or of bytes or str.")
        values = [item.encode("utf-8") if isinstance(item, str) else item for item in values]
    elif name == "float16":
        values = flat.view(np.uint16).tolist()
    elif name.startswith("complex"):
        values = np.stack([flat.real, flat.imag], axis=-1).reshape(-1).tolist()
    else:
        values = flat.tolist()
    getattr(proto, field).extend(values)


def array_from_tensor_proto(proto: Any, alias: str) -> np.ndarray:
    """The numpy array a ``TensorProto`` holds (strings as an object array of bytes).

    Raises
    ------
    DeployError
        For a dtype other than :data:`TENSOR_DTYPES`, a shape with unknown rank or
        dimensions, or a ``tensor_content`` whose length the shape does not hold.
    """
    name = _NAMES_BY_NUMBER.get(proto.dtype)
    if name is None:
        raise DeployError(f"Input {alias!r} has DataType {proto.dtype}; a warm-up request "
                          f"carries {', '.join(TENSOR_DTYPES)}.")
    if proto.tensor_shape.unknown_rank:
        raise DeployError(f"Input {alias!r} has an unknown rank; a request's shape must be "
                          "known.")
    shape = tuple(dim.size for dim in proto.tensor_shape.dim)
    if any(size < 0 for size in shape):
        raise DeployError(f"Input {alias!r} has shape {list(shape)}; a request's dimensions "
                          "must be known, not -1.")
    count = math.prod(shape)
    if name == "string":
        strings = list(proto.string_val)
        strings += [strings[-1] if strings else b""] * (count - len(strings))
        return np.array(strings[:count], dtype=object).reshape(shape)
    dtype = np.dtype(name).newbyteorder("<")
    if proto.tensor_content:
        if len(proto.tensor_content) != count * dtype.itemsize:
            raise DeployError(
                f"Input {alias!r} has shape {list(shape)} of {name}, which takes "
                f"{count * dtype.itemsize} bytes, but its tensor_content holds "
                f"{len(proto.tensor_content)}.")
        return np.frombuffer(proto.tensor_content, dtype=dtype).astype(name).reshape(shape)
    values = _typed_values(proto, name)
    if values.size == 0:
        return np.zeros(shape, dtype=name)
    if values.size < count:
        values = np.pad(values, (0, count - values.size), "edge")
    return values[:count].reshape(shape)


def _typed_values(proto: Any, name: str) -> np.ndarray:
    field = TENSOR_DTYPES[name][1]
    values = getattr(proto, field)
    if name == "float16":
        return np.array(values, dtype=np.uint16).view(np.float16)
    if name.startswith("complex"):
        parts = np.array(values, dtype=np.float64)
        if parts.size % 2:
            raise DeployError(f"{field} holds {parts.size} numbers; a {name} tensor holds a "
                              "real and an imaginary part per value.")
        return (parts[0::2] + 1j * parts[1::2]).astype(name)
    return np.array(values, dtype=name)


def encode_prediction_log(request: WarmupRequest, model_name: str = "") -> bytes:
    """A serialized ``PredictionLog`` holding ``request`` as a ``PredictLog``'s request.

    Parameters
    ----------
    request : WarmupRequest
        The signature, inputs and output filter.
    model_name : str
        ``model_spec.name`` (TF Serving runs warm-up records on the model being loaded,
        whatever name they carry).

    Raises
    ------
    DeployError
        For an input of a dtype a ``TensorProto`` cannot carry.
    """
    log = message_class("PredictionLog")()
    predict = log.predict_log.request
    predict.model_spec.name = model_name
    predict.model_spec.signature_name = request.signature_name
    for alias, value in request.inputs.items():
        fill_tensor_proto(predict.inputs[alias], alias, np.asarray(value))
    predict.output_filter.extend(request.output_filter)
    return bytes(log.SerializeToString())


def decode_prediction_log(data: bytes) -> WarmupRequest:
    """The request of a serialized ``PredictionLog`` holding a ``PredictLog``.

    An empty signature name becomes ``serving_default``, the one TF Serving runs.

    Raises
    ------
    DeployError
        When ``data`` is not a ``PredictionLog``, holds another kind of log, or an
        input does not decode.
    """
    from google.protobuf.message import DecodeError

    log = message_class("PredictionLog")()
    try:
        log.ParseFromString(data)
    except DecodeError as error:
        raise DeployError(f"Not a PredictionLog ({error}); TF Serving would refuse it with "
                          "'Failed to parse warmup record'.") from None
    kind = log.WhichOneof("log_type")
    if kind != "predict_log":
        raise DeployError(f"A PredictionLog holding {kind or 'no log'}; this kit reads "
                          "predict_log records only (what it writes).")
    predict = log.predict_log.request
    inputs: Mapping[str, np.ndarray] = {
        alias: array_from_tensor_proto(proto, alias) for alias, proto in predict.inputs.items()}
    return WarmupRequest(predict.model_spec.signature_name or DEFAULT_SIGNATURE, dict(inputs),
                         tuple(predict.output_filter))
