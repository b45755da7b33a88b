"""The binary messages of PAI-EAS's TensorFlow processor, and numpy arrays in and out of them.

The messages are those of the ``eas-prediction`` SDK (PyPI ``eas-prediction`` 0.36,
``eas_prediction/tf_request_pb2.py``, generated from its ``tf_request.proto``): the same
message names, field names and field numbers. They are declared here rather than imported
from the SDK because the SDK pins ``protobuf<=3.20.3``, which TensorFlow cannot use; the
project's proto-subset compiler builds them in a private descriptor pool. The SDK's file has
no package; the package given here (``eas``) is not part of the wire format.

An ``ArrayProto`` carries one tensor: its dtype (TensorFlow's ``DataType`` numbers), its
shape, and its values flattened in row-major order in the value field of its dtype, as the
SDK's ``TFRequest.add_feed`` fills it (``int_val`` holds every integer type up to 32 bits).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..savedmodel._schema import class_of, compile_pool, enum_names

__all__ = [
    "EAS_DTYPES",
    "EasRequest",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
]

_PACKAGE = "eas"

_LAST_ARRAY_DATA_TYPE = 21
"""The SDK's ``ArrayDataType`` is TensorFlow's ``DataType`` from ``DT_INVALID`` (0) to
``DT_VARIANT`` (21), with the same names and numbers."""

_MESSAGES = """
message ArrayShape {
  repeated int64 dim = 1;
}

message ArrayProto {
  ArrayDataType dtype = 1;
  ArrayShape array_shape = 2;
  repeated float float_val = 3;
  repeated double double_val = 4;
  repeated int32 int_val = 5;
  repeated bytes string_val = 6;
  repeated int64 int64_val = 7;
  repeated bool bool_val = 8;
}

message PredictRequest {
  string signature_name = 1;
  map<string, ArrayProto> inputs = 2;
  repeated string output_filter = 3;
}

