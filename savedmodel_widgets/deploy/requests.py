"""The predict requests a warm-up file holds, built from sample values or notebook arrays.

Both servers replay stored requests at load time: TF Serving the ``PredictLog`` records of
``assets.extra/tf_serving_warmup_requests``, EAS the serialized ``TFRequest`` of the file
its service description names. :func:`warmup_requests` makes those requests from a
SavedModel's signatures, checking every given array against the signature it is for, so
that a warm-up file never holds a request the server would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._verify_inputs import given_array, split_inputs
from ..errors import DeployError, VerifyError
from ..savedmodel.info import PREDICT_METHOD, SavedModelInfo, Signature, TensorInfo
from ..serving.client_code import sample_inputs

__all__ = [
    "MAX_WARMUP_REQUESTS",
    "WarmupRequest",
    "check_request",
    "predict_signatures",
    "warmup_requests",
]

MAX_WARMUP_REQUESTS = 1000
"""TF Serving reads at most this many warm-up records ("Number of warmup records <= 1000",
TF Serving's guide "SavedModel Warmup", https://www.tensorflow.org/tfx/serving/saved_model_warmup;
``WarmupConsts::kMaxNumRecords`` in ``saved_model_warmup_util.cc``)."""


@dataclass(frozen=True)
class WarmupRequest:
    """One predict request of a warm-up file.

    Attributes
    ----------
    signature_name : str
        The signature it runs.
    inputs : dict of str to numpy.ndarray
        ``{input alias: array}``, one array per input of the signature; strings are
        arrays of bytes.
    output_filter : tuple of str
        The output aliases it fetches; empty for all of them.
    """

    signature_name: str
    inputs: Mapping[str, np.ndarray] = field(default_factory=dict)
    output_filter: tuple[str, ...] = ()

    @property
    def batch_size(self) -> int:
        """The length of the first axis of the first input (1 for a scalar input)."""
        first = next(iter(self.inputs.values()), None)
        return int(first.shape[0]) if first is not None and first.ndim else 1


def predict_signatures(info: SavedModelInfo) -> list[Signature]:
    """The predict signatures of the meta graph a server loads, in the file's order."""
    return [s for s in info.signatures if s.method_name == PREDICT_METHOD]


def warmup_requests(
    info: SavedModelInfo,
    inputs: Mapping[str, Any] | None = None,
    *,
    signature_names: Sequence[str] | None = None,
    rows_per_request: int | None = None,
) -> list[WarmupRequest]:
    """Predict requests for a warm-up file: one per signature, or one per slice of rows.

    Parameters
    ----------
    info : SavedModelInfo
        The SavedModel the requests are for (:func:`~savedmodel_widgets.read_saved_model`).
    inputs : mapping, optional
        ``{input alias: array}`` (for every chosen signature that has the alias) or
        ``{signature name: {input alias: array}}``. Inputs not given get the sample
        values the *Try it* tab sends
        (:func:`~savedmodel_widgets.serving.client_code.sample_inputs`), with the batch
        size of the given arrays.
    signature_names : sequence of str, optional
        The predict signatures to warm up; all of them by default.
    rows_per_request : int, optional
        Split the arrays along their first axis into requests of this many rows (1 makes a
        request per example, as a service that gets one example at a time). By default each
        signature gets one request holding all rows.

    Returns
    -------
    list of WarmupRequest
        At most :data:`MAX_WARMUP_REQUESTS`.

    Raises
    ------
    DeployError
        For an unknown or non-predict signature, an unknown input alias, an array whose
        dtype or shape the signature does not take, a sparse or composite input, or more
        than :data:`MAX_WARMUP_REQUESTS` requests.
    """
    signatures = _chosen_signatures(info, signature_names)
    try:
        given = split_inputs(inputs, signatures)
    except VerifyError as error:
        raise DeployError(str(error)) from None
    requests: list[WarmupRequest] = []
    for signature in signatures:
        arrays = _signature_arrays(signature, given[signature.name])
        requests.extend(_split(signature.name, arrays, rows_per_request))
    if len(requests) > MAX_WARMUP_REQUESTS:
        raise DeployError(
            f"These inputs make {len(requests)} warm-up requests; TF Serving reads at most "
            f"{MAX_WARMUP_REQUESTS}. Pass fewer rows, or a larger rows_per_request.")
    return requests


