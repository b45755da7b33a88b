"""TF Serving's gRPC API over a :class:`~.model.ModelRepository`.

``PredictionService`` (``Predict``, ``Classify``, ``Regress``,
``GetModelMetadata``) and ``ModelService.GetModelStatus``, built on the message
and service definitions of the ``tensorflow-serving-api`` package (installed
with ``pip install --no-deps tensorflow-serving-api``, so that it does not
replace the installed TensorFlow). A refused request ends with the status code
and message TF Serving gives it. Output tensors are written into the typed
fields (``float_val``, ``string_val``, ...), as TF Serving's default
``AsProtoField`` does.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

from .model import ModelRepository, ServedModel, ServingError
from .rest import MAX_BODY_BYTES

__all__ = ["GRPC_INSTALL_HINT", "GRPC_WORKERS", "grpc_available", "start_grpc_server",
           "tensor_proto"]

GRPC_INSTALL_HINT = ("pip install --no-deps tensorflow-serving-api (--no-deps keeps your "
                     "TensorFlow)")
"""How to get what the gRPC preview needs."""

GRPC_WORKERS = 4
"""Threads answering gRPC requests."""

_SIGNATURE_DEF_FIELD = "signature_def"
_TYPED_FIELDS = {
    "float32": "float_val", "float64": "double_val", "int32": "int_val", "int16": "int_val",
    "int8": "int_val", "uint8": "int_val", "uint16": "int_val", "int64": "int64_val",
    "bool": "bool_val", "uint32": "uint32_val", "uint64": "uint64_val",
}


def grpc_available() -> bool:
    """True when ``tensorflow-serving-api`` is installed, so a preview can answer gRPC (found
    without importing it, which would import TensorFlow)."""
    import importlib.util

    try:
        return importlib.util.find_spec("tensorflow_serving") is not None
    except (ImportError, ValueError):  # ValueError: hidden from this process's imports
        return False


def _apis() -> Any:
    """The ``tensorflow_serving.apis`` package, or an ImportError that says how to get it."""
    try:
        import tensorflow_serving.apis as apis
        from tensorflow_serving.apis import (  # noqa: F401  (loads the submodules)
            classification_pb2,
            get_model_metadata_pb2,
            get_model_status_pb2,
            model_service_pb2_grpc,
            predict_pb2,
            prediction_service_pb2_grpc,
            regression_pb2,
        )
    except ImportError as error:
        raise ImportError(
            "The gRPC preview needs the tensorflow-serving-api package: run `pip install "
            "--no-deps tensorflow-serving-api` (--no-deps keeps your TensorFlow), or serve "
            f"without grpc_port. ({error})") from error
    return apis


def tensor_proto(array: Any) -> Any:
    """A ``TensorProto`` of ``array`` with its values in the typed field, as TF Serving
    answers (``Tensor::AsProtoField``); dtypes without one use ``tensor_content``."""
    import numpy as np
    import tensorflow as tf

    array = np.asarray(array)
    if array.dtype == object or array.dtype.kind in "SU":
        proto = tf.make_tensor_proto(array.astype(object) if array.dtype.kind == "S" else array)
        return proto
    dtype = tf.as_dtype(array.dtype)
    field = _TYPED_FIELDS.get(dtype.name)
    if field is None:
        return tf.make_tensor_proto(array)
    proto = tf.make_tensor_proto([], dtype=dtype)
    proto.tensor_shape.CopyFrom(tf.TensorShape(array.shape).as_proto())
    getattr(proto, field).extend(array.reshape(-1).tolist())
    return proto


def _model_spec(apis: Any, request: Any, model: ServedModel, signature_name: str) -> Any:
    spec = apis.model_pb2.ModelSpec(name=request.model_spec.name,
                                    signature_name=signature_name)
    spec.version.value = model.version if model.version is not None else 1
    return spec


def _version(spec: Any) -> int | None:
    if spec.version_label:
        raise ServingError("INVALID_ARGUMENT",
                           f"Unrecognized servable version label: {spec.version_label}")
    return spec.version.value if spec.HasField("version") else None


def _examples(request_input: Any) -> list[bytes]:
    """Serialized examples of an ``Input``; a context is merged into every example."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        return [e.SerializeToString() for e in request_input.example_list.examples]
    if kind == "example_list_with_context":
        context = request_input.example_list_with_context.context
        serialized = []
        for example in request_input.example_list_with_context.examples:
            merged = type(context)()
            merged.CopyFrom(context)
            merged.MergeFrom(example)
            serialized.append(merged.SerializeToString())
        return serialized
    return []


