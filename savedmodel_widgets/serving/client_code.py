"""Client code to copy: the request a serving client sends for a signature of an export.

Four protocols, each with the client people use: ``curl`` and Python ``requests`` for TF
Serving's REST API, the ``tensorflow-serving-api`` package's gRPC stub, and the
``eas-prediction`` SDK's ``TFRequest`` for PAI-EAS. The code names the signature, its
input aliases, and feeds arrays of the signature's dtypes and shapes: sample values
(:func:`sample_inputs`, which the code builds with the numpy expression of
:func:`sample_expression`) or any numpy expression the caller gives, such as the name of
an array in the notebook. The Python snippets leave ``outputs``, ``{output alias:
numpy array}``, and print it. Only the predict method is written.

Examples
--------
>>> info = read_saved_model("export/digits/1")                       # doctest: +SKIP
>>> print(client_code(info.signature(), "eas", model_name="digits",
...                   url="http://127.0.0.1:8501"))                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from .._codeformat import call, dict_code, statement, string_literal
from ..savedmodel.info import Signature, TensorInfo
from .eas_messages import EAS_DTYPES

__all__ = [
    "PROTOCOLS",
    "Protocol",
    "client_code",
    "sample_expression",
    "sample_inputs",
    "sample_shape",
]

Protocol = Literal["curl", "rest", "grpc", "eas"]
PROTOCOLS: tuple[Protocol, ...] = ("curl", "rest", "grpc", "eas")
"""``curl`` and ``rest`` (Python ``requests``) speak TF Serving REST, ``grpc`` its gRPC
API, ``eas`` the EAS TensorFlow processor's protocol."""

_TF_DTYPES = {"float32": "float32", "float64": "float64", "float16": "float16",
              "bfloat16": "bfloat16", "string": "string", "bool": "bool"}


def sample_shape(tensor: TensorInfo, batch_size: int = 1) -> tuple[int, ...]:
    """The shape of a sample for ``tensor``: unknown dimensions become ``batch_size``,
    an unknown rank a vector of ``batch_size``."""
    if tensor.shape is None:
        return (batch_size,)
    return tuple(batch_size if dim is None else dim for dim in tensor.shape)


def sample_inputs(signature: Signature, batch_size: int = 1) -> dict[str, np.ndarray]:
    """Sample values for every input of ``signature``, the ones the client code sends.

    Floats run evenly from 0 to 1, integers count 0..9 over and over, booleans
    alternate from ``True``, strings are ``"example"`` (a numpy str array).
    """
    return {tensor.alias: _sample(tensor, batch_size) for tensor in signature.inputs}


def _sample(tensor: TensorInfo, batch_size: int) -> np.ndarray:
    shape = sample_shape(tensor, batch_size)
    count = math.prod(shape)
    dtype = tensor.dtype.removesuffix("_ref")
    if dtype == "string":
        return np.array(["example"] * count).reshape(shape)
    if dtype == "bool":
        return (np.arange(count) % 2 == 0).reshape(shape)
    if dtype.startswith(("float", "bfloat", "complex")):
        return np.linspace(0.0, 1.0, num=count).astype(dtype).reshape(shape)
    return (np.arange(count) % 10).astype(dtype).reshape(shape)


def sample_expression(tensor: TensorInfo, batch_size: int = 1) -> str:
    """Numpy code (``np`` imported) that makes the same array as :func:`sample_inputs`."""
    shape = sample_shape(tensor, batch_size)
    count = math.prod(shape)
    dtype = tensor.dtype.removesuffix("_ref")
    if dtype == "string":
        return f'np.array(["example"] * {count}).reshape({shape})'
    if dtype == "bool":
        return f"(np.arange({count}) % 2 == 0).reshape({shape})"
    if dtype.startswith(("float", "bfloat", "complex")):
        return f'np.linspace(0.0, 1.0, num={count}).astype("{dtype}").reshape({shape})'
    return f'(np.arange({count}) % 10).astype("{dtype}").reshape({shape})'


def client_code(
    signature: Signature,
    protocol: Protocol,
    *,
    model_name: str,
    url: str,
    token: str | None = None,
    expressions: Mapping[str, str] | None = None,
    values: Mapping[str, np.ndarray] | None = None,
    output_filter: Sequence[str] = (),
) -> str:
    """The code a client runs to send ``signature`` a predict request.

    Parameters
    ----------
    signature : Signature
        The signature to call (from ``read_saved_model(...).signature(name)``).
    protocol : {"curl", "rest", "grpc", "eas"}
        See :data:`PROTOCOLS`.
    model_name : str
        The model (TF Serving) or service (EAS) name.
    url : str
        ``http://HOST:PORT`` of the REST or EAS server, or ``HOST:PORT`` of the gRPC one.
    token : str, optional
        The EAS service token (``eas`` only).
    expressions : mapping of str to str, optional
        ``{input alias: numpy expression}`` for the Python snippets, e.g. the name of an
        array in the notebook; inputs left out get :func:`sample_expression`.
    values : mapping of str to numpy.ndarray, optional
        ``{input alias: array}`` written into the ``curl`` command's JSON; inputs left out
        get :func:`sample_inputs`'s values.
    output_filter : sequence of str
        Output aliases to ask for (``grpc`` and ``eas``; TF Serving REST has no filter).

    Raises
    ------
    ValueError
        For an unknown protocol or input alias, or an input the EAS format cannot carry.
    """
    _check_aliases(signature, {**(expressions or {}), **(values or {})})
    if protocol == "curl":
        arrays = {**sample_inputs(signature), **(values or {})}
        return _curl(signature, model_name, url, arrays)
    writers = {"rest": _requests, "grpc": _grpc, "eas": _eas}
    if protocol not in writers:
        raise ValueError(f"Unknown protocol {protocol!r}; choose one of "
                         f"{', '.join(map(repr, PROTOCOLS))}.")
    given = expressions or {}
    inputs = [(t.alias, given.get(t.alias) or sample_expression(t)) for t in signature.inputs]
    lines = writers[protocol](signature, model_name, url, token, output_filter)
    body = [*statement(dict_code(inputs), target="inputs"), *lines[1], "print(outputs)"]
    return "\n".join([*lines[0], "", *body]) + "\n"


