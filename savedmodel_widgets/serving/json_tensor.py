"""TF Serving's REST JSON: request bodies to arrays and examples, answers to JSON text.

A port of TF Serving's ``tensorflow_serving/util/json_tensor.cc``
(github.com/tensorflow/serving): the row (``instances``) and columnar
(``inputs``) formats of a predict request, ``{"b64": ...}`` for binary strings,
the ``examples``/``context`` of a classify or regress request, and the answers
in the same layouts, with its error messages. Numbers follow the signature's
dtype as TF Serving's ``AddValueToTensor`` does: a float input takes any JSON
number, an integer input only JSON integers.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from .model import Classification, ServingError

__all__ = [
    "Format",
    "classify_answer",
    "examples_from_json",
    "parse_json",
    "predict_answer",
    "predict_inputs_from_json",
    "regress_answer",
    "signature_name_of",
    "write_decimal",
]

Format = Literal["row", "columnar"]
"""``row``: the request had ``instances`` (the answer has ``predictions``);
``columnar``: it had ``inputs`` (the answer has ``outputs``)."""

_BYTES_SUFFIX = "_bytes"
_WRITABLE = ("float32", "float64", "int32", "int16", "int8", "uint8", "int64", "bool",
             "uint32", "uint64")
"""The output dtypes TF Serving's ``AddSingleValueAndAdvance`` writes (strings too)."""
_DEBUG_LIMIT = 256
_INT_RANGES = {"int32": 31, "int16": 31, "int8": 31, "uint8": 31, "int64": 63}


def _invalid(message: str) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message)


def _debug(value: Any) -> str:
    """``JsonValueToDebugString``: the value as JSON, cut at 256 bytes."""
    return json.dumps(value)[:_DEBUG_LIMIT]


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    return "String" if isinstance(value, str) else "Number"


def parse_json(body: bytes) -> dict[str, Any]:
    """``ParseJson``: the request body as a JSON object.

    Raises
    ------
    ServingError
        ``INVALID_ARGUMENT`` "JSON Parse error: ..." for an empty or malformed
        body, "... Is not object" for JSON that is not an object.
    """
    if not body:
        raise _invalid("JSON Parse error: The document is empty")
    try:
        text = body.decode("utf-8")
        # rapidjson's kParseStopWhenDoneFlag: what follows the document is not read.
        start = len(text) - len(text.lstrip())
        document, _ = json.JSONDecoder().raw_decode(text, start)
    except UnicodeDecodeError:
        raise _invalid("JSON Parse error: Invalid encoding in string.") from None
    except json.JSONDecodeError as error:
        reason = "Invalid value." if error.msg == "Expecting value" else f"{error.msg}."
        if not text.strip():
            reason = "The document is empty."
        raise _invalid(f"JSON Parse error: {reason} at offset: {error.pos}") from None
    except RecursionError:
        raise _invalid("JSON Parse error: the document nests arrays or objects too deeply "
                       "for the preview server's parser.") from None
    if not isinstance(document, dict):
        raise _invalid(f"JSON Value: {_debug(document)} Is not object")
    return document


def signature_name_of(document: Mapping[str, Any]) -> str:
    """``FillSignature``: the ``signature_name`` key, ``""`` when absent."""
    name = document.get("signature_name", "")
    if not isinstance(name, str):
        raise _invalid(f"JSON Value: {_debug(document)} not formatted correctly. "
                       "'signature_name' key must be a string value.")
    return name


# JSON -> arrays --------------------------------------------------------------------


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _b64_decode(value: Any) -> bytes:
    if not _is_b64(value):
        raise _invalid(f"JSON Value: {_debug(value)} not formatted correctly for base64 data")
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("Unable to base64 decode") from None


def _scalar(value: Any, dtype: Any) -> Any:
    """``AddValueToTensor``: one JSON value of a tensor of ``dtype``."""
    name = dtype.name
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name in ("float32", "float64"):
        ok = number
    elif name in _INT_RANGES:
        bits = _INT_RANGES[name]
        ok = number and isinstance(value, int) and -(2**bits) <= value < 2**bits
    elif name in ("uint32", "uint64"):
        bits = 32 if name == "uint32" else 64
        ok = number and isinstance(value, int) and 0 <= value < 2**bits
    elif name == "string":
        if isinstance(value, dict):
            return _b64_decode(value)
        ok = isinstance(value, str)
        value = value.encode("utf-8") if ok else value
    elif name == "bool":
        ok = isinstance(value, bool)
    else:
        raise ServingError("UNIMPLEMENTED", f"Conversion of JSON Value: {_debug(value)} to "
                           f"type: {_type_string(dtype)}")
    if not ok:
        raise _invalid(f"JSON Value: {_debug(value)} Type: {_json_type(value)} is not of "
                       f"expected type: {_type_string(dtype)}")
    return value