class _Servicer:
    """The methods of both services; each turns :class:`ServingError` into a gRPC status."""

    def __init__(self, repository: ModelRepository) -> None:
        self.repository = repository
        self.apis = _apis()

    def _call(self, context: Any, answer: Any) -> Any:
        import grpc

        try:
            return answer()
        except ServingError as error:
            context.abort(grpc.StatusCode[error.code], error.message)
        except Exception as error:  # a bug of the preview server: answer it, keep serving
            context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")

    def Predict(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC's name)
        return self._call(context, lambda: self._predict(request))

    def _predict(self, request: Any) -> Any:
        import tensorflow as tf

        model = self.repository.get(request.model_spec.name, _version(request.model_spec))
        try:
            inputs = {alias: tf.make_ndarray(proto) for alias, proto in request.inputs.items()}
        except (TypeError, ValueError) as error:
            raise ServingError("INVALID_ARGUMENT", f"Malformed input tensor: {error}") from None
        signature_name = request.model_spec.signature_name or "serving_default"
        outputs = model.predict(signature_name, inputs, list(request.output_filter))
        response = self.apis.predict_pb2.PredictResponse(
            model_spec=_model_spec(self.apis, request, model, signature_name))
        for alias, value in outputs.items():
            response.outputs[alias].CopyFrom(tensor_proto(value))
        return response

    def Classify(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self._call(context, lambda: self._classify(request))

    def _on_examples(self, request: Any) -> tuple[ServedModel, list[bytes], Any]:
        """The model a classify or regress request names, its examples and the answer's spec."""
        model = self.repository.get(request.model_spec.name, _version(request.model_spec))
        spec = _model_spec(self.apis, request, model, request.model_spec.signature_name)
        return model, _examples(request.input), spec

    def _classify(self, request: Any) -> Any:
        model, examples, spec = self._on_examples(request)
        found = model.classify(request.model_spec.signature_name, examples)
        response = self.apis.classification_pb2.ClassificationResponse(model_spec=spec)
        for classes in found:
            added = response.result.classifications.add()
            for one in classes:
                added.classes.add(label=one.label.decode("utf-8", "replace"), score=one.score)
        return response

    def Regress(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self._call(context, lambda: self._regress(request))

    def _regress(self, request: Any) -> Any:
        model, examples, spec = self._on_examples(request)
        values = model.regress(request.model_spec.signature_name, examples)
        response = self.apis.regression_pb2.RegressionResponse(model_spec=spec)
        for value in values:
            response.result.regressions.add(value=value)
        return response

    def GetModelMetadata(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self._call(context, lambda: self._metadata(request))

    def _metadata(self, request: Any) -> Any:
        """TF Serving's ``GetModelMetadataImpl``: only the ``signature_def`` field."""
        if not request.metadata_field:
            raise ServingError("INVALID_ARGUMENT",
                               "GetModelMetadataRequest must specify at least one metadata_field")
        for field in request.metadata_field:
            if field != _SIGNATURE_DEF_FIELD:
                raise ServingError("INVALID_ARGUMENT", f"Metadata field {field} is not supported")
        model = self.repository.get(request.model_spec.name, _version(request.model_spec))
        metadata = self.apis.get_model_metadata_pb2
        signatures = metadata.SignatureDefMap()
        for name, signature in model.signature_defs.items():
            signatures.signature_def[name].CopyFrom(signature)
        response = metadata.GetModelMetadataResponse(
            model_spec=_model_spec(self.apis, request, model, ""))
        response.metadata[_SIGNATURE_DEF_FIELD].Pack(signatures)
        return response

    def GetModelStatus(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self._call(context, lambda: self._status(request))

    def _status(self, request: Any) -> Any:
        status = self.apis.get_model_status_pb2
        if not request.HasField("model_spec"):
            raise ServingError("INVALID_ARGUMENT", "Missing ModelSpec")
        versions = self.repository.status(request.model_spec.name, _version(request.model_spec))
        response = status.GetModelStatusResponse()
        for version in versions:
            response.model_version_status.add(version=version,
                                              state=status.ModelVersionStatus.AVAILABLE)
        return response


    def MultiInference(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self._unimplemented(context, "MultiInference")

    def HandleReloadConfigRequest(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self._unimplemented(context, "HandleReloadConfigRequest")

    @staticmethod
    def _unimplemented(context: Any, method: str) -> Any:
        import grpc

        context.abort(grpc.StatusCode.UNIMPLEMENTED,
                      f"The preview server does not implement {method}.")


def start_grpc_server(repository: ModelRepository, host: str, port: int) -> tuple[Any, int]:
    """Start TF Serving's gRPC services for ``repository`` on ``host:port`` (0: a free port).

    Returns
    -------
    server : grpc.Server
        The running server; ``server.stop(None)`` stops it.
    port : int
        The port it listens on.

    Raises
    ------
    ImportError
        Without the ``tensorflow-serving-api`` package (the message says how to install it).
    OSError
        When the port cannot be bound.
    """
    import grpc

    servicer = _Servicer(repository)
    apis = servicer.apis
    limit = [("grpc.max_receive_message_length", MAX_BODY_BYTES)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=GRPC_WORKERS), options=limit)
    apis.prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    apis.model_service_pb2_grpc.add_ModelServiceServicer_to_server(servicer, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as error:
        raise OSError(f"Cannot listen for gRPC on {host}:{port}: {error}") from error
    if not bound:
        raise OSError(f"Cannot listen for gRPC on {host}:{port}: the port is taken.")
    server.start()
    return server, bound
