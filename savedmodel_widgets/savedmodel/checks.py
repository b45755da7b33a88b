"""Serving-readiness checks: will TF Serving or EAS accept this SavedModel?"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from ..runtimes.catalogue import EAS_RELEASES, Runtime, get_runtime
from .dtypes import EAS_SENDABLE, JSON_SENDABLE, base_dtype
from .finding import LEVELS, Finding, Level
from .info import (
    DEFAULT_SIGNATURE,
    PREDICT_METHOD,
    SERVE_TAG,
    MetaGraph,
    SavedModelInfo,
    Signature,
    TensorInfo,
)
from .runtime_checks import runtime_findings, runtime_not_chosen
from .text import count_text

__all__ = [
    "GENERATED_ALIAS",
    "LEVELS",
    "TARGETS",
    "TF_SERVING_METHODS",
    "check",
    "is_ready",
    "verdict",
    "CheckResult",
    "Finding",
    "Level",
    "Target",
]

Target = Literal["tfserving", "eas"]

TARGETS: dict[Target, str] = {"tfserving": "TF Serving", "eas": "EAS"}
"""The serving systems checked for, with their display names."""

TF_SERVING_METHODS = frozenset(
    {PREDICT_METHOD, "tensorflow/serving/classify", "tensorflow/serving/regress"}
)

GENERATED_ALIAS = re.compile(
    r"(keras_tensor|input_layer)(_\d+)?|(output|input|inputs|args)_\d+|inputs"
)
"""Aliases that exporters make up when the user named nothing."""


@dataclass(frozen=True)
class CheckResult:
    """One finding of a serving-readiness check.

    Attributes
    ----------
    level : {"error", "warning", "info"}
        ``error``: the server refuses the model or no client can call it;
        ``warning``: it serves, but clients will stumble; ``info``: worth knowing.
    code : str
        A stable identifier, e.g. ``no-serve-tag`` or ``generated-alias``.
    message : str
        What is wrong, naming the signature, alias and value.
    fix : str
        What to do about it.
    target : {"tfserving", "eas"}
        The serving system the check was made for.
    signature : str
        The signature concerned, or empty.
    runtime : str
        The runtime checked against (``"eas:tensorflow_cpu_1.15"``), or empty when the
        check was made without one.
    """

    level: Level
    code: str
    message: str
    fix: str
    target: Target
    signature: str = ""
    runtime: str = ""


def check(
    info: SavedModelInfo | str | os.PathLike[str],
    target: Target = "tfserving",
    runtime: str | Runtime | None = None,
) -> list[CheckResult]:
    """Check whether a serving system will accept a SavedModel.

    Parameters
    ----------
    info : SavedModelInfo or path
        A model read with :func:`read_saved_model`, or a path to read.
    target : {"tfserving", "eas"}
        TensorFlow Serving, or Alibaba PAI-EAS's TensorFlow processor.
    runtime : str or Runtime, optional
        The runtime the server runs (``"eas:tensorflow_cpu_1.15"``, ``"tfserving:2.7"``,
        ``"installed"``; :func:`~savedmodel_widgets.runtimes` lists them): every op of
        the serving graph and its functions must be registered in its TensorFlow, and
        every attribute a node sets known there (errors ``op-not-in-runtime``,
        ``attr-not-in-runtime``, ``custom-op``). Without one, or with one whose release
        no EAS processor runs (``"installed"``, say), an EAS check warns that EAS runs an
        older TensorFlow (``runtime-not-chosen``).

    Returns
    -------
    list of CheckResult
        Errors first, then warnings, then notes; empty when nothing was found.

    Raises
    ------
    ValueError
        For an unknown target or runtime.
    """
    if target not in TARGETS:
        raise ValueError(f"Unknown target {target!r}; choose one of: {', '.join(TARGETS)}.")
    chosen = None if runtime is None else get_runtime(runtime)
    if not isinstance(info, SavedModelInfo):
        from .reader import read_saved_model

        info = read_saved_model(info)
    findings = list(_findings(info, target))
    if chosen is not None:
        findings += runtime_findings(info, chosen)
    if target == "eas" and (chosen is None or chosen.release not in EAS_RELEASES):
        findings.append(runtime_not_chosen())
    name = "" if chosen is None else chosen.name
    results = [
        CheckResult(level, code, message, fix, target, signature, name)
        for level, code, message, fix, signature in findings
    ]
    return sorted(results, key=lambda result: LEVELS.index(result.level))


def is_ready(results: Sequence[CheckResult]) -> bool:
    """True when no result is an error: the server will load and serve the model."""
    return not any(result.level == "error" for result in results)


def verdict(results: Sequence[CheckResult]) -> str:
    """``ready to serve (1 warning, 2 notes)`` or ``will not serve (1 error)``."""
    nouns = {"error": "error", "warning": "warning", "info": "note"}
    counts = [
        f"{count} {nouns[level]}{'s' if count > 1 else ''}"
        for level in LEVELS
        if (count := sum(result.level == level for result in results))
    ]
    head = "ready to serve" if is_ready(results) else "will not serve"
    return f"{head} ({', '.join(counts)})" if counts else head


def _findings(info: SavedModelInfo, target: Target) -> Iterator[Finding]:
    yield from _meta_graph_findings(info, target)
    yield from _file_findings(info, target)
    signatures = info.signatures
    if signatures and DEFAULT_SIGNATURE not in {s.name for s in signatures}:
        names = ", ".join(repr(s.name) for s in signatures)
        consequence = (
            "requests that do not name a signature fail"
            if target == "tfserving"
            else "every EAS request must set signature_name"
        )
        yield Finding(
            level="warning",
            code="no-serving-default",
            message=(
                f"There is no {DEFAULT_SIGNATURE!r} signature, so {consequence}; clients must "
                f"send one of: {names}."
            ),
            fix=(
                f"Tell the clients the signature name, or export the main signature as "
                f"{DEFAULT_SIGNATURE!r}."
            ),
        )
    for signature in signatures:
        yield from _signature_findings(signature, target)


def _meta_graph_findings(info: SavedModelInfo, target: Target) -> Iterator[Finding]:
    server = TARGETS[target]
    tagged = [mg for mg in info.meta_graphs if SERVE_TAG in mg.tags]
    if info.serving_meta_graph is None and tagged:
        # Source: TensorFlow's loader picks the meta graph whose tag set equals the one
        # asked for (FindMetaGraphDef, tensorflow/cc/saved_model/reader.cc), and TF Serving
        # asks for {serve} unless started with --saved_model_tags (tensorflow_serving/
        # model_servers/main.cc). EAS's documentation does not say which tags its processor
        # asks for: a warning there.
        only_serve = "export it with tags=['serve'] only (tf.saved_model.SERVING)"
        tags = ",".join(sorted(set(tagged[0].tags)))
        loads = (
            "is not loaded by TF Serving started as usual"
            if target == "tfserving"
            else "is not loaded by a server that asks for ['serve'], as TF Serving does"
        )
        yield Finding(
            level="error" if target == "tfserving" else "warning",
            code="serve-tags-not-exact",
            message=(
                f"No meta graph is tagged exactly {[SERVE_TAG]}; the one tagged "
                f"{list(tagged[0].tags)} {loads}: TensorFlow's loader matches the whole "
                "tag set."
            ),
            fix=f"Start TF Serving with --saved_model_tags={tags}, or {only_serve}."
            if target == "tfserving"
            else f"{only_serve[0].upper()}{only_serve[1:]}.",
        )
    elif info.serving_meta_graph is None:
        found = [list(mg.tags) for mg in info.meta_graphs]
        # Source: TensorFlow's loader looks the tag set up among the meta graphs and fails
        # with "Could not find meta graph def matching supplied tags" (FindMetaGraphDef,
        # tensorflow/cc/saved_model/reader.cc); servers ask for {serve}.
        yield Finding(
            level="error",
            code="no-serve-tag",
            message=(
                f"No meta graph is tagged {SERVE_TAG!r} (tags found: {found}); {server} loads the "
                f"{SERVE_TAG!r} meta graph."
            ),
            fix="Export with tags=['serve'] (tf.saved_model.SERVING).",
        )
    if not info.signatures:
        # Source: every TF Serving request names a signature (serving_default by default) and
        # fails with 'Serving signature key ... not found' when the meta graph lacks it
        # (tensorflow_serving/servables/tensorflow/predict_util.cc); EAS's requests name one
        # too (signature_name, eas-python-sdk's TFRequest).
        yield Finding(
            level="error",
            code="no-signatures",
            message=f"The meta graph has no signatures: {server} has nothing to call.",
            fix=(
                "Export with signatures= (tf.saved_model.save) or signature_def_map= (the TF1 "
                "builder), naming the input and output tensors."
            ),
        )
    yield from _table_findings(info.serving_meta_graph, server)
    yield from _device_findings(info.main_meta_graph, target)


def _device_findings(meta_graph: MetaGraph | None, target: Target) -> Iterator[Finding]:
    if meta_graph is None or not meta_graph.gpu_nodes:
        return
    nodes = meta_graph.gpu_nodes
    named = ", ".join(repr(node) for node in nodes[:5])
    more = f" and {count_text(len(nodes) - 5, 'more node')}" if len(nodes) > 5 else ""
    where = (
        "TF Serving without a GPU fails to load the model: it does not allow soft placement"
        if target == "tfserving"
        else "an EAS tensorflow_cpu_* processor fails to load the model, unless it allows "
        "the soft placement that TF Serving does not"
    )
    yield Finding(
        level="warning",
        code="gpu-device-pinned",
        message=(
            f"{count_text(len(nodes), 'node')} {'is' if len(nodes) == 1 else 'are'} pinned "
            f"to a GPU ({named}{more}): {where}."
        ),
        fix=(
            "Export without device placements: clear_devices=True in the TF1 builder or "
            "simple_save, or build the graph outside tf.device('/GPU:0')."
        ),
    )


def _table_findings(meta_graph: MetaGraph | None, server: str) -> Iterator[Finding]:
    if meta_graph is None or meta_graph.init_op:
        return
    for signature in meta_graph.signatures:
        if not signature.lookup_tables:
            continue
        tables = ", ".join(repr(table) for table in signature.lookup_tables)
        # Source: TensorFlow's loader runs only the init op after restoring (RunInitOp,
        # tensorflow/cc/saved_model/loader.cc); tests/test_checks.py shows a lookup then
        # failing with 'Table not initialized' (tensorflow/serving#1731).
        yield Finding(
            level="error",
            code="tables-not-initialized",
            signature=signature.name,
            message=(
                f"Signature {signature.name!r} reads the lookup table {tables}, but the "
                f"SavedModel has no init op to fill it: {server} loads the model, then fails "
                "every request to this signature with 'Table not initialized'."
            ),
            fix=(
                "Export again, passing tf.group(tf.compat.v1.tables_initializer(), "
                "name='legacy_init_op') as legacy_init_op= to simple_save or as main_op= to the "
                "TF1 builder; smw.export and the ExportWidget add it themselves."
            ),
        )


def _file_findings(info: SavedModelInfo, target: Target) -> Iterator[Finding]:
    if info.variables_error:
        # Source: the loader restores variables/variables with RestoreV2, which fails on an
        # index it cannot read (RunRestore, tensorflow/cc/saved_model/loader.cc).
        yield Finding(
            level="error",
            code="variables-unreadable",
            message=info.variables_error,
            fix="Export the model again; copy all of variables/ when moving it.",
        )
    elif any(mg.has_variables for mg in info.meta_graphs) and not info.variables:
        # Source: without variables.index the loader restores nothing and the first request
        # fails on an uninitialized variable (RunRestore, tensorflow/cc/saved_model/loader.cc).
        yield Finding(
            level="error",
            code="variables-missing",
            message=(
                f"The graph restores variables but {_variables_state(info)}: the server "
                "cannot restore the weights."
            ),
            fix="Export the model again, keeping variables/ beside saved_model.pb.",
        )
    if info.data_file_problems:
        # Source: RestoreV2 opens each data shard the index names and reads its byte ranges;
        # tests/test_checks.py shows TensorFlow's loader failing on a missing or short one.
        yield Finding(
            level="error",
            code="variables-data-missing",
            message=(
                f"In variables/, {'; '.join(info.data_file_problems)}: TensorFlow's loader "
                "fails restoring the variables (\"No such file\" or a read past the end)."
            ),
            fix="Copy all of variables/ again, or export the model again.",
        )
    present = {entry.path for entry in info.files}
    for meta_graph in info.meta_graphs:
        for name in meta_graph.asset_files:
            if f"assets/{name}" not in present:
                # Source: the loader feeds each asset's path under assets/ to the init op,
                # which fails reading a file that is not there
                # (tensorflow/cc/saved_model/loader.cc).
                yield Finding(
                    level="error",
                    code="asset-missing",
                    message=f"The graph needs assets/{name}, which is not there.",
                    fix="Export the model again, keeping assets/ beside saved_model.pb.",
                )
    if info.format == "pbtxt":
        yield Finding(
            level="info",
            code="text-format",
            message=(
                "saved_model.pbtxt is the text format: larger and slower to load than "
                "saved_model.pb."
            ),
            fix="Export without as_text=True for the binary format.",
        )
    if target == "tfserving" and info.version is not None:
        newest = max(info.versions_without_model, default=info.version)
        if newest > info.version:
            # Source: TF Serving serves the highest version number it finds under the base path
            # (tensorflow_serving/sources/storage_path/file_system_storage_path_source.cc), and
            # loading a directory without saved_model.pb fails.
            yield Finding(
                level="error",
                code="newest-version-incomplete",
                message=(
                    f"Version directory {newest} in {info.base_path} holds no saved_model.pb, "
                    f"yet TF Serving serves the highest version number, so it would try to "
                    f"load {newest} instead of {info.version} and fail."
                ),
                fix=(
                    f"Finish or remove {os.path.join(info.base_path, str(newest))}; export "
                    "into a temporary directory and rename it into place when complete."
                ),
            )
    if target == "tfserving" and info.version is None:
        yield Finding(
            level="info",
            code="no-version-directory",
            message=(
                "TF Serving loads <model_base_path>/<version>/saved_model.pb; this SavedModel "
                "is not in a numeric version directory."
            ),
            fix="Export into a numeric sub-directory of the model's base path, e.g. my_model/1/.",
        )


def _variables_state(info: SavedModelInfo) -> str:
    """``variables/ is missing``, ``... is empty``, or what it holds instead of values."""
    if not info.has_variables_dir:
        return "variables/ is missing"
    names = [e.name for e in info.files if e.path.startswith("variables/") and not e.is_dir]
    if not names:
        return "variables/ is empty"
    if "variables.index" not in names:
        return f"variables/ has no variables.index (it holds {', '.join(names[:5])})"
    return "variables/variables.index lists no saved variable"


def _signature_findings(signature: Signature, target: Target) -> Iterator[Finding]:
    name = signature.name
    method = signature.method_name or "<empty>"
    if target == "eas" and signature.method_name != PREDICT_METHOD:
        # A warning: EAS documents predict-style requests only (signature_name, inputs by
        # alias, output_filter: https://www.alibabacloud.com/help/doc-detail/111055.htm,
        # and eas_prediction/tf_request.py of github.com/pai-eas/eas-python-sdk), and no
        # source says that its TensorFlow processor refuses classify or regress signatures.
        yield Finding(
            level="warning",
            code="method-not-predict",
            message=(
                f"Signature {name!r} has method {method}; EAS documents predict requests only "
                "(inputs by alias), so clients must send this signature's input tensors "
                "themselves, e.g. serialized tf.Example strings."
            ),
            fix=(
                "Build it with tf.compat.v1.saved_model.predict_signature_def or method_name="
                "tf.saved_model.PREDICT_METHOD_NAME."
            ),
            signature=name,
        )
    elif target == "tfserving" and signature.method_name not in TF_SERVING_METHODS:
        # Source: TF Serving's Predict refuses a signature whose method_name is not one of
        # predict, classify, regress ("Expected prediction signature method_name to be one
        # of ...", tensorflow_serving/servables/tensorflow/predict_util.cc).
        yield Finding(
            level="error",
            code="unknown-method",
            message=(
                f"Signature {name!r} has method {method}; TF Serving knows predict, classify and "
                "regress."
            ),
            fix=f"Build it with method_name={PREDICT_METHOD!r}.",
            signature=name,
        )
    if not signature.outputs:
        # Source: a session run with nothing to fetch fails ("Must specify at least one
        # target to fetch or execute", tensorflow/core/common_runtime/direct_session.cc).
        yield Finding(
            level="error",
            code="no-outputs",
            message=f"Signature {name!r} has no outputs: a request would return nothing.",
            fix="Export the signature with at least one output tensor.",
            signature=name,
        )
    if not signature.inputs:
        yield Finding(
            level="warning",
            code="no-inputs",
            message=(
                f"Signature {name!r} has no inputs: it returns the same thing for every request."
            ),
            fix="Export the signature with the tensors a client must send as inputs.",
            signature=name,
        )
    for direction, tensors in (
        ("input", signature.inputs),
        ("output", signature.outputs),
    ):
        for tensor in tensors:
            yield from _tensor_findings(name, direction, tensor, target)


def _tensor_findings(
    signature: str, direction: str, tensor: TensorInfo, target: Target
) -> Iterator[Finding]:
    what = f"{direction} {tensor.alias!r} of signature {signature!r}"
    if GENERATED_ALIAS.fullmatch(tensor.alias):
        yield Finding(
            level="warning",
            code="generated-alias",
            message=(
                f"The {what} has a generated name; clients must use {tensor.alias!r}, which says "
                "nothing about the data."
            ),
            fix=(
                "Name it: keras.Input(name='image'), return a dict such as {'scores': y} from the "
                "serving function, or choose the aliases when exporting with savedmodel_widgets."
            ),
            signature=signature,
        )
    if tensor.encoding != "dense":
        kind = "sparse" if tensor.is_sparse else f"composite ({tensor.composite_type})"
        # Source for EAS: its request carries each input as a dense array of one dtype with
        # its shape (TFRequest.add_feed in eas_prediction/tf_request.py of
        # github.com/pai-eas/eas-python-sdk; alibabacloud.com/help/doc-detail/111055.htm).
        level: Level
        level, limit = (
            ("error", "EAS requests carry dense arrays only")
            if target == "eas"
            else (
                "warning",
                "TF Serving's REST API and most clients send dense tensors only",
            )
        )
        yield Finding(
            level=level,
            code="non-dense-tensor",
            message=f"The {what} is a {kind} tensor; {limit}.",
            fix=(
                "Export a signature whose tensors are dense (e.g. tf.sparse.to_dense, "
                "RaggedTensor.to_tensor in the serving function)."
            ),
            signature=signature,
        )
        return
    sendable = EAS_SENDABLE if target == "eas" else JSON_SENDABLE
    if base_dtype(tensor.dtype) not in sendable:
        # Source: the value fields of EAS's request (TFRequest.add_feed, eas-python-sdk) and
        # of TF Serving's JSON API (tensorflow_serving/util/json_tensor.cc) cover these dtypes
        # only; resource and variant tensors cannot be sent or received at all.
        yield Finding(
            level="error",
            code="unsupported-dtype",
            message=(
                f"The {what} has dtype {tensor.dtype}, which a {TARGETS[target]} client cannot "
                f"{'send' if direction == 'input' else 'receive'}."
            ),
            fix=f"Cast it in the serving function to one of: {', '.join(sorted(sendable))}.",
            signature=signature,
        )
    if tensor.shape is None:
        yield Finding(
            level="warning",
            code="unknown-rank",
            message=(
                f"The {what} has unknown rank: clients cannot tell what shape to send and the "
                "server cannot validate requests."
            ),
            fix="Give it a shape with an unknown batch dimension, e.g. tf.TensorSpec([None, 4]).",
            signature=signature,
        )
    elif direction == "input" and tensor.shape and tensor.shape[0] is not None:
        yield Finding(
            level="warning",
            code="fixed-batch-dimension",
            message=(
                f"The {what} has shape {tensor.shape_text}: the first (batch) dimension is fixed, "
                "so clients built from the signature send exactly "
                f"{count_text(tensor.shape[0], 'row')} per request, and server-side batching or "
                "an op written for that size fails on any other number."
            ),
            fix=(
                "Export with the batch dimension unknown: tf.TensorSpec([None, ...]) or "
                "keras.Input(shape=...) without batch_size."
            ),
            signature=signature,
        )