def _type_string(dtype: Any) -> str:
    return {"float32": "float", "float64": "double", "float16": "half"}.get(dtype.name,
                                                                             dtype.name)


def _dense_shape(value: Any) -> list[int]:
    """``GetDenseTensorShape``: the shape the first elements at each level give."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _fill(value: Any, level: int, shape: list[int], dtype: Any, into: list[Any]) -> None:
    """``FillTensorProto``: check ``value`` against ``shape`` and append its scalars."""
    if not isinstance(value, list):
        if level != len(shape):
            raise _invalid(f"JSON Value: {_debug(value)} found at incorrect level: {level + 1} "
                           f"in the JSON DOM. Expected at level: {len(shape)}")
        if isinstance(value, dict) and dtype.name != "string":
            raise _invalid(f"JSON Value: {_debug(value)} Type: Object is not of expected "
                           f"type: {_type_string(dtype)}")
        into.append(_scalar(value, dtype))
        return
    if level >= len(shape):
        raise _invalid(f"Encountered list at unexpected level: {level} expected < {len(shape)}")
    if len(value) != shape[level]:
        raise _invalid(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                       f"expected size: {shape[level]}")
    for item in value:
        _fill(item, level + 1, shape, dtype, into)


def _tensor(value: Any, dtype: Any) -> tuple[list[Any], list[int]]:
    shape = _dense_shape(value)
    values: list[Any] = []
    _fill(value, 0, shape, dtype, values)
    return values, shape


def _array(values: list[Any], shape: list[int], dtype: Any) -> Any:
    import numpy as np

    numpy_dtype = object if dtype.name == "string" else dtype.as_numpy_dtype
    array = np.empty(len(values), dtype=numpy_dtype)
    with np.errstate(over="ignore"):  # a double beyond float's range is inf, as in C++
        array[:] = values
    return array.reshape(shape)


def predict_inputs_from_json(
    document: Mapping[str, Any], input_dtypes: Mapping[str, int]
) -> tuple[dict[str, Any], Format]:
    """``FillPredictRequestFromJson``: the arrays a predict request's JSON holds.

    Parameters
    ----------
    document : mapping
        The parsed request body.
    input_dtypes : mapping of str to int
        ``{input alias: DataType enum}`` of the signature, in its map's order.

    Returns
    -------
    inputs : dict of str to numpy.ndarray
        ``{input alias: array}`` in the signature's dtypes.
    format : {"row", "columnar"}
        Which layout the request used (the answer uses the same).

    Raises
    ------
    ServingError
        ``INVALID_ARGUMENT`` with TF Serving's message for every malformed request.
    """
    import tensorflow as tf

    dtypes = {alias: tf.as_dtype(enum) for alias, enum in input_dtypes.items()}
    if "instances" in document:
        if "inputs" in document:
            raise _invalid(f"JSON Value: {_debug(document)} Not formatted correctly expecting "
                           "only one of 'inputs' or 'instances' keys to exist ")
        instances = document["instances"]
        if not isinstance(instances, list):
            raise _invalid(f"JSON Value: {_debug(document)} Expecting 'instances' to be an "
                           "list/array")
        if not instances:
            raise _invalid(f"JSON Value: {_debug(document)} No values in 'instances' array")
        return _from_instances(instances, dtypes), "row"
    if "inputs" in document:
        return _from_inputs(document["inputs"], dtypes), "columnar"
    raise _invalid("Missing 'inputs' or 'instances' key")


def _from_inputs(value: Any, dtypes: Mapping[str, Any]) -> dict[str, Any]:
    """``FillTensorMapFromInputsMap``."""
    if not isinstance(value, dict) or _is_b64(value):
        if len(dtypes) > 1:
            raise _invalid("inputs is a plain value/list, but expecting an object as multiple "
                           "input tensors required as per tensorinfo_map")
        alias, dtype = next(iter(dtypes.items()))
        return {alias: _array(*_tensor(value, dtype), dtype)}
    arrays = {}
    for alias, dtype in dtypes.items():
        if alias not in value:
            raise _invalid(f"Missing named input: {alias} in 'inputs' object.")
        arrays[alias] = _array(*_tensor(value[alias], dtype), dtype)
    return arrays


def _from_instances(instances: list[Any], dtypes: Mapping[str, Any]) -> dict[str, Any]:
    """``FillTensorMapFromInstancesList``."""
    def is_object(item: Any) -> bool:
        return isinstance(item, dict) and not _is_b64(item)

    if not isinstance(instances[0], dict) and len(dtypes) > 1:
        raise _invalid("instances is a plain list, but expecting list of objects as multiple "
                       "input tensors required as per tensorinfo_map")
    objects = is_object(instances[0])
    names = sorted(dtypes)
    values: dict[str, list[Any]] = {}
    shapes: dict[str, list[int]] = {}
    for index, item in enumerate(instances):
        if objects and not is_object(item):
            raise _invalid(f"Expecting object but got list at item {index} of input list")
        if not objects and is_object(item):
            raise _invalid(f"Expecting value/list but got object at item {index} of input list")
        pairs = item.items() if objects else [(next(iter(dtypes)), item)]
        for alias, value in pairs:
            try:
                _add_instance_item(alias, value, dtypes, values, shapes)
            except ServingError as error:
                key = f" key: {alias}" if objects else ""
                raise _invalid(f"Failed to process element: {index}{key} of 'instances' list. "
                               f"Error: INVALID_ARGUMENT: {error.message}") from None
        if objects and sorted(item) != names:
            raise _invalid(f"Failed to process element: {index} of 'instances' list. JSON "
                           f"object: {_debug(item)} keys must be equal to: {','.join(names)}")
    count = len(instances)
    return {alias: _array(values[alias], [count, *shapes[alias]], dtypes[alias])
            for alias in values}


def _add_instance_item(alias: str, value: Any, dtypes: Mapping[str, Any],
                       values: dict[str, list[Any]], shapes: dict[str, list[int]]) -> None:
    """``AddInstanceItem``: one input's value of one instance, its shape as the first's."""
    if alias not in dtypes:
        raise _invalid(f"JSON object: does not have named input: {alias}")
    scalars, shape = _tensor(value, dtypes[alias])
    if alias not in values:
        values[alias], shapes[alias] = scalars, shape
        return
    if len(scalars) != _size(shapes[alias]):
        raise _invalid(f"Expecting tensor size: {_size(shapes[alias])} but got: {len(scalars)}")
    if shape != shapes[alias]:
        raise _invalid(f"Expecting shape {_shape_string(shapes[alias])} but got: "
                       f"{_shape_string(shape)}")
    values[alias].extend(scalars)


def _size(shape: list[int]) -> int:
    return math.prod(shape)


def _shape_string(shape: list[int]) -> str:
    return "[" + ",".join(map(str, shape)) + "]"


def examples_from_json(document: Mapping[str, Any]) -> list[bytes]:
    """``FillClassifyRegressRequestFromJson``: serialized ``tf.Example`` protos.

    ``context`` features are merged into every example, as TF Serving's
    ``ExampleListWithContext`` input does.

    Raises
    ------
    ServingError
        ``INVALID_ARGUMENT`` with TF Serving's message.
    """
    import tensorflow as tf

    context = None
    if "context" in document:
        context = _example(document["context"], tf)
    examples = document.get("examples")
    if examples is None:
        raise _invalid(f"JSON Value: {_debug(document)} When method is classify, key "
                       "'examples' is expected and was not found")
    if not isinstance(examples, list):
        raise _invalid(f"JSON Value: {_debug(document)} Expecting 'examples' value to be an "
                       "list/array")
    if not examples:
        raise _invalid(f"JSON Value: {_debug(document)} 'examples' value is an empty array")
    serialized = []
    for value in examples:
        example = _example(value, tf)
        if context is not None:
            merged = tf.train.Example()
            merged.CopyFrom(context)
            merged.MergeFrom(example)
            example = merged
        serialized.append(example.SerializeToString())
    return serialized


def _example(value: Any, tf: Any) -> Any:
    """``MakeExampleFromJsonObject``."""
    if not isinstance(value, dict):
        raise _invalid(f"Example must be JSON object but got JSON {_json_type(value)}")
    example = tf.train.Example()
    for name, content in value.items():
        feature = example.features.feature[name]
        for item in content if isinstance(content, list) else [content]:
            _add_feature_value(item, name, feature)
    return example


def _add_feature_value(value: Any, name: str, feature: Any) -> None:
    """``AddValueToFeature``: JSON type decides the feature's list kind."""
    if value is None or isinstance(value, list) or (isinstance(value, dict) and not _is_b64(value)):
        raise _invalid(f"Feature: {name} has element with unexpected JSON type: "
                       f"{_json_type(value)}")
    item: Any
    if isinstance(value, (bool, int)):
        kind, item = "int64_list", int(value)
        if item >= 2**63:
            raise _invalid(f"Feature: {name} has uint64_t element. Only int64_t is supported.")
    elif isinstance(value, float):
        kind, item = "float_list", value
    else:
        kind = "bytes_list"
        item = _b64_decode(value) if isinstance(value, dict) else value.encode("utf-8")
    present = feature.WhichOneof("kind")
    if present not in (None, kind):
        expected = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64"}[present]
        raise _invalid(f"Unexpected element type in feature: {name} expecting type: {expected}")
    getattr(feature, kind).value.append(item)


