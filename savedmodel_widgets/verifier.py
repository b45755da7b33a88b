"""Reload an export in a fresh Python process, run its signatures, compare with the source.

A server loads the SavedModel alone, without the Python objects that wrote it.
:func:`verify` does the same: a new interpreter (``python -m
savedmodel_widgets._verify_worker``) loads the export as TF Serving does
(``tf.compat.v1.saved_model.loader.load`` of the meta graph tagged exactly
``serve``, in a graph session that restores the variables and runs the main
op; see :mod:`savedmodel_widgets._serve_loader`) and runs each signature,
feeding and fetching its aliases, as a client's request would. The live source
is evaluated here on the same inputs, and the outputs are compared alias by
alias. Arrays travel through ``numpy.savez`` files in a temporary directory,
never through pickles.

With ``runtime=`` naming an older TensorFlow (an EAS processor, a TF Serving
release), the export is loaded instead by that release's own C API in its own
process (:mod:`savedmodel_widgets.runtimes.loader`), as that server would load it.

This module does not import TensorFlow; only the source's own evaluation does.

Examples
--------
>>> result = export(ExportSpec.for_model(model, "export/digits"))   # doctest: +SKIP
>>> report = verify(result)                                       # doctest: +SKIP
>>> report.ok, report.summary()                                   # doctest: +SKIP
>>> verify("export/digits/1", inputs={"image": images[:4]})       # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._verify_html import render_report_html
from ._verify_inputs import (
    Inputs,
    InputSummary,
    SkipSignature,
    bytes_array,
    dtype_text,
    signature_inputs,
    split_inputs,
)
from ._worker_process import run_worker
from .errors import SavedModelError, VerifyError
from .runtimes.catalogue import Runtime, get_runtime
from .runtimes.fetch import Progress
from .runtimes.loader import describe_runtime, run_worker_in_runtime
from .savedmodel.info import SERVE_TAG, SavedModelInfo, Signature, TensorInfo, format_shape
from .savedmodel.reader import read_saved_model
from .savedmodel.text import count_text
from .sources import open_source
from .spec import ExportResult, SignatureSpec

if TYPE_CHECKING:
    import numpy
    import pandas

__all__ = [
    "Inputs",
    "InputSummary",
    "OutputComparison",
    "SignatureVerification",
    "VerifyReport",
    "verify",
]

Target = ExportResult | SavedModelInfo | str | os.PathLike[str]

WORKER_MODULE = "savedmodel_widgets._verify_worker"



# --- the report --------------------------------------------------------------


@dataclass(frozen=True)
class OutputComparison:
    """One output of a reloaded signature, compared with the source's.

    Attributes
    ----------
    alias : str
        The output key.
    dtype : str
        The dtype the signature declares (``float32``, ``string``).
    shape : tuple of int or None
        The shape the reloaded model returned; ``None`` when it returned nothing
        under this alias.
    source_shape : tuple of int or None
        The shape the live source returned; ``None`` without a source.
    max_abs_diff : float or None
        The largest absolute difference for numeric outputs of equal shape;
        ``None`` for strings and booleans (compared exactly) and without a source.
    passed : bool or None
        True when the values agree (``numpy.allclose`` with the report's
        tolerances for numbers, equality otherwise) and the shape fits the
        declared one; False when they do not; ``None`` when there was nothing
        to compare with and the shape fits.
    note : str
        Why it failed, or how it was compared; empty when there is nothing to say.
    """

    alias: str
    dtype: str
    shape: tuple[int, ...] | None
    source_shape: tuple[int, ...] | None
    max_abs_diff: float | None
    passed: bool | None
    note: str = ""

    @property
    def result_text(self) -> str:
        """``pass``, ``FAIL`` or ``ran`` (reloaded and run, not compared)."""
        return {True: "pass", False: "FAIL", None: "ran"}[self.passed]


@dataclass(frozen=True)
class SignatureVerification:
    """What happened to one signature.

    Attributes
    ----------
    name : str
        The signature name.
    ok : bool
        True when it ran without error and no output failed.
    skipped : bool
        True when it was not run (:attr:`skip_reason` says why).
    error : str
        Why it failed to load, run or evaluate on the source; empty otherwise.
    seconds : float
        Wall time of the reloaded signature's call in the worker (tracing included).
    outputs : tuple of OutputComparison
        One per output alias.
    inputs : tuple of InputSummary
        The inputs it was run on.
    skip_reason : str
        Why it was skipped; empty unless :attr:`skipped`.
    """

    name: str
    ok: bool
    skipped: bool
    error: str
    seconds: float
    outputs: tuple[OutputComparison, ...] = ()
    inputs: tuple[InputSummary, ...] = ()
    skip_reason: str = ""

    def output(self, alias: str) -> OutputComparison:
        """The comparison of output ``alias``.

        Raises
        ------
        KeyError
            When the signature has no such output; the message lists the aliases.
        """
        for output in self.outputs:
            if output.alias == alias:
                return output
        raise KeyError(f"Signature {self.name!r} has no output {alias!r}; its outputs are "
                       f"{', '.join(repr(o.alias) for o in self.outputs) or 'none'}.")


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`; renders itself as a table in a notebook.

    Attributes
    ----------
    path : str
        The SavedModel directory that was loaded.
    signatures : tuple of SignatureVerification
        One per signature verified or skipped, in order.
    atol, rtol : float
        The tolerances of the numeric comparison.
    seconds : float
        Wall time of the whole verification.
    tensorflow_version : str
        The TensorFlow of the worker process; empty when it did not report one.
    compared_with_source : bool
        True when the outputs were compared with a live source.
    error : str
        Why the worker process failed as a whole (a crash or a timeout, with the
        tail of its stderr); empty otherwise. Failures of single signatures,
        including a failed load, are in :attr:`signatures`.
    tags : tuple of str
        The tags the SavedModel was loaded with: ``("serve",)``, as TF Serving
        loads it, when a meta graph is tagged ``serve``; else the first meta
        graph's tags, which no server would load (see :attr:`note`).
    runtime : str
        The runtime the export was loaded in, when it was not the installed TensorFlow:
        ``"TensorFlow 1.15.0, the runtime of EAS tensorflow_cpu_1.15"``; empty otherwise.
    """

    path: str
    signatures: tuple[SignatureVerification, ...]
    atol: float
    rtol: float
    seconds: float
    tensorflow_version: str
    compared_with_source: bool
    error: str = ""
    tags: tuple[str, ...] = (SERVE_TAG,)
    runtime: str = ""

    @classmethod
    def not_run(cls, path: str, reason: str) -> VerifyReport:
        """A report of a verification that could not start, saying why."""
        return cls(path, (), 1e-5, 1e-5, 0.0, "", False, error=reason)

    @property
    def note(self) -> str:
        """What the verdict does not cover; empty when the serving meta graph was loaded."""
        if SERVE_TAG in self.tags:
            return ""
        tags = ", ".join(repr(tag) for tag in self.tags) or "no tags"
        return (f"the meta graph loaded is tagged {tags}: none is tagged {SERVE_TAG!r}, "
                "so a server would not load this SavedModel")

    @property
    def ok(self) -> bool:
        """True when at least one signature was verified and none failed.

        Skipped signatures do not count as failures; :meth:`summary` names them.
        """
        ran = [s for s in self.signatures if not s.skipped]
        return not self.error and bool(ran) and all(s.ok for s in ran)

    @property
    def max_abs_diff(self) -> float | None:
        """The largest absolute difference over all compared outputs, or ``None``."""
        diffs = [o.max_abs_diff for s in self.signatures for o in s.outputs
                 if o.max_abs_diff is not None]
        return max(diffs) if diffs else None

    def signature(self, name: str) -> SignatureVerification:
        """The verification of signature ``name``.

        Raises
        ------
        KeyError
            When it was not verified; the message lists the names that were.
        """
        for signature in self.signatures:
            if signature.name == name:
                return signature
        raise KeyError(f"No signature {name!r} in this report; it has "
                       f"{', '.join(repr(s.name) for s in self.signatures) or 'none'}.")

    def summary(self) -> str:
        """One line: the path, the verdict, what was verified and the first problems."""
        return f"Verify {self.path}: {self.verdict()}"

    def verdict(self) -> str:
        """:meth:`summary` without the path: ``OK: ...``, ``FAILED: ...`` or
        ``nothing verified...``."""
        ran = [s for s in self.signatures if not s.skipped]
        skipped = [s for s in self.signatures if s.skipped]
        tail = "".join(f"; skipped {s.name!r}: {s.skip_reason}" for s in skipped)
        tail += f"; but {self.note}" * bool(self.note)
        if self.error:
            return _one_line(f"FAILED: {self.error}")
        if not ran:
            return _one_line(f"nothing verified{tail}")
        if self.ok:
            if self.compared_with_source:
                diff = self.max_abs_diff
                how = "outputs match the source" + (
                    f" (max |diff| {diff:.3g})" if diff is not None else "")
            else:
                how = "outputs not compared with a source"
            return _one_line(
                f"OK: {count_text(len(ran), 'signature')} {self.loaded_in}, {how}{tail}"
            )
        problems = [_signature_problem(s) for s in ran if not s.ok]
        return _one_line(f"FAILED: {'; '.join(problems)}{tail}")

    @property
    def loaded_in(self) -> str:
        """``loaded and run in TensorFlow 1.15.0, the runtime of EAS tensorflow_cpu_1.15``,
        or ``reloaded and run in TensorFlow 2.21.0`` for the installed TensorFlow."""
        if self.runtime:
            return f"loaded and run in {self.runtime}"
        version = f" in TensorFlow {self.tensorflow_version}" * bool(self.tensorflow_version)
        return f"reloaded and run{version}"

    def rows(self) -> list[dict[str, Any]]:
        """One dict per output of every signature (one per skipped or failed signature
        without outputs), with keys ``signature``, ``output``, ``dtype``, ``shape``,
        ``source_shape``, ``max_abs_diff``, ``result`` and ``note``."""
        rows: list[dict[str, Any]] = []
        for signature in self.signatures:
            if signature.skipped or not signature.outputs:
                result = "skipped" if signature.skipped else "error"
                note = signature.skip_reason if signature.skipped else signature.error
                rows.append({"signature": signature.name, "output": None, "dtype": None,
                             "shape": None, "source_shape": None, "max_abs_diff": None,
                             "result": result, "note": note})
                continue
            for output in signature.outputs:
                note = "; ".join(filter(None, [output.note, signature.error]))
                rows.append({"signature": signature.name, "output": output.alias,
                             "dtype": output.dtype, "shape": output.shape,
                             "source_shape": output.source_shape,
                             "max_abs_diff": output.max_abs_diff,
                             "result": output.result_text, "note": note})
        return rows

    def to_frame(self) -> pandas.DataFrame:
        """:meth:`rows` as a pandas DataFrame."""
        import pandas

        columns = ["signature", "output", "dtype", "shape", "source_shape", "max_abs_diff",
                   "result", "note"]
        return pandas.DataFrame(self.rows(), columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of everything, with ``ok`` and ``note`` added."""
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        data["note"] = self.note
        return data

    def _repr_html_(self) -> str:
        return render_report_html(self)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _signature_problem(signature: SignatureVerification) -> str:
    if signature.error:
        return f"{signature.name!r}: {signature.error}"
    failed = [o for o in signature.outputs if o.passed is False]
    details = ", ".join(f"{o.alias} ({o.note})" if o.note else o.alias for o in failed)
    return f"{signature.name!r}: {details}"


# --- comparing ---------------------------------------------------------------


def _comparable(value: Any) -> numpy.ndarray:
    import numpy as np

    array = np.asarray(value)
    if array.dtype.hasobject or array.dtype.kind == "U":
        array = bytes_array(array)
    return array


def _shape_fits(shape: tuple[int, ...], declared: tuple[int | None, ...] | None) -> bool:
    if declared is None:
        return True
    return len(shape) == len(declared) and all(
        d is None or d == s for s, d in zip(shape, declared, strict=True)
    )


def _max_abs_diff(reloaded: numpy.ndarray, expected: numpy.ndarray) -> float:
    import numpy as np

    if reloaded.size == 0:
        return 0.0
    wide = np.complex128 if "c" in (reloaded.dtype.kind, expected.dtype.kind) else np.float64
    a, b = reloaded.astype(wide), expected.astype(wide)
    diff = np.abs(a - b)
    diff[np.isnan(a) & np.isnan(b)] = 0.0
    return float(diff.max())


def compare_output(
    alias: str,
    declared: TensorInfo | None,
    reloaded: numpy.ndarray | None,
    expected: Any | None,
    *,
    atol: float,
    rtol: float,
    note: str = "",
) -> OutputComparison:
    """Compare one reloaded output with the source's (or only with its declared shape).

    Parameters
    ----------
    alias : str
        The output alias.
    declared : TensorInfo or None
        The output as the signature declares it.
    reloaded : numpy.ndarray or None
        What the reloaded signature returned; ``None`` when it returned nothing.
    expected : array-like or None
        What the source returned; ``None`` without a source.
    atol, rtol : float
        Tolerances for ``numpy.allclose`` on numeric outputs.
    note : str
        A note from the worker (e.g. a sparse output densified).

    Returns
    -------
    OutputComparison
    """
    import numpy as np

    dtype = declared.dtype if declared is not None else (
        dtype_text(reloaded) if reloaded is not None else "")
    notes = [note] if note else []
    if reloaded is None:
        return OutputComparison(alias, dtype, None, None, None, False,
                                "the reloaded signature returned no such output")
    shape = tuple(int(d) for d in reloaded.shape)
    passed: bool | None = None
    if declared is not None and not _shape_fits(shape, declared.shape):
        passed = False
        notes.append(f"shape {format_shape(shape)} does not fit the declared "
                     f"{declared.shape_text}")
    if expected is None:
        return OutputComparison(alias, dtype, shape, None, None, passed, "; ".join(notes))
    try:
        source = _comparable(expected)
    except (TypeError, ValueError) as error:
        notes.append(f"the source's output cannot be compared: {error}")
        return OutputComparison(alias, dtype, shape, None, None, False, "; ".join(notes))
    source_shape = tuple(int(d) for d in source.shape)
    if source_shape != shape:
        notes.append(f"the source returned shape {format_shape(source_shape)}")
        return OutputComparison(alias, dtype, shape, source_shape, None, False,
                                "; ".join(notes))
    numeric = "fciu"
    if reloaded.dtype.kind in numeric and source.dtype.kind in numeric:
        diff = _max_abs_diff(reloaded, source)
        close = bool(np.allclose(reloaded, source, atol=atol, rtol=rtol, equal_nan=True))
        if not close:
            notes.append(f"values differ beyond atol={atol:g}, rtol={rtol:g}")
        return OutputComparison(alias, dtype, shape, source_shape, diff,
                                close and passed is not False, "; ".join(notes))
    if (reloaded.dtype.kind in numeric) != (source.dtype.kind in numeric):
        notes.append(f"the source returned {dtype_text(source)} values")
        return OutputComparison(alias, dtype, shape, source_shape, None, False,
                                "; ".join(notes))
    different = int(np.count_nonzero(reloaded != source))
    if different:
        notes.append(f"{different} of {reloaded.size} values differ")
    else:
        notes.append("compared exactly")
    return OutputComparison(alias, dtype, shape, source_shape, None,
                            not different and passed is not False, "; ".join(notes))


# --- the worker process ------------------------------------------------------


@dataclass
class _Job:
    signature: Signature
    spec: SignatureSpec | None
    arrays: dict[str, Any]
    inputs: tuple[InputSummary, ...]
    skip_reason: str = ""


# --- verify ------------------------------------------------------------------


def _resolve_target(
    result_or_path: Target, source: Any
) -> tuple[SavedModelInfo, dict[str, SignatureSpec] | None, Any]:
    if isinstance(result_or_path, ExportResult):
        info = result_or_path.info  # read back by the export
        specs = {s.name: s for s in result_or_path.spec.signatures}
        return info, specs, result_or_path.spec.source if source is None else source
    if isinstance(result_or_path, SavedModelInfo):
        info = result_or_path
    elif isinstance(result_or_path, (str, os.PathLike)):
        info = read_saved_model(result_or_path)
    else:
        raise VerifyError(
            "verify needs an ExportResult (what export() returns) or the path of a SavedModel "
            f"directory, not {type(result_or_path).__name__}."
        )
    if source is not None:
        raise VerifyError(
            "Comparing with a source needs the export spec that maps each alias to the "
            "source's tensors, and a path does not have one. Pass the ExportResult that "
            "export() returned, or leave out source= to reload and run the SavedModel alone."
        )
    return info, None, None


def _check_settings(atol: float, rtol: float, batch_size: int, timeout: float) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise VerifyError(f"batch_size must be a positive integer, not {batch_size!r}.")
    if not timeout > 0:
        raise VerifyError(f"timeout must be a positive number of seconds, not {timeout!r}.")
    if not (atol >= 0 and rtol >= 0):
        raise VerifyError(f"atol and rtol must not be negative (got {atol!r}, {rtol!r}).")


def verify(
    result_or_path: Target,
    source: Any = None,
    inputs: Inputs | None = None,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    batch_size: int = 2,
    timeout: float = 120.0,
    runtime: str | Runtime | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Reload an export in a fresh Python process, run its signatures and compare.

    The worker process loads the SavedModel as TF Serving does, with
    ``tf.compat.v1.saved_model.loader.load`` and the tags ``serve`` in a graph
    session (variables restored, main op run), and runs each signature on its
    input aliases. A model TF Serving would refuse fails here with
    TensorFlow's own error: no meta graph tagged exactly ``serve``, a lookup
    table that no init op fills ("Table not initialized"), a missing variable
    shard. Only when no meta graph is tagged ``serve`` at all is the first one
    loaded with its own tags, and :attr:`VerifyReport.note` says that no server
    would load it. With a source, the live model is run on
    the same inputs in this process and each output alias is compared: equal
    shapes, and ``numpy.allclose(reloaded, source, atol=atol, rtol=rtol)`` for
    numbers, exact equality for strings and booleans.

    Parameters
    ----------
    result_or_path : ExportResult, SavedModelInfo, str or os.PathLike
        What :func:`~savedmodel_widgets.export` returned (only the
        signatures of its spec are verified), or a SavedModel directory (or a
        parent of version directories, as :func:`read_saved_model` reads it):
        every signature of its serving meta graph is verified, without a source.
    source : object, optional
        The live model to compare with; by default the result's
        ``spec.source``. It must have the tensors the spec names (the same
        model, or a copy of it). Not allowed with a path, which has no spec
        mapping the aliases to the source's tensors.
    inputs : dict, optional
        ``{alias: array}``, used for every signature with that input alias, or
        ``{signature name: {alias: array}}``. Arrays are converted to the
        declared dtype (``str`` is encoded as UTF-8). Missing inputs are
        generated: the first unknown dimension is the batch (``batch_size``, or
        the batch of a given input), other unknown dimensions are 3; floats are
        uniform in [0, 1) from ``numpy.random.default_rng(0)``, integers in
        {0, 1} (valid embedding indices), booleans random, strings ``b"a"``.
    atol, rtol : float
        Tolerances for numeric outputs.
    batch_size : int
        The generated batch dimension.
    timeout : float
        Seconds the worker process may take, TensorFlow's import included.
    runtime : str or Runtime, optional
        Where to load the export (see :func:`~savedmodel_widgets.runtimes`). ``None``:
        the runtime an :class:`~savedmodel_widgets.ExportResult` was made for, else the
        installed TensorFlow. ``"installed"``: the installed TensorFlow, as above. Any other runtime
        (``"eas:tensorflow_cpu_1.15"``, ``"tfserving:2.7"``): that release's own
        TensorFlow, fetched once into the cache with pip, loads the export with its C
        API (``TF_LoadSessionFromSavedModel``, the loader servers use) in a new process
        and runs each signature; a refusal fails the report with TensorFlow's message,
        and the report names the runtime. A runtime that cannot be fetched fails the
        report with the reason in :attr:`VerifyReport.error`.
    progress : callable, optional
        Called with a message before slow steps: fetching a runtime (with its size),
        loading the export in it.

    Returns
    -------
    VerifyReport
        A signature whose inputs are sparse or composite, or whose inputs
        cannot be generated (unknown rank, a dtype such as ``resource``) and
        were not given, is reported as skipped. A failed load or signature call
        is reported per signature; a crash or timeout of the worker in
        :attr:`VerifyReport.error` with the tail of its stderr. Nothing of that
        is raised.

    Raises
    ------
    VerifyError
        For arguments that cannot be used: a source with a path, an input
        alias or signature name that does not exist, an input that cannot be
        converted to its dtype.
    SavedModelError
        When the path holds no readable SavedModel.
    SourceError
        When the source cannot be opened (e.g. a closed session).
    """
    started = time.perf_counter()
    _check_settings(atol, rtol, batch_size, timeout)
    if runtime is None and isinstance(result_or_path, ExportResult):
        runtime = result_or_path.runtime
    try:
        chosen = get_runtime(runtime)
    except ValueError as error:
        raise VerifyError(str(error)) from error
    info, specs, source = _resolve_target(result_or_path, source)
    meta_graph = info.main_meta_graph
    if meta_graph is None:
        raise SavedModelError(f"{info.path} has no meta graph, so there is nothing to verify.")
    names = list(specs) if specs is not None else list(meta_graph.signature_names)
    signatures, verified = [], {}
    for name in names:
        try:
            signatures.append(meta_graph.signature(name))
        except SavedModelError as error:
            verified[name] = SignatureVerification(name, False, False, str(error), 0.0)
    given = split_inputs(inputs, signatures)
    live = None
    if source is not None and specs is not None:
        live = open_source(source)

    jobs = []
    for signature in signatures:
        spec = specs.get(signature.name) if specs is not None else None
        try:
            arrays, summaries = signature_inputs(signature, given[signature.name], batch_size)
            jobs.append(_Job(signature, spec, arrays, summaries))
        except SkipSignature as skip:
            jobs.append(_Job(signature, spec, {}, (), str(skip)))
    runnable = [job for job in jobs if not job.skip_reason]
    tags = (SERVE_TAG,) if SERVE_TAG in meta_graph.tags else meta_graph.tags
    calls = [(job.signature.name, job.arrays) for job in runnable]
    result, worker_error = _run(chosen, info.path, tags, calls, timeout, progress)
    runtime_text = "" if chosen.is_installed else describe_runtime(
        chosen, result.get("tensorflow_version", ""))
    if result.get("load_error") and runtime_text:
        result["load_error"] = f"refused by {runtime_text}: {result['load_error']}"
    outcomes = {o["name"]: o for o in result.get("signatures", [])}

    for job in jobs:
        verified[job.signature.name] = _verify_job(
            job, outcomes.get(job.signature.name), result, worker_error, live, atol, rtol
        )
    return VerifyReport(
        path=info.path,
        signatures=tuple(verified[name] for name in names),
        atol=atol,
        rtol=rtol,
        seconds=time.perf_counter() - started,
        tensorflow_version=result.get("tensorflow_version", ""),
        compared_with_source=live is not None,
        tags=tags,
        error=worker_error,
        runtime=runtime_text,
    )


def _run(
    runtime: Runtime,
    path: str,
    tags: tuple[str, ...],
    calls: list[tuple[str, dict[str, Any]]],
    timeout: float,
    progress: Progress | None,
) -> tuple[dict[str, Any], str]:
    """Load and run in the installed TensorFlow's worker or in ``runtime``'s own."""
    if not calls:
        return {}, ""
    if runtime.is_installed:
        return run_worker(WORKER_MODULE, path, tags, calls, timeout)
    return run_worker_in_runtime(runtime, path, tags, calls, timeout, progress)


def _verify_job(
    job: _Job,
    outcome: dict[str, Any] | None,
    result: dict[str, Any],
    worker_error: str,
    live: Any,
    atol: float,
    rtol: float,
) -> SignatureVerification:
    name = job.signature.name
    if job.skip_reason:
        return SignatureVerification(name, False, True, "", 0.0, (), job.inputs, job.skip_reason)

    def failed(message: str, seconds: float = 0.0,
               outputs: tuple[OutputComparison, ...] = ()) -> SignatureVerification:
        return SignatureVerification(name, False, False, message, seconds, outputs, job.inputs)

    if worker_error:
        return failed("Not verified: the verification process failed (see the report's error).")
    if result.get("load_error"):
        return failed(f"Loading the SavedModel failed: {result['load_error']}")
    if outcome is None:
        return failed("The verification process did not report this signature.")
    if outcome["error"]:
        return failed(f"Running the reloaded signature failed: {outcome['error']}")
    arrays, seconds = outcome["arrays"], float(outcome["seconds"])
    notes = {o["alias"]: o["note"] for o in outcome["outputs"]}
    expected: dict[str, Any] | None = None
    source_error = ""
    if live is not None and job.spec is not None:
        try:
            expected = live.evaluate(job.spec, job.arrays)
        except Exception as error:  # the source's own failure is part of the report
            source_error = f"Evaluating the source failed: {type(error).__name__}: {error}"
    declared = {t.alias: t for t in job.signature.outputs}
    aliases = list(declared) + [alias for alias in arrays if alias not in declared]
    outputs = []
    for alias in aliases:
        output = compare_output(
            alias,
            declared.get(alias),
            arrays.get(alias),
            None if expected is None else expected.get(alias),
            atol=atol,
            rtol=rtol,
            note=notes.get(alias, ""),
        )
        if expected is not None and alias not in expected:
            note = "; ".join(filter(None, [output.note, "the source returned no such output"]))
            output = dataclasses.replace(output, passed=False, note=note)
        outputs.append(output)
    if source_error:
        return failed(source_error, seconds, tuple(outputs))
    ok = all(output.passed is not False for output in outputs)
    return SignatureVerification(name, ok, False, "", seconds, tuple(outputs), job.inputs)
