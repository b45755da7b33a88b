"""ExportSpec -> SavedModel on disk, in one call: validated first, written atomically,
read back, its plain TensorFlow code written, and verified when asked.

Examples
--------
>>> spec = suggest_spec(model, "export/digits", version="auto")  # doctest: +SKIP
>>> result = export(spec, verify=True, progress=print)           # doctest: +SKIP
>>> result.info.signature_table(), result.report.ok             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from . import _atomic
from .codegen import export_code
from .compat_export import (
    CompatibleExport,
    needs_compatible_export,
    prepare_compatible_export,
    prepare_steps,
)
from .errors import ExportError, SavedModelWidgetsError, TargetExistsError
from .runtimes.catalogue import INSTALLED
from .savedmodel.reader import read_saved_model
from .sources import Source
from .spec import (
    ExportProgress,
    ExportResult,
    ExportSpec,
    ProgressCallback,
    holds_files,
    target_path,
)
from .validation import validate
from .verifier import Inputs, VerifyReport, verify

__all__ = ["export"]


class _Steps:
    """Numbers the messages of one export for its progress callback."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.done = 0
        self.callback = callback

    def __call__(self, message: str) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(ExportProgress(min(self.done, self.total), self.total, message))

    def note(self, message: str) -> None:
        """Report ``message`` within the current step (a slow part of it)."""
        if self.callback is not None:
            self.callback(ExportProgress(min(self.done, self.total), self.total, message))


def export(
    spec: ExportSpec,
    *,
    verify: bool = False,
    inputs: Inputs | None = None,
    progress: ProgressCallback | None = None,
) -> ExportResult:
    """Write the SavedModel described by ``spec``, read it back, and verify it if asked.

    The spec is validated first; then the model is written into a staging
    directory beside the target and renamed into place, so an interrupted
    export (even SIGKILL) leaves either the old target or the complete new
    export. The result holds the export read back with
    :func:`~savedmodel_widgets.read_saved_model`, the plain TensorFlow code that
    does the same (:func:`~savedmodel_widgets.export_code`) and, with
    ``verify=True``, the :class:`~savedmodel_widgets.VerifyReport`.

    Parameters
    ----------
    spec : ExportSpec
        What to export and where.
    verify : bool
        Reload the export in a fresh Python process, run every signature and
        compare its outputs with the live model (see :func:`~savedmodel_widgets.verify`).
    inputs : dict, optional
        The inputs verification runs on, as for :func:`~savedmodel_widgets.verify`;
        generated where not given.
    progress : callable, optional
        Called with an :class:`~savedmodel_widgets.ExportProgress` at each step;
        its ``total`` is known from the first step, and the last step has
        ``step == total``.

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportSpecError
        A name, alias or setting in the spec is not valid (nothing written).
    TargetExistsError
        The target holds files and neither ``overwrite`` nor ``version="auto"`` is set.
    SourceError
        The source cannot be exported.
    ExportError
        TensorFlow could not write the SavedModel (nothing written).
    """
    started = time.perf_counter()
    source = validate(spec)
    compatible = needs_compatible_export(spec)
    write_steps = (prepare_steps(source, spec.signatures) + 1 if compatible
                   else source.write_steps(spec.signatures))
    steps = _Steps(5 + write_steps + int(verify), progress)
    steps("Checked the export spec")
    target = target_path(spec)
    _refuse_existing(target, spec)
    prepared = None
    if compatible:  # frozen, rebuilt and checked against the runtime before anything is written
        with _tensorflow_errors():
            prepared = prepare_compatible_export(source, spec, steps)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic.remove_stale_staging(target.parent)
        staging = _atomic.staging_path(target)
        try:
            _write(source, spec, staging, steps, prepared)
            steps(f"Moving the export into place at {target}")
            target = _publish(staging, target, spec)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    finally:
        if prepared is not None:
            prepared.close()
    steps("Reading the export back")
    info = read_saved_model(target)
    written = spec.replace(version=info.version) if spec.version == "auto" else spec
    seconds = time.perf_counter() - started
    steps("Writing the equivalent TensorFlow code")
    result = ExportResult(target, written, info, info.total_bytes, seconds,
                          code=_code(written, source))
    if verify:
        steps("Verifying: reloading the export in a fresh Python process"
              if spec.runtime == INSTALLED else f"Verifying: loading the export in {spec.runtime}")
        result = dataclasses.replace(result, report=_verify(result, source, inputs, steps.note))
    steps(f"Done: {target}")
    return result