# answers -> JSON -------------------------------------------------------------------


class _Number:
    """A number already spelled as TF Serving spells it (``WriteDecimal``)."""

    def __init__(self, text: str) -> None:
        self.text = text


def write_decimal(value: float, single: bool) -> str:
    """``WriteDecimal``: 6 significant digits when they read back equal, else all
    (9 for float, 17 for double); ``.0`` added to whole numbers; NaN, Infinity."""
    import numpy as np

    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-Infinity" if value < 0 else "Infinity"
    cast = np.float32 if single else float
    text = f"{value:.6g}"
    if cast(text) != cast(value):
        text = f"{value:.{9 if single else 17}g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def _json_values(array: Any, as_bytes: bool) -> Any:
    """An array as nested lists of JSON-ready values."""
    import numpy as np

    if array.dtype == object or array.dtype.kind == "S":
        def text(item: bytes) -> Any:
            if as_bytes:
                return {"b64": base64.b64encode(item).decode("ascii")}
            return item.decode("utf-8", errors="replace")
        return np.vectorize(text, otypes=[object])(array).tolist() if array.size else \
            array.tolist()
    if array.dtype.kind == "f":
        single = array.dtype != np.float64
        return np.vectorize(lambda v: _Number(write_decimal(float(v), single)),
                            otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()


def _encode(value: Any) -> str:
    """JSON text of answer data; :class:`_Number` values are written as they are spelled."""
    if isinstance(value, _Number):
        return value.text
    if isinstance(value, dict):
        items = (f"{json.dumps(key)}: {_encode(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_encode(item) for item in value) + "]"
    return json.dumps(value)


def predict_answer(outputs: Mapping[str, Any], format: Format) -> str:
    """``MakeJsonFromTensors``: ``{"predictions": ...}`` (row) or ``{"outputs": ...}``.

    A string output whose alias ends in ``_bytes`` is written as ``{"b64": ...}``.

    Raises
    ------
    ServingError
        ``INVALID_ARGUMENT`` for row format when an output has no batch
        dimension or the outputs' batch sizes differ.
    """
    if not outputs:
        raise _invalid("Cannot convert empty tensor map to JSON")
    for array in outputs.values():
        if array.dtype != object and array.dtype.name not in _WRITABLE:
            raise _invalid(f"Failed to write JSON value for tensor type: {array.dtype.name}")
    values = {alias: _json_values(array, alias.endswith(_BYTES_SUFFIX))
              for alias, array in outputs.items()}
    several = len(outputs) > 1
    if format == "columnar":
        return _encode({"outputs": values if several else next(iter(values.values()))})
    batch = -1
    for alias, array in outputs.items():
        if array.ndim == 0:
            raise _invalid(f"Tensor name: {alias} has no shape information ")
        if batch >= 0 and array.shape[0] != batch:
            raise _invalid(f"Tensor name: {alias} has inconsistent batch size: "
                           f"{array.shape[0]} expecting: {batch}")
        batch = array.shape[0]
    if several:
        rows: list[Any] = [{alias: values[alias][i] for alias in values} for i in range(batch)]
    else:
        rows = next(iter(values.values()))
    return _encode({"predictions": rows})


def classify_answer(result: list[list[Classification]]) -> str:
    """``MakeJsonFromClassificationResult``: ``{"results": [[[label, score], ...], ...]}``."""
    if not result:
        raise _invalid("Cannot convert empty ClassificationResults to JSON")
    return _encode({"results": [
        [[c.label.decode("utf-8", errors="replace"), _Number(write_decimal(c.score, True))]
         for c in classes] for classes in result]})


def regress_answer(result: list[float]) -> str:
    """``MakeJsonFromRegressionResult``: ``{"results": [value, ...]}``."""
    if not result:
        raise _invalid("Cannot convert empty RegressionResults to JSON")
    return _encode({"results": [_Number(write_decimal(value, True)) for value in result]})
