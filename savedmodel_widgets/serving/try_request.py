"""Send one predict request to the preview server by a chosen protocol, and time it.

The backend of the widgets' *Try it* tab: :func:`try_request` sends the request the
protocol's client would send (TF Serving REST's columnar JSON, TF Serving gRPC's
``PredictRequest`` through ``tensorflow-serving-api``'s stub, EAS's binary
``PredictRequest`` signed as the ``eas-prediction`` SDK signs it) and returns the answer,
the time it took and the client code that sends the same request. An error answer is a
result too: the user came to see what the server says.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..savedmodel.info import Signature
from .client_code import Protocol as ClientProtocol
from .client_code import client_code
from .eas_auth import signed_headers
from .eas_messages import decode_response, encode_request
from .grpc_service import GRPC_INSTALL_HINT

__all__ = [
    "ServerEndpoints",
    "TryResult",
    "try_request",
]

TIMEOUT_SECONDS = 60.0
"""How long a request may take before it counts as failed."""


class ServerEndpoints(Protocol):
    """Where a preview server answers (what :func:`~savedmodel_widgets.serve` returns)."""

    @property
    def model_name(self) -> str: ...

    @property
    def rest_url(self) -> str: ...

    @property
    def grpc_target(self) -> str | None: ...

    @property
    def eas_url(self) -> str: ...


@dataclass(frozen=True)
class TryResult:
    """What one request got back.

    Attributes
    ----------
    protocol : str
        ``rest``, ``grpc`` or ``eas``.
    outputs : dict of str to numpy.ndarray
        ``{output alias: array}``; empty when the server answered with an error.
    seconds : float
        From sending the request to having the whole answer decoded.
    code : str
        Client code that sends the same request (inputs written as given in
        ``expressions``, else as sample values).
    error : str
        The server's error answer (with the HTTP status or gRPC code), or why the
        request could not be sent; empty when it succeeded.
    """

    protocol: str
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    code: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether the server answered with outputs."""
        return not self.error


def try_request(
    server: ServerEndpoints,
    signature: Signature,
    protocol: ClientProtocol,
    inputs: Mapping[str, Any],
    *,
    expressions: Mapping[str, str] | None = None,
    output_filter: Sequence[str] = (),
    token: str | None = None,
) -> TryResult:
    """Send ``inputs`` to ``signature`` of the served model and return the answer.

    Parameters
    ----------
    server : ServerEndpoints
        The running preview server.
    signature : Signature
        The signature to call.
    protocol : {"rest", "grpc", "eas"}
        The protocol to send by (``curl`` is answered as ``rest``).
    inputs : mapping of str to array-like
        ``{input alias: value}``.
    expressions : mapping of str to str, optional
        How the client code writes each input (e.g. a notebook variable's name).
    output_filter : sequence of str
        Output aliases to ask for (gRPC and EAS).
    token : str, optional
        The EAS token the server was started with.

    Returns
    -------
    TryResult
    """
    arrays = {alias: np.asarray(value) for alias, value in inputs.items()}
    try:
        url = _url(server, protocol)
    except ValueError as error:  # a protocol this server does not answer
        return TryResult(protocol, {}, 0.0, "", str(error))
    code = client_code(signature, protocol, model_name=server.model_name, url=url,
                       token=token, expressions=expressions, values=arrays,
                       output_filter=output_filter)
    senders = {"curl": _send_rest, "rest": _send_rest, "grpc": _send_grpc, "eas": _send_eas}
    started = time.perf_counter()
    try:
        outputs = senders[protocol](url, server.model_name, signature, arrays, output_filter,
                                    token)
    except _RequestFailed as error:
        return TryResult(protocol, {}, time.perf_counter() - started, code, str(error))
    except ValueError as error:  # an input the protocol cannot carry
        return TryResult(protocol, {}, 0.0, code, str(error))
    except OSError as error:
        return TryResult(protocol, {}, time.perf_counter() - started, code,
                         f"The request could not be sent: {error}")
    return TryResult(protocol, outputs, time.perf_counter() - started, code)


class _RequestFailed(Exception):
    """No outputs: the server's error answer, or why the request could not be sent."""


def _url(server: ServerEndpoints, protocol: str) -> str:
    if protocol == "grpc":
        if not server.grpc_target:
            raise ValueError("This server was started without gRPC: start it with "
                             "grpc_port=0 (the gRPC preview needs tensorflow-serving-api: "
                             f"{GRPC_INSTALL_HINT}).")
        return server.grpc_target
    if protocol == "eas":
        return server.eas_url.split("/api/predict/")[0]
    return server.rest_url


def _post(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        with error:  # the error holds the answer's open connection
            text = error.read().decode("utf-8", "replace")
        raise _RequestFailed(f"HTTP {error.code}: {text}") from None


def _send_rest(url: str, model_name: str, signature: Signature,
               arrays: Mapping[str, np.ndarray], output_filter: Sequence[str],
               token: str | None) -> dict[str, np.ndarray]:
    body = {"signature_name": signature.name,
            "inputs": {alias: _json_value(value) for alias, value in arrays.items()}}
    answer = json.loads(_post(f"{url.rstrip('/')}/v1/models/{model_name}:predict",
                              json.dumps(body).encode(), {"Content-Type": "application/json"}))
    outputs = answer["outputs"]
    if not isinstance(outputs, dict) or len(signature.outputs) == 1:
        outputs = {signature.outputs[0].alias: outputs}
    return {alias: np.array(_from_json(value)) for alias, value in outputs.items()}


def _json_value(value: np.ndarray) -> Any:
    if value.dtype.kind == "S" or value.dtype.kind == "O":
        flat = [{"b64": base64.b64encode(item).decode()} if isinstance(item, bytes) else item
                for item in value.reshape(-1).tolist()]
        return np.array(flat, dtype=object).reshape(value.shape).tolist()
    return value.tolist()


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    return value


def _send_eas(url: str, model_name: str, signature: Signature,
              arrays: Mapping[str, np.ndarray], output_filter: Sequence[str],
              token: str | None) -> dict[str, np.ndarray]:
    body = encode_request(arrays, signature.name, output_filter)
    headers = {"Content-Type": "application/octet-stream"}
    if token:
        headers.update(signed_headers(body, token, model_name, headers["Content-Type"]))
    return decode_response(_post(f"{url.rstrip('/')}/api/predict/{model_name}", body, headers))


def _send_grpc(url: str, model_name: str, signature: Signature,
               arrays: Mapping[str, np.ndarray], output_filter: Sequence[str],
               token: str | None) -> dict[str, np.ndarray]:
    import grpc
    import tensorflow as tf

    try:
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError:
        raise _RequestFailed("Sending by gRPC needs tensorflow-serving-api: pip install "
                           "--no-deps tensorflow-serving-api (--no-deps keeps your "
                           "TensorFlow).") from None

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature.name
    dtypes = {tensor.alias: tensor.dtype.removesuffix("_ref") for tensor in signature.inputs}
    for alias, value in arrays.items():
        request.inputs[alias].CopyFrom(tf.make_tensor_proto(value, dtype=dtypes.get(alias)))
    request.output_filter.extend(output_filter)
    with grpc.insecure_channel(url) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            raise _RequestFailed(f"{error.code().name}: {error.details()}") from None
    return {alias: tf.make_ndarray(tensor) for alias, tensor in response.outputs.items()}
