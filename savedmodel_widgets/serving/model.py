"""The models a preview server answers with: each version loaded the way TF Serving loads it.

:class:`ServedModel` is one SavedModel version in a graph session (the meta graph
tagged exactly ``serve``, variables restored, main op run: see
:mod:`savedmodel_widgets._serve_loader`); it runs a signature from its
``signature_def`` by tensor name, and refuses a bad request with the status code
and the words TF Serving uses (:class:`ServingError`). :class:`ModelRepository`
maps a model name to its versions, as TF Serving's model config does for one
base path. The protocol modules (:mod:`.rest`, :mod:`.grpc_service`, EAS) turn
requests into calls of these.

TensorFlow is imported inside the functions that need it: the server process
has it, ``import savedmodel_widgets.serving`` does not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._serve_loader import SERVE_TAGS, error_message, load_for_serving
from ..savedmodel.info import DEFAULT_SIGNATURE, SavedModelInfo
from ..savedmodel.layout import locate
from ..savedmodel.reader import read_saved_model
from ..sources.framework_internals import run_session_unchecked

__all__ = [
    "CLASSIFY_METHOD",
    "Classification",
    "ModelRepository",
    "PREDICT_METHOD",
    "REGRESS_METHOD",
    "ServedModel",
    "ServingError",
]

PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"

_CLASSIFY_INPUTS = "inputs"
_CLASSIFY_CLASSES = "classes"
_CLASSIFY_SCORES = "scores"
_REGRESS_INPUTS = "inputs"
_REGRESS_OUTPUTS = "outputs"

# TensorFlow's error_codes.proto numbers, as gRPC status code names.
_CODE_NAMES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


class ServingError(Exception):
    """A request the server refuses, with TF Serving's status code and message.

    Parameters
    ----------
    code : str
        A gRPC status code name: ``"INVALID_ARGUMENT"``, ``"NOT_FOUND"``,
        ``"FAILED_PRECONDITION"``, ``"UNAVAILABLE"``, ``"INTERNAL"``, ...
    message : str
        What TF Serving says for the same request.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ServingError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class Classification:
    """One class of one example in a classify answer: ``label`` is empty (``b""``)
    when the signature has no ``classes`` output, ``score`` 0 when it has no ``scores``."""

    label: bytes
    score: float


def _join(names: Any) -> str:
    return ",".join(sorted(names))