def check_request(signature: Signature, request: WarmupRequest) -> str | None:
    """What ``signature`` would refuse in ``request`` (a missing or unknown input, a wrong
    dtype or shape, an unknown output), or None when it takes the request."""
    aliases = set(signature.input_aliases)
    missing = [alias for alias in signature.input_aliases if alias not in request.inputs]
    if missing:
        return f"input {missing[0]!r} is missing"
    unknown = [alias for alias in request.inputs if alias not in aliases]
    if unknown:
        return f"{unknown[0]!r} is no input of signature {signature.name!r}"
    for tensor in signature.inputs:
        problem = _array_problem(tensor, np.asarray(request.inputs[tensor.alias]))
        if problem:
            return problem
    outputs = {tensor.alias for tensor in signature.outputs}
    unknown = [alias for alias in request.output_filter if alias not in outputs]
    if unknown:
        return f"{unknown[0]!r} is no output of signature {signature.name!r}"
    return None


def _chosen_signatures(info: SavedModelInfo,
                       signature_names: Sequence[str] | None) -> list[Signature]:
    predict = predict_signatures(info)
    if signature_names is None:
        if not predict:
            raise DeployError(
                f"{info.path} has no predict signature, so there is no request to warm it up "
                "with; warm-up files hold predict requests.")
        return predict
    by_name = {s.name: s for s in info.signatures}
    chosen = []
    for name in signature_names:
        signature = by_name.get(name)
        if signature is None:
            raise DeployError(
                f"{info.path} has no signature {name!r}; its signatures are "
                f"{', '.join(map(repr, by_name)) or 'none'}.")
        if signature.method_name != PREDICT_METHOD:
            raise DeployError(
                f"Signature {name!r} is a {signature.method_name} signature; warm-up files "
                "hold predict requests. Choose one of "
                f"{', '.join(repr(s.name) for s in predict) or 'no predict signature'}.")
        chosen.append(signature)
    if not chosen:
        raise DeployError("signature_names is empty; name at least one predict signature.")
    return chosen


def _signature_arrays(signature: Signature, given: Mapping[str, Any]) -> dict[str, np.ndarray]:
    for tensor in signature.inputs:
        if tensor.encoding != "dense":
            raise DeployError(
                f"Input {tensor.alias!r} of signature {signature.name!r} is a {tensor.encoding} "
                "tensor; warm-up requests carry dense arrays only.")
    try:
        arrays = {t.alias: given_array(given[t.alias], t, signature.name)
                  for t in signature.inputs if t.alias in given}
    except VerifyError as error:
        raise DeployError(str(error)) from None
    for tensor in signature.inputs:
        if tensor.alias in arrays:
            problem = _array_problem(tensor, arrays[tensor.alias])
            if problem:
                raise DeployError(f"Signature {signature.name!r}: {problem}. Pass an array of "
                                  "that shape.")
    batch = next((a.shape[0] for a in arrays.values() if a.ndim), 1)
    samples = sample_inputs(signature, batch_size=batch)
    for tensor in signature.inputs:
        if tensor.alias not in arrays:
            arrays[tensor.alias] = given_array(samples[tensor.alias], tensor, signature.name)
    return {t.alias: arrays[t.alias] for t in signature.inputs}


def _array_problem(tensor: TensorInfo, array: np.ndarray) -> str | None:
    if tensor.shape is None:
        return None
    wanted = "(" + ", ".join("-1" if dim is None else str(dim) for dim in tensor.shape) + ")"
    if array.ndim != len(tensor.shape) or any(
            dim is not None and dim != size
            for dim, size in zip(tensor.shape, array.shape, strict=True)):
        return (f"input {tensor.alias!r} has shape {tuple(array.shape)}, where the signature "
                f"takes {wanted}")
    return None


def _split(signature_name: str, arrays: dict[str, np.ndarray],
           rows_per_request: int | None) -> list[WarmupRequest]:
    if rows_per_request is None:
        return [WarmupRequest(signature_name, arrays)]
    if rows_per_request < 1:
        raise DeployError(f"rows_per_request must be 1 or more, not {rows_per_request}.")
    rows = {a.shape[0] for a in arrays.values() if a.ndim}
    if len(rows) != 1:
        raise DeployError(
            f"Signature {signature_name!r}: the inputs' first axes differ "
            f"({', '.join(map(str, sorted(rows))) or 'all scalars'}), so they cannot be split "
            "into requests by row; pass arrays with one batch axis, or no rows_per_request.")
    count = rows.pop()
    return [WarmupRequest(signature_name,
                          {alias: array[start:start + rows_per_request]
                           for alias, array in arrays.items()})
            for start in range(0, count, rows_per_request)]