def _code(spec: ExportSpec, source: Source) -> str:
    """The export's code, or a comment that says why it cannot be written."""
    try:
        return export_code(spec, source=source)
    except Exception as error:  # the export itself worked; say why there is no code
        return f"# The equivalent code could not be written: {type(error).__name__}: {error}\n"


def _verify(result: ExportResult, source: Source, inputs: Inputs | None,
            progress: Callable[[str], None]) -> VerifyReport:
    """The verification of a finished export, in the runtime the export was made for; a
    refusal of its arguments becomes a report that says why, so the export's result is
    not lost."""
    try:
        return verify(result, source=source, inputs=inputs, progress=progress)
    except SavedModelWidgetsError as error:
        return VerifyReport.not_run(str(result.path), str(error))


def _refuse_existing(target: Path, spec: ExportSpec) -> None:
    if target.is_file():
        raise TargetExistsError(f"The target {target} is a file; choose a directory path.")
    if spec.overwrite or not holds_files(target):
        return
    contents = ", ".join(sorted(p.name for p in target.iterdir())[:5])
    raise TargetExistsError(
        f"The target {target} already holds files ({contents}). Nothing was written. Set "
        "overwrite=True to replace it, use version='auto' to write the next version "
        "directory, or choose another directory."
    )


def _write(source: Source, spec: ExportSpec, staging: Path, report: _Steps,
           prepared: CompatibleExport | None) -> None:
    """Let the source write, or write the compatible export prepared for the runtime."""
    with _tensorflow_errors():
        if prepared is None:
            source.write(spec.signatures, spec.tags, staging, report)
        else:
            prepared.write(staging, spec.tags, report)


@contextlib.contextmanager
def _tensorflow_errors() -> Iterator[None]:
    """TensorFlow's own failures in the block become an :class:`ExportError`."""
    try:
        yield
    except SavedModelWidgetsError:
        raise
    except Exception as error:
        name = type(error).__name__
        summary = _error_summary(str(error))
        hint = ""
        if name == "FailedPreconditionError" and "uninitialized" in str(error).lower():
            hint = (
                " A variable has no value yet: run the initializer "
                "(sess.run(tf.compat.v1.global_variables_initializer())) or restore a "
                "checkpoint into the session before exporting."
            )
        raise ExportError(
            f"TensorFlow could not write the SavedModel ({name}: {summary}).{hint} "
            "Nothing was written to the target."
        ) from error


def _error_summary(message: str, limit: int = 300) -> str:
    """The line of a TensorFlow error that says what went wrong, without stack and node lines."""
    skipped = ("Graph execution error", "Detected at node", "File ", "Node:", "[[")
    for line in message.splitlines():
        line = line.strip()
        if line and not line.startswith(skipped):
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return message.strip()[:limit]


def _publish(staging: Path, target: Path, spec: ExportSpec) -> Path:
    """Move the staging directory into place and return where it went.

    Raises
    ------
    TargetExistsError
        When another process filled the target meanwhile (a fixed version, or an
        ``auto`` version taken twice in a row).
    """
    if spec.overwrite:
        _atomic.publish_replacing(staging, target)
        return target
    for _ in range(2 if spec.version == "auto" else 1):
        try:
            _atomic.publish_new(staging, target)
            return target
        except FileExistsError:
            target = target_path(spec)  # another process took this number meanwhile
    raise TargetExistsError(
        f"Another process wrote {target} while this export was being written, so it was "
        "kept and nothing was written. Export again (with version='auto' the next free "
        "number is taken), or set overwrite=True to replace it."
    )