class ServedModel:
    """One SavedModel version, loaded as TF Serving loads it, answering requests.

    Parameters
    ----------
    name : str
        The model name clients send.
    version : int or None
        The version directory's number; None for a SavedModel directory that is
        not under a versioned parent.
    path : str
        The SavedModel directory.
    tags : sequence of str
        The meta graph's tags (TF Serving's default: ``serve``).

    Attributes
    ----------
    info : SavedModelInfo
        The SavedModel as :func:`~savedmodel_widgets.read_saved_model` reads it.
    session, meta_graph_def
        The graph session and the meta graph it loaded.

    Raises
    ------
    ServingError
        ``FAILED_PRECONDITION`` with TensorFlow's own load error when the model
        cannot be loaded (no meta graph with these tags, a missing variable
        shard, an op this TensorFlow does not know).
    """

    def __init__(self, name: str, version: int | None, path: str,
                 tags: Sequence[str] = SERVE_TAGS) -> None:
        self.name = name
        self.version = version
        self.path = path
        self.info: SavedModelInfo = read_saved_model(path)
        try:
            self.session, self.meta_graph_def = load_for_serving(path, tags)
        except Exception as error:  # TensorFlow's load error, whatever its type
            raise ServingError(
                "FAILED_PRECONDITION", f"Loading servable {name} version {version} from "
                f"{path} failed: {error_message(error)}"
            ) from error
        self._callables: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Any] = {}
        self._lock = threading.Lock()

    @property
    def signature_defs(self) -> Mapping[str, Any]:
        """``{signature key: SignatureDef proto}`` of the loaded meta graph."""
        return self.meta_graph_def.signature_def

    def close(self) -> None:
        """Close the session; the model answers no more requests."""
        self.session.close()

    # predict ------------------------------------------------------------------------

    def predict(self, signature_name: str | None, inputs: Mapping[str, Any],
                output_filter: Sequence[str] = ()) -> dict[str, Any]:
        """Run a signature as TF Serving's ``Predict`` does.

        Parameters
        ----------
        signature_name : str or None
            The signature key; None or ``""`` means ``serving_default``.
        inputs : mapping of str to numpy.ndarray
            ``{input alias: array}``, one for every input of the signature. An
            array's dtype must be the signature's (TF Serving refuses a tensor of
            another dtype with TensorFlow's "Expects arg[i] to be float but double
            is provided"); strings may come as ``bytes``/``str`` object arrays.
        output_filter : sequence of str
            The output aliases to fetch; all outputs when empty.

        Returns
        -------
        dict of str to numpy.ndarray
            ``{output alias: array}``; string outputs are object arrays of bytes.

        Raises
        ------
        ServingError
            ``FAILED_PRECONDITION`` for an unknown signature, ``INVALID_ARGUMENT``
            for missing or extra inputs, an unknown output alias, a wrong dtype or
            a shape the graph cannot take (TensorFlow's own message then).
        """
        signature_name = signature_name or DEFAULT_SIGNATURE
        signature = self._predict_signature(signature_name)
        _check_input_names(signature, inputs)
        aliases = self._output_aliases(signature, output_filter)
        input_aliases = tuple(sorted(inputs))
        feeds = [_as_feed(inputs[alias]) for alias in input_aliases]
        run = self._callable(signature_name, input_aliases, aliases)
        return dict(zip(aliases, run(*feeds), strict=True))

    def _predict_signature(self, signature_name: str) -> Any:
        signature = self.signature_defs.get(signature_name)
        if signature is None:
            raise ServingError("FAILED_PRECONDITION",
                               f'Serving signature key "{signature_name}" not found.')
        if signature.method_name not in (PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD):
            raise ServingError(
                "INTERNAL", "Expected prediction signature method_name to be one of "
                f"{{{PREDICT_METHOD}, {CLASSIFY_METHOD}, {REGRESS_METHOD}}}. Was: "
                f"{signature.method_name}")
        return signature

    @staticmethod
    def _output_aliases(signature: Any, output_filter: Sequence[str]) -> tuple[str, ...]:
        seen: list[str] = []
        for alias in output_filter:
            if alias not in signature.outputs:
                raise ServingError(
                    "INVALID_ARGUMENT", f"output tensor alias not found in signature: {alias} "
                    f"Outputs expected to be in the set {{{_join(signature.outputs)}}}.")
            if alias in seen:
                raise ServingError("INVALID_ARGUMENT", f"duplicate output tensor alias: {alias}")
            seen.append(alias)
        return tuple(seen) if seen else tuple(sorted(signature.outputs))

    def _callable(self, signature_name: str, input_aliases: tuple[str, ...],
                  output_aliases: tuple[str, ...]) -> Any:
        """A function of the input values that feeds ``input_aliases`` and returns the
        values of ``output_aliases``.

        It runs the session as TF Serving's C++ ``Session::Run`` does, without
        the Python checks of ``Session.run``, so a wrong dtype or shape gets
        TensorFlow's own message and a shape the graph accepts is accepted.
        """
        key = (signature_name, input_aliases, output_aliases)
        with self._lock:
            run = self._callables.get(key)
            if run is None:
                run = self._make_callable(self.signature_defs[signature_name], input_aliases,
                                          output_aliases)
                self._callables[key] = run
        return run

    def _make_callable(self, signature: Any, input_aliases: tuple[str, ...],
                       output_aliases: tuple[str, ...]) -> Any:
        import tensorflow as tf

        graph = self.session.graph
        feeds = [graph.get_tensor_by_name(_dense_name(signature.inputs[alias], alias))
                 for alias in input_aliases]
        fetches = [graph.get_tensor_by_name(_dense_name(signature.outputs[alias], alias))
                   for alias in output_aliases]

        def run(*values: Any) -> list[Any]:
            try:
                fed = list(zip(feeds, values, strict=True))
                return run_session_unchecked(self.session, fed, fetches)
            except tf.errors.OpError as error:
                raise ServingError(_CODE_NAMES.get(error.error_code, "UNKNOWN"),
                                   _op_error_message(error)) from error

        return run

    # classify and regress ------------------------------------------------------------

    def classify(self, signature_name: str | None,
                 examples: Sequence[bytes]) -> list[list[Classification]]:
        """Run a classify signature on serialized ``tf.Example`` protos, as TF Serving does.

        Parameters
        ----------
        signature_name : str or None
            The signature key; None or ``""`` means ``serving_default``.
        examples : sequence of bytes
            Serialized ``tf.train.Example`` protos, one per example.

        Returns
        -------
        list of list of Classification
            For each example, its classes (label and score) in the signature's order.

        Raises
        ------
        ServingError
            ``INVALID_ARGUMENT`` with TF Serving's message for an unknown
            signature, a signature of another method or layout, no examples, or
            outputs of the wrong shape or dtype.
        """
        signature, name = self._method_signature(signature_name, CLASSIFY_METHOD,
                                                 "classification")
        if len(signature.outputs) not in (1, 2):
            raise ServingError("INVALID_ARGUMENT", "Expected one or two output Tensors, "
                               f"found {len(signature.outputs)}")
        if _CLASSIFY_INPUTS not in signature.inputs:
            raise ServingError("INVALID_ARGUMENT",
                               f"No classification inputs found in SignatureDef: {signature}")
        wanted = tuple(a for a in (_CLASSIFY_CLASSES, _CLASSIFY_SCORES) if a in signature.outputs)
        if not wanted:
            raise ServingError(
                "INVALID_ARGUMENT", "Expected classification signature outputs to contain at "
                f'least one of "{_CLASSIFY_CLASSES}" or "{_CLASSIFY_SCORES}". Signature was: '
                f"{signature}")
        found = self._run_on_examples(name, _CLASSIFY_INPUTS, wanted, examples)
        return _classifications(found.get(_CLASSIFY_CLASSES), found.get(_CLASSIFY_SCORES),
                                len(examples))

    def regress(self, signature_name: str | None, examples: Sequence[bytes]) -> list[float]:
        """Run a regress signature on serialized ``tf.Example`` protos, as TF Serving does.

        The parameters and errors are those of :meth:`classify`; the answer is
        one regression value per example.
        """
        signature, name = self._method_signature(signature_name, REGRESS_METHOD, "regression")
        if len(signature.outputs) != 1:
            raise ServingError("INVALID_ARGUMENT", "Expected one output Tensor.")
        for alias, what in ((_REGRESS_INPUTS, signature.inputs),
                            (_REGRESS_OUTPUTS, signature.outputs)):
            if alias not in what:
                kind = "inputs" if alias == _REGRESS_INPUTS else "outputs"
                raise ServingError("INVALID_ARGUMENT",
                                   f"No regression {kind} found in SignatureDef: {signature}")
        values = self._run_on_examples(name, _REGRESS_INPUTS, (_REGRESS_OUTPUTS,),
                                       examples)[_REGRESS_OUTPUTS]
        return _regressions(values, len(examples))

    def _method_signature(self, signature_name: str | None, method: str,
                          what: str) -> tuple[Any, str]:
        name = signature_name or DEFAULT_SIGNATURE
        signature = self.signature_defs.get(name)
        if signature is None:
            raise ServingError("INVALID_ARGUMENT", f"No signature was found with the name: {name}")
        if signature.method_name != method:
            raise ServingError("INVALID_ARGUMENT", f"Expected {what} signature method_name to "
                               f"be {method}. Was: {signature.method_name}")
        if len(signature.inputs) != 1:
            raise ServingError("INVALID_ARGUMENT", "Expected one input Tensor.")
        return signature, name

    def _run_on_examples(self, signature_name: str, input_alias: str,
                         output_aliases: tuple[str, ...],
                         examples: Sequence[bytes]) -> dict[str, Any]:
        import numpy as np

        if not examples:
            raise ServingError("INVALID_ARGUMENT", "Input is empty.")
        run = self._callable(signature_name, (input_alias,), output_aliases)
        values = run(np.array(list(examples), dtype=object))
        return dict(zip(output_aliases, values, strict=True))