def _check_aliases(signature: Signature, given: Mapping[str, object]) -> None:
    unknown = sorted(set(given) - set(signature.input_aliases))
    if unknown:
        raise ValueError(f"Signature {signature.name!r} has no input {unknown[0]!r}; its inputs "
                         f"are {', '.join(map(repr, signature.input_aliases)) or 'none'}.")


def _json_value(value: np.ndarray) -> object:
    if value.dtype.kind in "SO":
        value = np.vectorize(_text, otypes=[object])(value)
    return value.tolist()


def _text(item: object) -> object:
    return item.decode("utf-8") if isinstance(item, bytes) else item


def _curl(signature: Signature, model_name: str, url: str,
          arrays: Mapping[str, np.ndarray]) -> str:
    body = {
        "signature_name": signature.name,
        "inputs": {alias: _json_value(np.asarray(arrays[alias]))
                   for alias in signature.input_aliases},
    }
    return (f"curl -sS -X POST {shlex.quote(_rest_url(url, model_name))} \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(json.dumps(body))}\n")


def _rest_url(url: str, model_name: str) -> str:
    return f"{url.rstrip('/')}/v1/models/{model_name}:predict"


def _requests(signature: Signature, model_name: str, url: str, token: str | None,
              output_filter: Sequence[str]) -> tuple[list[str], list[str]]:
    json_body = dict_code([
        ("signature_name", string_literal(signature.name)),
        ("inputs", "{alias: value.tolist() for alias, value in inputs.items()}"),
    ])
    post = call("requests.post", string_literal(_rest_url(url, model_name)), json=json_body,
                timeout="30")
    return (["import numpy as np", "import requests"], [
        *statement(post, target="response"),
        "response.raise_for_status()",
        *_rest_outputs(signature),
    ])


def _rest_outputs(signature: Signature) -> list[str]:
    """TF Serving's columnar answer: one output comes as its value, several as a dict."""
    if len(signature.outputs) == 1:
        alias = string_literal(signature.outputs[0].alias)
        return [f'outputs = {{{alias}: np.array(response.json()["outputs"])}}']
    return ['outputs = {alias: np.array(value) for alias, value in '
            'response.json()["outputs"].items()}']


def _tf_dtype(tensor: TensorInfo) -> str:
    dtype = tensor.dtype.removesuffix("_ref")
    return f"tf.{_TF_DTYPES.get(dtype, dtype)}"


def _grpc(signature: Signature, model_name: str, url: str, token: str | None,
          output_filter: Sequence[str]) -> tuple[list[str], list[str]]:
    body = [
        f"channel = grpc.insecure_channel({string_literal(url)})",
        "stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)",
        "request = predict_pb2.PredictRequest()",
        f"request.model_spec.name = {string_literal(model_name)}",
        f"request.model_spec.signature_name = {string_literal(signature.name)}",
    ]
    for tensor in signature.inputs:
        alias = string_literal(tensor.alias)
        make = call("tf.make_tensor_proto", f"inputs[{alias}]", dtype=_tf_dtype(tensor))
        body += statement(call(f"request.inputs[{alias}].CopyFrom", make))
    if output_filter:
        body.append(f"request.output_filter.extend({list(output_filter)!r})")
    body += [
        "response = stub.Predict(request, timeout=30.0)",
        "outputs = {alias: tf.make_ndarray(tensor) for alias, tensor in response.outputs.items()}",
    ]
    imports = ["import grpc", "import numpy as np", "import tensorflow as tf",
               "from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc"]
    return imports, body


def _eas(signature: Signature, model_name: str, url: str, token: str | None,
         output_filter: Sequence[str]) -> tuple[list[str], list[str]]:
    body = [f"client = PredictClient({string_literal(url)}, {string_literal(model_name)})"]
    if token:
        body.append(f"client.set_token({string_literal(token)})")
    body += ["client.init()", f"request = TFRequest({string_literal(signature.name)})"]
    for tensor in signature.inputs:
        dtype = tensor.dtype.removesuffix("_ref")
        if dtype not in EAS_DTYPES:
            raise ValueError(f"Input {tensor.alias!r} is {dtype}; the EAS TensorFlow processor "
                             f"takes only {', '.join(EAS_DTYPES)}.")
        alias = string_literal(tensor.alias)
        enum_name = f"DT_{_eas_enum(dtype)}"
        flat = f"inputs[{alias}].reshape(-1).tolist()"
        if dtype == "string":
            flat = f'np.char.encode(inputs[{alias}], "utf-8").reshape(-1).tolist()'
        body += statement(call("request.add_feed", alias, f"list(inputs[{alias}].shape)",
                               f"TFRequest.{enum_name}", flat))
    for alias in output_filter:
        body.append(f"request.add_fetch({string_literal(alias)})")
    names = list(output_filter) or list(signature.output_aliases)
    body += [
        "response = client.predict(request)",
        "outputs = {alias: np.reshape(response.get_values(alias), "
        "response.get_tensor_shape(alias))",
        f"           for alias in {json.dumps(names)}}}",
    ]
    return ["import numpy as np", "from eas_prediction import PredictClient, TFRequest"], body


def _eas_enum(dtype: str) -> str:
    return {"float32": "FLOAT", "float64": "DOUBLE"}.get(dtype, dtype.upper())

