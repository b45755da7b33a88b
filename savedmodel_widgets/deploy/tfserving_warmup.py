"""TF Serving's warm-up file: ``assets.extra/tf_serving_warmup_requests`` inside the export.

When TF Serving loads a version (with ``--enable_model_warmup``, on by default), it reads
this TFRecord file of ``PredictionLog`` records and runs each request once before the
version takes traffic, so the first real requests do not pay for graph initialisation
(TF Serving's guide "SavedModel Warmup",
https://www.tensorflow.org/tfx/serving/saved_model_warmup; the reader is
``RunSavedModelWarmup`` in ``tensorflow_serving/servables/tensorflow/saved_model_warmup_util.cc``).
A record it cannot parse, a request the model refuses, or more than 1000 records make the
load fail, so every request is checked against the export's signatures before the file is
written, and :func:`check_tfserving_warmup` checks a file already there the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DeployError
from ..savedmodel.finding import Finding
from ..savedmodel.info import PREDICT_METHOD, SavedModelInfo, Signature
from ..savedmodel.reader import read_saved_model
from ._files import refuse_existing
from .requests import MAX_WARMUP_REQUESTS, WarmupRequest, check_request
from .serving_messages import decode_prediction_log, encode_prediction_log
from .tfrecord import read_records, write_records

__all__ = [
    "WARMUP_PATH",
    "check_tfserving_warmup",
    "read_tfserving_warmup",
    "write_tfserving_warmup",
]

WARMUP_PATH = "assets.extra/tf_serving_warmup_requests"
"""Where TF Serving looks for warm-up records, relative to the SavedModel directory."""

_WRITE_HINT = "write_tfserving_warmup(export_dir, requests, overwrite=True)"

_PREDICTABLE_METHODS = (PREDICT_METHOD, "tensorflow/serving/classify",
                        "tensorflow/serving/regress")
"""The signature methods a predict request may run (TF Serving's ``PreProcessPrediction``,
``tensorflow_serving/servables/tensorflow/predict_util.cc``)."""


def write_tfserving_warmup(
    export_dir: str | os.PathLike[str],
    requests: Sequence[WarmupRequest],
    *,
    model_name: str = "",
    overwrite: bool = False,
) -> Path:
    """Write ``requests`` into the export as TF Serving's warm-up file.

    Every request is checked against the export's signatures first; nothing is written
    unless all pass. The file is written whole or not at all.

    Parameters
    ----------
    export_dir : str or os.PathLike
        The SavedModel directory (a version folder such as ``models/classifier/1``).
    requests : sequence of WarmupRequest
        From :func:`~savedmodel_widgets.deploy.requests.warmup_requests`; 1 to 1000.
    model_name : str
        The model name the records carry (TF Serving runs them on the version being
        loaded whatever the name).
    overwrite : bool
        Replace an existing warm-up file.

    Returns
    -------
    pathlib.Path
        ``export_dir/assets.extra/tf_serving_warmup_requests``.

    Raises
    ------
    DeployError
        When there is no request or more than 1000, a request names a signature the
        export lacks or that is not a predict signature, or its inputs or output filter
        do not fit the signature.
    DeployTargetExistsError
        When the file exists and ``overwrite`` is False (it is left as it was).
    """
    info = read_saved_model(export_dir)
    if not requests:
        raise DeployError("There are no warm-up requests to write; make them with "
                          "warmup_requests(info) (sample inputs) or pass arrays.")
    if len(requests) > MAX_WARMUP_REQUESTS:
        raise DeployError(f"{len(requests)} warm-up requests were given; TF Serving refuses a "
                          f"warm-up file of more than {MAX_WARMUP_REQUESTS} records. Pass at "
                          "most that many. Nothing was written.")
    by_name = _predictable_signatures(info)
    for number, request in enumerate(requests, start=1):
        problem = _refusal(by_name, request)
        if problem:
            raise DeployError(f"Warm-up request {number} would be refused: {problem}. Fix or "
                              "leave out that request. Nothing was written.")
    records = [encode_prediction_log(request, model_name) for request in requests]
    target = Path(info.path) / WARMUP_PATH
    refuse_existing([target], overwrite)
    return write_records(target, records)


def read_tfserving_warmup(export_dir_or_file: str | os.PathLike[str]) -> list[WarmupRequest]:
    """The requests of a warm-up file, in order.

    Parameters
    ----------
    export_dir_or_file : str or os.PathLike
        A SavedModel directory (its ``assets.extra/tf_serving_warmup_requests`` is
        read) or the file itself.

    Raises
    ------
    DeployError
        When there is no such file, or a record is damaged or not a ``PredictionLog``
        holding a predict request (the message names the record).
    """
    given = Path(export_dir_or_file)
    path = given / WARMUP_PATH if given.is_dir() else given
    if not path.is_file():
        raise DeployError(f"There is no warm-up file at {path}; write one with "
                          "write_tfserving_warmup(export_dir, requests).")
    requests = []
    for number, record in enumerate(read_records(path), start=1):
        try:
            requests.append(decode_prediction_log(record))
        except DeployError as error:
            raise DeployError(f"{path}: record {number}: {error}") from None
    return requests


def check_tfserving_warmup(info: SavedModelInfo) -> list[Finding]:
    """What TF Serving would make of the export's warm-up file.

    Returns
    -------
    list of Finding
        ``warmup-missing`` (info) when there is no file; ``warmup-unreadable`` when a
        record is damaged or not a predict ``PredictionLog``; ``warmup-too-many`` for
        more than 1000 records; ``warmup-request-refused`` (one per signature) for
        requests the export's signatures would refuse. Empty when TF Serving would run
        every record.
    """
    path = Path(info.path) / WARMUP_PATH
    if not path.exists():
        return [Finding(
            "info", "warmup-missing",
            f"There is no {WARMUP_PATH}: TF Serving loads the model without warming it up, "
            "so the first requests after each load are slow.",
            "Write one with write_tfserving_warmup(export_dir, warmup_requests(info)).")]
    try:
        requests = read_tfserving_warmup(path)
    except DeployError as error:
        return [Finding("error", "warmup-unreadable",
                        f"TF Serving cannot read the warm-up file, so loading fails: {error}",
                        f"Write the file again: {_WRITE_HINT}.")]
    findings = []
    if len(requests) > MAX_WARMUP_REQUESTS:
        findings.append(Finding(
            "error", "warmup-too-many",
            f"The warm-up file holds {len(requests)} records; TF Serving refuses more than "
            f"{MAX_WARMUP_REQUESTS} and the load fails.",
            f"Write at most {MAX_WARMUP_REQUESTS} requests: {_WRITE_HINT}."))
    return findings + _refused(info, requests)


def _predictable_signatures(info: SavedModelInfo) -> dict[str, Signature]:
    return {s.name: s for s in info.signatures if s.method_name in _PREDICTABLE_METHODS}


def _refusal(by_name: dict[str, Signature], request: WarmupRequest) -> str | None:
    signature = by_name.get(request.signature_name)
    if signature is None:
        return (f"it names the signature {request.signature_name!r}, but the export has no "
                "predict, classify or regress signature of that name; those it has are "
                f"{', '.join(map(repr, by_name)) or 'none'}")
    problem = check_request(signature, request)
    return f"signature {signature.name!r}: {problem}" if problem else None


def _refused(info: SavedModelInfo, requests: list[WarmupRequest]) -> list[Finding]:
    """One finding per signature whose requests would be refused, naming the first."""
    by_name = _predictable_signatures(info)
    refused: dict[str, tuple[int, str, int]] = {}
    for number, request in enumerate(requests, start=1):
        problem = _refusal(by_name, request)
        if problem:
            first, first_problem, count = refused.get(request.signature_name,
                                                      (number, problem, 0))
            refused[request.signature_name] = (first, first_problem, count + 1)
    findings = []
    for signature, (first, problem, count) in refused.items():
        more = f" (and {count - 1} more)" if count > 1 else ""
        findings.append(Finding(
            "error", "warmup-request-refused",
            f"Warm-up request {first}{more} would be refused: {problem}. TF Serving stops "
            "loading the model at the first refused request.",
            f"Write the file again from requests the signature takes: {_WRITE_HINT}.",
            signature))
    return findings