def _dense_name(info: Any, alias: str) -> str:
    if info.WhichOneof("encoding") != "name":
        raise ServingError("UNIMPLEMENTED", f"The signature's tensor {alias!r} is sparse or "
                           "composite; the preview server feeds and fetches dense tensors only.")
    return str(info.name)


def _check_input_names(signature: Any, inputs: Mapping[str, Any]) -> None:
    """TF Serving's ``VerifyRequestInputsSize``, extended to names: every input, no other."""
    sent, expected = set(inputs), set(signature.inputs)
    if sent == expected:
        return
    if len(sent) < len(expected) and signature.defaults and sent < expected:
        return
    raise ServingError(
        "INVALID_ARGUMENT",
        f"input size does not match signature: {len(sent)}!={len(expected)} "
        f"len({{{_join(sent)}}}) != len({{{_join(expected)}}}). Sent extra: "
        f"{{{_join(sent - expected)}}}. Missing but required: {{{_join(expected - sent)}}}.")


def _as_feed(value: Any) -> Any:
    """``value`` as an array for the session; ``str`` values become UTF-8 bytes, as a
    TensorProto carries them. Nothing else is converted: TensorFlow refuses a dtype
    that is not the signature's, as it does in TF Serving."""
    import numpy as np

    array = np.asarray(value)
    if array.dtype.kind == "U":
        return np.vectorize(lambda text: text.encode("utf-8"), otypes=[object])(array)
    return array