message PredictResponse {
  map<string, ArrayProto> outputs = 1;
}
"""

EAS_DTYPES: dict[str, tuple[int, str]] = {
    "float32": (1, "float_val"),
    "float64": (2, "double_val"),
    "int32": (3, "int_val"),
    "uint8": (4, "int_val"),
    "int16": (5, "int_val"),
    "int8": (6, "int_val"),
    "string": (7, "string_val"),
    "int64": (9, "int64_val"),
    "bool": (10, "bool_val"),
    "uint16": (17, "int_val"),
}
"""``{dtype name: (ArrayDataType number, value field)}`` for the dtypes the format carries
(the SDK's ``TFRequest.add_feed`` and ``TFResponse.get_values``)."""

_NAMES_BY_NUMBER = {number: name for name, (number, _) in EAS_DTYPES.items()}


@dataclass(frozen=True)
class EasRequest:
    """A decoded ``PredictRequest``.

    Attributes
    ----------
    signature_name : str
        The signature the client named; empty when it named none.
    inputs : dict of str to numpy.ndarray
        ``{input alias: array}``; strings come as an object array of bytes.
    output_filter : tuple of str
        The output aliases asked for; empty for all of them.
    """

    signature_name: str
    inputs: dict[str, np.ndarray]
    output_filter: tuple[str, ...]


@functools.cache
def _message_class(name: str) -> Any:
    values = " ".join(f"{enum_name} = {number};" for number, enum_name
                      in sorted(enum_names("DataType").items()) if number <= _LAST_ARRAY_DATA_TYPE)
    schema = f"enum ArrayDataType {{ {values} }}\n{_MESSAGES}"
    pool = compile_pool(schema, _PACKAGE, "savedmodel_widgets/eas_tf_request.proto")
    return class_of(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


def decode_request(body: bytes) -> EasRequest:
    """Parse the body of ``POST /api/predict/NAME`` sent by the SDK's ``TFRequest``.

    Raises
    ------
    ValueError
        When the body is not a ``PredictRequest``, or an input's dtype, shape and
        values do not agree; the message says which input and what was wrong.
    """
    from google.protobuf.message import DecodeError

    request = _message_class("PredictRequest")()
    try:
        request.ParseFromString(body)
    except DecodeError as error:
        raise ValueError(f"The request body is not a PredictRequest of the EAS TensorFlow "
                         f"processor ({error}); send one built with eas_prediction.TFRequest."
                         ) from None
    inputs = {alias: _array_from_proto(alias, proto) for alias, proto in request.inputs.items()}
    return EasRequest(request.signature_name, inputs, tuple(request.output_filter))


def encode_request(
    inputs: Mapping[str, Any], signature_name: str = "", output_filter: Sequence[str] = ()
) -> bytes:
    """The body the SDK's ``TFRequest`` sends for these inputs (one ``add_feed`` per input).

    Parameters
    ----------
    inputs : mapping of str to array-like
        ``{input alias: value}``; the value's numpy dtype picks the ``ArrayDataType``.
    signature_name : str
        The signature to run; empty for the model's default.
    output_filter : sequence of str
        Output aliases to fetch (``add_fetch``); empty for all.

    Raises
    ------
    ValueError
        For a dtype the format has no value field for.
    """
    request = _message_class("PredictRequest")()
    request.signature_name = signature_name
    for alias, value in inputs.items():
        _fill_proto(request.inputs[alias], alias, np.asarray(value))
    request.output_filter.extend(output_filter)
    return bytes(request.SerializeToString())


def encode_response(outputs: Mapping[str, np.ndarray]) -> bytes:
    """A ``PredictResponse`` holding ``{output alias: array}``.

    Raises
    ------
    ValueError
        For an output whose dtype the format has no value field for.
    """
    response = _message_class("PredictResponse")()
    for alias, value in outputs.items():
        _fill_proto(response.outputs[alias], alias, np.asarray(value))
    return bytes(response.SerializeToString())


def decode_response(body: bytes) -> dict[str, np.ndarray]:
    """``{output alias: array}`` from a ``PredictResponse`` body.

    Raises
    ------
    ValueError
        When the body is not a ``PredictResponse`` or an output does not decode.
    """
    from google.protobuf.message import DecodeError

    response = _message_class("PredictResponse")()
    try:
        response.ParseFromString(body)
    except DecodeError as error:
        raise ValueError(f"The answer is not a PredictResponse ({error}).") from None
    return {alias: _array_from_proto(alias, proto) for alias, proto in response.outputs.items()}


def _dtype_name(value: np.ndarray) -> str:
    if value.dtype.kind in "SUO":
        return "string"
    return "bool" if value.dtype == np.bool_ else str(value.dtype)


def _fill_proto(proto: Any, alias: str, value: np.ndarray) -> None:
    name = _dtype_name(value)
    if name not in EAS_DTYPES:
        raise ValueError(f"{alias!r} is {name}; the EAS TensorFlow processor's ArrayProto "
                         f"carries only {', '.join(EAS_DTYPES)}.")
    number, field = EAS_DTYPES[name]
    proto.dtype = number
    proto.array_shape.dim.extend(value.shape)
    flat = value.reshape(-1)
    if name == "string":
        getattr(proto, field).extend(
            item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in flat
        )
    else:
        getattr(proto, field).extend(flat.tolist())


def _array_from_proto(alias: str, proto: Any) -> np.ndarray:
    name = _NAMES_BY_NUMBER.get(proto.dtype)
    if name is None:
        raise ValueError(f"Input {alias!r} has ArrayDataType {proto.dtype}, which has no value "
                         f"field; send one of {', '.join(EAS_DTYPES)}.")
    shape = tuple(proto.array_shape.dim)
    if any(dim < 0 for dim in shape):
        raise ValueError(f"{alias!r} has shape {list(shape)}; a request's dimensions must be "
                         f"known, not -1.")
    values = getattr(proto, EAS_DTYPES[name][1])
    if len(values) != math.prod(shape):
        raise ValueError(f"{alias!r} has shape {list(shape)}, which holds {math.prod(shape)} "
                         f"values, but {len(values)} were sent in {EAS_DTYPES[name][1]}.")
    if name == "string":
        return np.array(list(values), dtype=object).reshape(shape)
    try:
        return np.array(values, dtype=name).reshape(shape)
    except OverflowError:
        raise ValueError(f"{alias!r} is {name} but holds a value out of its range.") from None
