"""ExportSpec -> SavedModel on disk: validated first, written atomically, read back.

Examples
--------
>>> spec = ExportSpec.for_model(model, "export/digits", version="auto")  # doctest: +SKIP
>>> result = export(spec, progress=print)                                 # doctest: +SKIP
>>> result.info.signature_table()                                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import _atomic
from .errors import ExportError, ExportSpecError, SavedModelWidgetsError, TargetExistsError
from .savedmodel.info import DEFAULT_SIGNATURE, SERVE_TAG, SavedModelInfo
from .sources import is_valid_alias, open_source
from .sources._source import choices_text

if TYPE_CHECKING:
    from .sources import Source
    from .verifier import VerifyReport

__all__ = ["ExportResult", "ExportSpec", "SignatureSpec", "export"]

Version = int | Literal["auto"] | None
Pairs = tuple[tuple[str, str], ...]


def _pairs(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> Pairs:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(alias), str(name)) for alias, name in items)


@dataclass(frozen=True)
class SignatureSpec:
    """One signature of an export: its name, method, and aliased inputs and outputs.

    Parameters
    ----------
    name : str
        The signature name a client sends (``serving_default``, ``predict_images``).
    inputs, outputs : Mapping[str, str] or iterable of (alias, candidate) pairs
        ``{alias: candidate name}``; the candidate names come from
        :func:`~savedmodel_widgets.sources.list_candidates`. Stored as a tuple
        of pairs, in order.
    method : {"predict", "classify", "regress"}
        The SignatureDef method; only TF1 sources can write other than ``predict``.
    """

    name: str = DEFAULT_SIGNATURE
    inputs: Pairs = ()
    outputs: Pairs = ()
    method: str = "predict"

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", _pairs(self.inputs))
        object.__setattr__(self, "outputs", _pairs(self.outputs))

    @property
    def input_aliases(self) -> tuple[str, ...]:
        """The input aliases in order."""
        return tuple(alias for alias, _ in self.inputs)

    @property
    def output_aliases(self) -> tuple[str, ...]:
        """The output aliases in order."""
        return tuple(alias for alias, _ in self.outputs)


@dataclass(frozen=True)
class ExportSpec:
    """Everything one export needs; :func:`export` carries it out.

    Parameters
    ----------
    source : object
        The live model: a built Keras 3 or tf_keras model, a
        ``tf.compat.v1.Session`` (or a ``tf.Graph`` without variables), or a
        ``tf.Module`` with ``tf.function`` methods.
    signatures : tuple of SignatureSpec
        At least one; names unique and not starting with ``__``.
    directory : str or os.PathLike
        Where the SavedModel goes (the model directory, or with a version the
        parent of the version directories).
    version : int, "auto" or None
        ``None`` writes into ``directory`` itself; an integer into
        ``directory/N``; ``"auto"`` into the next free integer (the TF
        Serving layout: 1, 2, 3, ...).
    tags : tuple of str
        MetaGraph tags; ``("serve",)`` by default. Only TF1 sources can set others.
    overwrite : bool
        Replace an existing non-empty target (atomically). Default False.
    source_name : str
        The variable name of the source, used by :meth:`to_code`.
    load_code : str
        Code that creates the source variable (loading a model file), put
        first by :meth:`to_code`; empty for a model built in the notebook.
    """

    source: Any = field(repr=False, compare=False)
    signatures: tuple[SignatureSpec, ...]
    directory: str | os.PathLike[str]
    version: Version = None
    tags: tuple[str, ...] = (SERVE_TAG,)
    overwrite: bool = False
    source_name: str = "model"
    load_code: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        signatures = self.signatures
        if isinstance(signatures, SignatureSpec):
            signatures = (signatures,)
        object.__setattr__(self, "signatures", tuple(signatures))
        object.__setattr__(self, "tags", (self.tags,) if isinstance(self.tags, str)
                           else tuple(self.tags))

    @classmethod
    def for_model(
        cls,
        source: Any,
        directory: str | os.PathLike[str],
        *,
        signature_name: str = DEFAULT_SIGNATURE,
        version: Version = None,
        overwrite: bool = False,
        source_name: str = "model",
    ) -> ExportSpec:
        """A spec with the backend's suggested inputs, outputs and aliases.

        Parameters
        ----------
        source : object
            The live model (see the class parameters).
        directory : str or os.PathLike
            Where the SavedModel goes.
        signature_name : str
            The one signature's name.
        version, overwrite, source_name
            As for the class.
        """
        inputs, outputs = open_source(source).suggest()
        signature = SignatureSpec(signature_name, inputs, outputs)
        return cls(source, (signature,), directory, version, overwrite=overwrite,
                   source_name=source_name)

    def replace(self, **changes: Any) -> ExportSpec:
        """A copy with some fields changed (``spec.replace(version="auto")``)."""
        return dataclasses.replace(self, **changes)

    def to_code(self) -> str:
        """The plain TensorFlow code that makes the same export, as a user would write it."""
        from .codegen import export_code

        return export_code(self)


ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The SavedModel directory (with the version directory, if any).
    spec : ExportSpec
        The spec that was exported, with ``version="auto"`` replaced by the number
        written, so ``result.spec.to_code()`` writes the same directory.
    info : SavedModelInfo
        The export read back from disk.
    bytes_written : int
        Total size of the files written.
    seconds : float
        Wall time of the export, reading back included.
    """

    path: Path
    spec: ExportSpec = field(repr=False)
    info: SavedModelInfo = field(repr=False)
    bytes_written: int
    seconds: float

    @property
    def version(self) -> int | None:
        """The version directory number, or None without one."""
        return self.info.version

    def verify(self, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> VerifyReport:
        """Reload in a fresh process and compare with the source: see :func:`verify`."""
        from .verifier import verify

        return verify(self, source=self.spec.source, inputs=inputs, **kwargs)

    def _repr_html_(self) -> str:
        from html import escape

        from .savedmodel.text import format_bytes

        head = (
            f"<p>Exported <code>{escape(str(self.path))}</code>: "
            f"{format_bytes(self.bytes_written)} in {self.seconds:.2f} s</p>"
        )
        return head + self.info._repr_html_()


def validate(spec: ExportSpec) -> Source:
    """Check a spec against its source without writing anything.

    Returns
    -------
    Source
        The opened source, ready to write.

    Raises
    ------
    ExportSpecError
        With a message that names the valid choices.
    SourceError
        When the source cannot be exported at all.
    """
    source = open_source(spec.source)
    if not spec.signatures:
        raise ExportSpecError("The spec has no signature; add one, e.g. 'serving_default'.")
    names = [signature.name for signature in spec.signatures]
    for signature in spec.signatures:
        _validate_signature(signature, source)
        if names.count(signature.name) > 1:
            raise ExportSpecError(
                f"The signature name {signature.name!r} is used {names.count(signature.name)} "
                "times; each signature needs its own name."
            )
    if not spec.tags or any(not tag for tag in spec.tags):
        raise ExportSpecError("Give at least one non-empty tag; servers load the 'serve' tag.")
    if tuple(spec.tags) != (SERVE_TAG,) and not source.supports_tags:
        raise ExportSpecError(
            f"A {source.kind} source is saved with tf.saved_model.save, which always tags the "
            f"MetaGraph 'serve'; tags {list(spec.tags)} are possible only for TF1 sessions."
        )
    version = spec.version
    if not (version is None or version == "auto" or (isinstance(version, int)
                                                      and not isinstance(version, bool)
                                                      and version >= 0)):
        raise ExportSpecError(
            f"version must be None, a non-negative integer or 'auto', not {version!r}."
        )
    return source


def _validate_signature(signature: SignatureSpec, source: Source) -> None:
    name = signature.name
    if not name or name.startswith("__"):
        raise ExportSpecError(
            f"The signature name {name!r} is not allowed: names starting with '__' are "
            "TensorFlow's own. Use e.g. 'serving_default' or 'predict_images'."
        )
    if signature.method not in source.supports_methods:
        raise ExportSpecError(
            f"Signature {name!r}: method {signature.method!r} is not available for a "
            f"{source.kind} source; choose {choices_text(list(source.supports_methods))}."
        )
    for what, pairs in (("inputs", signature.inputs), ("outputs", signature.outputs)):
        if not pairs:
            raise ExportSpecError(
                f"Signature {name!r} has no {what}; pick at least one tensor for its {what}."
            )
        aliases = [alias for alias, _ in pairs]
        for alias in aliases:
            if not is_valid_alias(alias):
                raise ExportSpecError(
                    f"Signature {name!r}: {alias!r} is not a valid alias. Use letters, digits "
                    "and underscores, starting with a letter (e.g. 'image', 'scores_1')."
                )
    aliases = signature.input_aliases + signature.output_aliases
    repeated = sorted({alias for alias in aliases if aliases.count(alias) > 1})
    if repeated:
        raise ExportSpecError(
            f"Signature {name!r}: the alias{'es' * (len(repeated) > 1)} "
            f"{', '.join(map(repr, repeated))} {'are' if len(repeated) > 1 else 'is'} used "
            "more than once; every input and output of a signature needs its own alias."
        )
    source.check_signature(signature)


def target_path(spec: ExportSpec) -> Path:
    """Where ``spec`` writes: the directory, or its version sub-directory.

    For ``version="auto"`` this is the next free integer at the time of the call.
    """
    directory = Path(spec.directory).expanduser()
    if spec.version is None:
        return directory
    if spec.version == "auto":
        return directory / str(_next_version(directory))
    return directory / str(spec.version)


def _next_version(directory: Path) -> int:
    if not directory.is_dir():
        return 1
    numbers = [int(p.name) for p in directory.iterdir() if p.name.isdigit()]
    return max(numbers, default=0) + 1


def holds_files(target: Path) -> bool:
    """Whether ``target`` is a directory with something in it (an export refuses it
    without ``overwrite``)."""
    return target.is_dir() and any(target.iterdir())


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


def export(spec: ExportSpec, progress: ProgressCallback | None = None) -> ExportResult:
    """Write the SavedModel described by ``spec``.

    The spec is validated first; then the model is written into a staging
    directory beside the target and renamed into place, so an interrupted
    export (even SIGKILL) leaves either the old target or the complete new
    export. The result is read back with :func:`~savedmodel_widgets.read_saved_model`.

    Parameters
    ----------
    spec : ExportSpec
        What to export and where.
    progress : callable, optional
        Called with a short message at each step (for a widget or a log).

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
    """
    from .savedmodel.reader import read_saved_model

    report = progress or (lambda message: None)
    started = time.perf_counter()
    report("Checking the export spec")
    source = validate(spec)
    target = target_path(spec)
    _refuse_existing(target, spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic.remove_stale_staging(target.parent)
    staging = _atomic.staging_path(target)
    try:
        _write(source, spec, staging, report)
        report(f"Moving the export into place at {target}")
        target = _publish(staging, target, spec)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    report("Reading the export back")
    info = read_saved_model(target)
    written = spec.replace(version=info.version) if spec.version == "auto" else spec
    result = ExportResult(target, written, info, info.total_bytes, time.perf_counter() - started)
    report(f"Done: {target}")
    return result


def _write(source: Source, spec: ExportSpec, staging: Path, report: ProgressCallback) -> None:
    """Let the source write; TensorFlow's own failures become an :class:`ExportError`."""
    try:
        source.write(spec.signatures, spec.tags, staging, report)
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
    """Move the staging directory into place and return where it went."""
    if spec.overwrite:
        _atomic.publish_replacing(staging, target)
        return target
    try:
        _atomic.publish_new(staging, target)
    except FileExistsError:
        if spec.version != "auto":
            _refuse_existing(target, spec)
            raise
        target = target_path(spec)  # another process took this number meanwhile
        _atomic.publish_new(staging, target)
    return target