def _op_error_message(error: Any) -> str:
    """TensorFlow's message without what a graph session wraps around it."""
    return error_message(error).partition(": ")[2]


def _classifications(classes: Any, scores: Any, count: int) -> list[list[Classification]]:
    """TF Serving's ``PostProcessClassificationResult``: validate, then label/score pairs."""
    import numpy as np

    for alias, tensor, kind in ((_CLASSIFY_CLASSES, classes, "O"),
                                (_CLASSIFY_SCORES, scores, "f")):
        if tensor is None:
            continue
        if tensor.ndim != 2:
            raise ServingError("INVALID_ARGUMENT", "Expected Tensor shape: [batch_size "
                               f"num_classes] but got {_shape_text(tensor.shape)}")
        if kind == "O" and tensor.dtype != object:
            raise ServingError("INVALID_ARGUMENT", "Expected classes Tensor of DT_STRING. "
                               f"Got: {_dtype_name(tensor.dtype)}")
        if kind == "f" and tensor.dtype != np.float32:
            raise ServingError("INVALID_ARGUMENT", "Expected scores Tensor of DT_FLOAT. "
                               f"Got: {_dtype_name(tensor.dtype)}")
        if tensor.shape[0] != count:
            raise ServingError("INVALID_ARGUMENT", f"Expected {alias} output batch size of "
                               f"{count}. Got: {tensor.shape[0]}")
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise ServingError("INVALID_ARGUMENT", "Tensors class and score should match in "
                           f"dim_size(1). Got {classes.shape[1]} vs. {scores.shape[1]}")
    width = (classes if classes is not None else scores).shape[1]
    return [[Classification(bytes(classes[i, c]) if classes is not None else b"",
                            float(scores[i, c]) if scores is not None else 0.0)
             for c in range(width)] for i in range(count)]


def _regressions(values: Any, count: int) -> list[float]:
    """TF Serving's ``PostProcessRegressionResult``: validate, then one value per example."""
    import numpy as np

    if not (values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)):
        raise ServingError("INVALID_ARGUMENT", "Expected output Tensor shape to be either "
                           f"[batch_size] or [batch_size, 1] but got {_shape_text(values.shape)}")
    if values.shape[0] != count:
        raise ServingError("INVALID_ARGUMENT", "Input batch size did not match output batch "
                           f"size: {count} vs. {values.shape[0]}")
    if values.dtype != np.float32:
        raise ServingError("INVALID_ARGUMENT", "Expected output Tensor of DT_FLOAT.  Got: "
                           f"{_dtype_name(values.dtype)}")
    return [float(value) for value in values.reshape(-1)]


