"""PAI-EAS's TensorFlow processor protocol: ``GET`` and ``POST /api/predict/NAME``.

What the handlers answer is based on:

- ``POST``: the ``eas-prediction`` SDK 0.36 (``predict_client.py``, ``tf_request.py``). The
  body is a binary ``PredictRequest`` (see :mod:`.eas_messages`); a 200 answer is a binary
  ``PredictResponse``, anything else is an error whose status and body text the SDK raises
  as ``PredictException(status, body)``, with the HTTP status TF Serving gives the error's
  code (the processor runs TensorFlow's serving code); the SDK retries a 5xx answer.
- The token: signed as the SDK signs it, or sent as it is (see :mod:`.eas_auth`); with a
  token set, anything else answers 401.
- ``GET``: EAS's documentation "Construct a request for a TensorFlow service" (the
  ``mnist_saved_model_example`` service): a JSON object with ``signature_name`` and, for
  ``inputs`` and ``outputs``, a list of ``{"name", "shape", "type"}`` with ``-1`` for an
  unknown dimension and TensorFlow's ``DT_*`` type names. It describes the signature a
  request without ``signature_name`` runs (``serving_default`` when the model has it). An
  unknown rank, which that page does not show, is written as ``"shape": null``.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.ioloop
import tornado.web

from ..savedmodel._schema import enum_names
from ..savedmodel.dtypes import dtype_name
from ..savedmodel.info import DEFAULT_SIGNATURE, Signature, TensorInfo
from ._bounded_body import BoundedBodyHandler
from .eas_auth import is_authorized
from .eas_messages import decode_request, encode_response
from .model import ModelRepository, ServingError
from .rest import HTTP_STATUS, MAX_BODY_BYTES

__all__ = [
    "EAS_PATH",
    "EasPredictHandler",
    "eas_handlers",
    "eas_signature_description",
]

EAS_PATH = r"/api/predict/([^/]+)"
"""The URL pattern of an EAS service; the group is the service (model) name."""

def eas_signature_description(signature: Signature) -> dict[str, Any]:
    """What ``GET /api/predict/NAME`` answers for ``signature`` (see the module docstring)."""
    return {
        "inputs": [_tensor_description(tensor) for tensor in signature.inputs],
        "outputs": [_tensor_description(tensor) for tensor in signature.outputs],
        "signature_name": signature.name,
    }


def _tensor_description(tensor: TensorInfo) -> dict[str, Any]:
    shape = None if tensor.shape is None else [-1 if d is None else d for d in tensor.shape]
    return {"name": tensor.alias, "shape": shape, "type": _type_name(tensor.dtype)}


def _type_name(dtype: str) -> str:
    numbers = {dtype_name(number): number for number in enum_names("DataType")}
    base = dtype.removesuffix("_ref")
    return enum_names("DataType")[numbers[base]] if base in numbers else dtype


class EasPredictHandler(BoundedBodyHandler):
    """``GET`` and ``POST /api/predict/NAME`` for the models of a repository.

    A body larger than :data:`~.rest.MAX_BODY_BYTES` is read without being kept and
    answered 413; the model runs on Tornado's thread pool, so the server keeps answering.
    """

    max_body_bytes = MAX_BODY_BYTES

    def initialize(self, repository: ModelRepository,  # type: ignore[override]
                   token: str | None = None) -> None:
        super().initialize()
        self.repository = repository
        self.token = token

    async def get(self, service: str) -> None:
        if not self._authorized(service):
            return
        try:
            description = self._description(service)
        except ServingError as error:
            self._answer(HTTP_STATUS.get(error.code, 500), error.message)
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(description))

    async def post(self, service: str) -> None:
        if self.too_large:
            self._answer(413, f"The request body ({self.body_size} bytes) is larger than the "
                              f"preview server's limit of {MAX_BODY_BYTES} bytes.")
            return
        if not self._authorized(service):
            return
        loop = tornado.ioloop.IOLoop.current()
        try:
            body = await loop.run_in_executor(None, self._predict, service, self.body)
        except ServingError as error:
            self._answer(HTTP_STATUS.get(error.code, 500), error.message)
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(body)

    def _description(self, service: str) -> dict[str, Any]:
        signatures = {s.name: s for s in self.repository.get(service).info.signatures}
        name = DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in signatures else min(signatures,
                                                                              default=None)
        if name is None:
            raise ServingError("NOT_FOUND", f"Model {service} has no signature.")
        return eas_signature_description(signatures[name])

    def _predict(self, service: str, body: bytes) -> bytes:
        model = self.repository.get(service)
        try:
            request = decode_request(body)
        except ValueError as error:
            raise ServingError("INVALID_ARGUMENT", str(error)) from None
        outputs = model.predict(request.signature_name or None, request.inputs,
                                request.output_filter)
        try:
            return encode_response(outputs)
        except ValueError as error:
            raise ServingError("INTERNAL", str(error)) from None

    def _authorized(self, service: str) -> bool:
        if is_authorized(self.request.headers, self.body, service, self.token):
            return True
        self._answer(401, "Authorization failed: send the service token as the EAS SDK "
                          "does (PredictClient.set_token) or as the Authorization header.")
        return False

    def _answer(self, status: int, text: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(text)


def eas_handlers(
    repository: ModelRepository, token: str | None = None
) -> list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]]:
    """The URL rules of the EAS protocol, for ``tornado.web.Application``."""
    return [(EAS_PATH, EasPredictHandler, {"repository": repository, "token": token})]
