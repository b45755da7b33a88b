"""TF Serving's REST API over a :class:`~.model.ModelRepository`, as Tornado handlers.

The routes, methods and error answers of TF Serving's
``model_servers/http_rest_api_handler.cc`` and ``http_rest_api_util.cc``
(github.com/tensorflow/serving): one handler takes every ``/v1/...`` path and
matches it with TF Serving's own two regular expressions; a request that does
not match is "Malformed request". Every error is answered ``{"error": message}``
with the HTTP status TF Serving's ``ToHTTPStatusCode`` gives its status code.
"""

from __future__ import annotations

import json
import re
from typing import Any

import tornado.ioloop
import tornado.web

from ._bounded_body import BoundedBodyHandler
from .json_tensor import (
    classify_answer,
    examples_from_json,
    parse_json,
    predict_answer,
    predict_inputs_from_json,
    regress_answer,
    signature_name_of,
)
from .model import ModelRepository, ServedModel, ServingError

__all__ = [
    "HTTP_STATUS",
    "MAX_BODY_BYTES",
    "TFServingRestHandler",
    "metadata_json",
    "status_json",
]

MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest request body the preview server answers (64 MiB)."""

MAX_STREAM_BYTES = 1024 * 1024 * 1024
"""The largest body the HTTP server reads to its end to answer 413 (1 GiB); beyond it
Tornado closes the connection with a bare 400."""

HTTP_STATUS = {
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504, "NOT_FOUND": 404, "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403, "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400,
    "ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501, "INTERNAL": 500,
    "UNAVAILABLE": 503, "DATA_LOSS": 500, "UNAUTHENTICATED": 401,
}
"""TF Serving's ``ToHTTPStatusCode`` (``model_servers/http_server.cc``)."""

_PREDICTION_PATH = re.compile(
    r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
    r":(classify|regress|predict)")
_STATUS_PATH = re.compile(
    r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
    r"(?:\/(metadata))?")
_INT64_MAX = 2**63 - 1


class TFServingRestHandler(BoundedBodyHandler):
    """Every ``/v1/...`` request: model status, metadata, predict, classify, regress.

    A body larger than :data:`MAX_BODY_BYTES` is read to its end without being
    kept, then refused with an error answer (HTTP 413).
    """

    repository: ModelRepository
    max_body_bytes = MAX_BODY_BYTES

    def initialize(self, repository: ModelRepository) -> None:  # type: ignore[override]
        super().initialize()
        self.repository = repository

    def prepare(self) -> None:
        self.set_header("Content-Type", "application/json")

    async def get(self) -> None:
        await self._answer("GET")

    async def post(self) -> None:
        await self._answer("POST")

    async def put(self) -> None:
        await self._answer("PUT")  # "Malformed request", as TF Serving answers

    async def delete(self) -> None:
        await self._answer("DELETE")

    async def _answer(self, method: str) -> None:
        if self.too_large:
            self.set_status(413)
            self.finish(json.dumps({"error": f"The request body ({self.body_size} bytes) is "
                                    f"larger than the preview server's limit of {MAX_BODY_BYTES} "
                                    "bytes."}))
            return
        body = self.body
        try:
            loop = tornado.ioloop.IOLoop.current()
            text = await loop.run_in_executor(None, self._process, method, self.request.path,
                                              body)
        except ServingError as error:
            self.set_status(HTTP_STATUS.get(error.code, 500))
            text = json.dumps({"error": error.message})
        except Exception as error:  # a bug of the preview server: answer it, keep serving
            self.set_status(500)
            text = json.dumps({"error": f"{type(error).__name__}: {error}"})
        self.finish(text)

    def _process(self, method: str, path: str, body: bytes) -> str:
        """TF Serving's ``HttpRestApiHandler::ProcessRequest``."""
        from urllib.parse import unquote

        pattern = {"POST": _PREDICTION_PATH, "GET": _STATUS_PATH}.get(method)
        match = pattern.fullmatch(path) if pattern is not None else None
        if match is None:
            raise ServingError("INVALID_ARGUMENT", f"Malformed request: {method} {path}")
        name, version_text, label, action = match.groups()
        name = unquote(name or "")
        version = _version(version_text)
        if label:
            raise ServingError("INVALID_ARGUMENT",
                               f"Unrecognized servable version label: {unquote(label)}")
        if method == "GET":
            if not name:
                raise ServingError("INVALID_ARGUMENT", "Missing model name in request.")
            if action == "metadata":
                return metadata_json(self.repository.get(name, version))
            return status_json(self.repository.status(name, version))
        # TF Serving reads the body before it looks the model up: a malformed body is
        # answered as such whatever the model name.
        document = parse_json(body)
        signature_name = signature_name_of(document)
        if action == "predict":
            return _predict(self.repository.get(name, version), signature_name, document)
        examples = examples_from_json(document)
        model = self.repository.get(name, version)
        if action == "classify":
            return classify_answer(model.classify(signature_name, examples))
        return regress_answer(model.regress(signature_name, examples))


def _version(text: str | None) -> int | None:
    if not text:
        return None
    number = int(text)
    if number > _INT64_MAX:
        raise ServingError("INVALID_ARGUMENT", f"Failed to convert version: {text} to numeric.")
    return number


def _predict(model: ServedModel, signature_name: str, document: dict[str, Any]) -> str:
    """``ProcessPredictRequest``: the signature's inputs decide how the JSON is read."""
    key = signature_name or "serving_default"
    signature = model.signature_defs.get(key)
    if signature is None:
        raise ServingError("INVALID_ARGUMENT",
                           f'Serving signature name: "{key}" not found in signature def')
    if not signature.inputs:
        raise ServingError("INVALID_ARGUMENT",
                           f"Failed to get input map for signature: {signature_name or 'DEFAULT'}")
    dtypes = {alias: info.dtype for alias, info in signature.inputs.items()}
    inputs, layout = predict_inputs_from_json(document, dtypes)
    return predict_answer(model.predict(signature_name, inputs), layout)


def status_json(versions: list[int]) -> str:
    """``GetModelStatusResponse`` as TF Serving writes it: every version AVAILABLE."""
    return json.dumps({"model_version_status": [
        {"version": str(version), "state": "AVAILABLE",
         "status": {"error_code": "OK", "error_message": ""}}
        for version in versions]}, indent=1)


def metadata_json(model: ServedModel) -> str:
    """``GetModelMetadataResponse`` as TF Serving's REST API writes it."""
    from google.protobuf import json_format

    version = model.version if model.version is not None else 1
    signatures = {
        name: json_format.MessageToDict(signature, preserving_proto_field_name=True,
                                        always_print_fields_with_no_presence=True)
        for name, signature in model.signature_defs.items()
    }
    return json.dumps({
        "model_spec": {"name": model.name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": {"signature_def": signatures}},
    }, indent=1)