def _shape_text(shape: Sequence[int]) -> str:
    """TensorFlow's ``TensorShape::DebugString``: ``[2,3]``."""
    return "[" + ",".join(str(size) for size in shape) + "]"


def _dtype_name(dtype: Any) -> str:
    """The ``DataType`` enum name of a numpy dtype: ``DT_INT64``."""
    import tensorflow as tf

    return f"DT_{tf.as_dtype(dtype).name.upper()}"


class ModelRepository:
    """Model name -> its loaded versions, as TF Serving serves one base path.

    Parameters
    ----------
    path : str or os.PathLike
        A SavedModel directory, or a parent of numeric version directories
        (TF Serving's layout): every version is loaded and the highest answers
        a request that names none.
    model_name : str, optional
        The name clients send; by default the versioned parent's directory name
        (or the SavedModel directory's, when it is not under one).
    tags : sequence of str
        The meta graph's tags.

    Raises
    ------
    SavedModelError
        When the path holds no SavedModel (the message says what it holds).
    ServingError
        ``FAILED_PRECONDITION`` when a version cannot be loaded.
    """

    def __init__(self, path: str | os.PathLike[str], model_name: str | None = None,
                 tags: Sequence[str] = SERVE_TAGS) -> None:
        location = locate(path)
        if location.version is None:
            versions: dict[int | None, str] = {None: location.path}
            base = location.path
        elif os.path.abspath(os.fspath(path)) == location.path:  # a version directory itself
            versions = {location.version: location.path}
            base = location.base_path
        else:
            base = location.base_path
            numbers = sorted((location.version, *location.other_versions))
            versions = {number: os.path.join(base, str(number)) for number in numbers}
        self.model_name = model_name or os.path.basename(base.rstrip(os.sep))
        self.base_path = base
        self._models: dict[int | None, ServedModel] = {}
        try:
            for number, version_path in versions.items():
                self._models[number] = ServedModel(self.model_name, number, version_path, tags)
        except BaseException:
            self.close()
            raise

    @property
    def versions(self) -> tuple[int | None, ...]:
        """The loaded versions, lowest first (``(None,)`` for an unversioned directory)."""
        return tuple(self._models)

    def get(self, name: str, version: int | None = None) -> ServedModel:
        """The model ``name`` at ``version`` (the highest when None).

        Raises
        ------
        ServingError
            ``NOT_FOUND`` with TF Serving's "Servable not found for request" message.
        """
        if name != self.model_name:
            request = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise ServingError("NOT_FOUND", f"Servable not found for request: {request}")
        if version is None:
            return self._models[self.versions[-1]]
        model = self._models.get(version)
        if model is None and self.versions == (None,) and version == 1:
            model = self._models[None]  # an unversioned directory answers as version 1
        if model is None:
            raise ServingError("NOT_FOUND",
                               f"Servable not found for request: Specific({name}, {version})")
        return model

    def status(self, name: str, version: int | None = None) -> list[int]:
        """The version numbers ``GetModelStatus`` reports as available, highest first.

        An unversioned directory reports version 1.

        Raises
        ------
        ServingError
            ``NOT_FOUND`` with TF Serving's messages.
        """
        numbers = sorted((v if v is not None else 1 for v in self.versions), reverse=True)
        if name != self.model_name:
            raise ServingError("NOT_FOUND", f"Could not find any versions of model {name}")
        if version is None:
            return numbers
        if version not in numbers:
            raise ServingError("NOT_FOUND", f"Could not find version {version} of model {name}")
        return [version]

    def close(self) -> None:
        """Close every loaded version's session."""
        for model in self._models.values():
            model.close()
        self._models.clear()

