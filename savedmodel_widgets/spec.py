"""What an export is: the plain data that passes between the export modules.

:class:`SignatureSpec` and :class:`ExportSpec` say what to write and where;
:class:`ExportResult` says what was written; :class:`ExportProgress` is one step
of the work. Besides the reader's data layer (:mod:`savedmodel_widgets.savedmodel`,
which imports no export module) nothing of the project is imported here, so every
export module (sources, validation, codegen, verifier, exporter) can import this
one and none of them is imported back.

Examples
--------
>>> SignatureSpec("predict_images", inputs={"image": "image"},
...               outputs={"scores": "probabilities"})            # doctest: +SKIP
>>> ExportSpec(model, [signature], "export/digits", version="auto")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .runtimes.catalogue import INSTALLED
from .savedmodel.info import DEFAULT_SIGNATURE, SERVE_TAG, SavedModelInfo
from .savedmodel.text import format_bytes

if TYPE_CHECKING:
    from .verifier import VerifyReport

__all__ = [
    "ExportProgress",
    "ExportResult",
    "ExportSpec",
    "Pairs",
    "PairsLike",
    "ProgressCallback",
    "SignatureSpec",
    "Version",
    "holds_files",
    "next_version",
    "target_path",
]

Version = int | Literal["auto"] | None
"""A version directory: a number, ``"auto"`` (the next free number) or None (no
version directory)."""

Pairs = tuple[tuple[str, str], ...]
"""``(alias, candidate name)`` pairs, in order."""

PairsLike = Mapping[str, str] | Iterable[tuple[str, str]]
"""What :class:`SignatureSpec` accepts for its inputs and outputs: ``{alias: candidate}``
or ``(alias, candidate)`` pairs."""



def _pairs(value: PairsLike) -> Pairs:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(alias), str(name)) for alias, name in items)


@dataclass(frozen=True, init=False)
class SignatureSpec:
    """One signature of an export: its name, method, and aliased inputs and outputs.

    Parameters
    ----------
    name : str
        The signature name a client sends (``serving_default``, ``predict_images``).
    inputs, outputs : Mapping[str, str] or iterable of (alias, candidate) pairs
        ``{alias: candidate name}``; the candidate names come from
        :func:`~savedmodel_widgets.list_candidates`. Stored as a tuple of pairs,
        in order.
    method : {"predict", "classify", "regress"}
        The SignatureDef method; only TF1 sources can write other than ``predict``.
    """

    name: str
    inputs: Pairs
    outputs: Pairs
    method: str

    def __init__(self, name: str = DEFAULT_SIGNATURE, inputs: PairsLike = (),
                 outputs: PairsLike = (), method: str = "predict") -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "inputs", _pairs(inputs))
        object.__setattr__(self, "outputs", _pairs(outputs))
        object.__setattr__(self, "method", method)

    @property
    def input_aliases(self) -> tuple[str, ...]:
        """The input aliases in order."""
        return tuple(alias for alias, _ in self.inputs)

    @property
    def output_aliases(self) -> tuple[str, ...]:
        """The output aliases in order."""
        return tuple(alias for alias, _ in self.outputs)


@dataclass(frozen=True, init=False)
class ExportSpec:
    """Everything one export needs; :func:`~savedmodel_widgets.export` carries it out.

    Parameters
    ----------
    source : object
        The live model: a built Keras 3 or tf_keras model, a
        ``tf.compat.v1.Session`` (or a ``tf.Graph`` without variables), or a
        ``tf.Module`` with ``tf.function`` methods.
    signatures : SignatureSpec or sequence of SignatureSpec
        At least one; names unique and not starting with ``__``.
    directory : str or os.PathLike
        Where the SavedModel goes (the model directory, or with a version the
        parent of the version directories).
    version : int, "auto" or None
        ``None`` writes into ``directory`` itself; an integer into
        ``directory/N``; ``"auto"`` into the next free integer (the TF
        Serving layout: 1, 2, 3, ...).
    tags : str or sequence of str
        MetaGraph tags; ``("serve",)`` by default. Only TF1 sources can set others.
    overwrite : bool
        Replace an existing non-empty target (atomically). Default False.
    source_name : str
        The variable name of the source, used by the generated code.
    load_code : str
        Code that creates the source variable (loading a model file), put
        first by the generated code; empty for a model built in the notebook.
    runtime : str
        The TensorFlow the export is for (see :func:`~savedmodel_widgets.runtimes`):
        ``"installed"`` (the default) writes what the installed TensorFlow writes; an
        older runtime, such as ``"eas:tensorflow_cpu_1.15"`` or ``"tfserving:2.7"``,
        gets a SavedModel that runtime loads.
    """

    source: Any = field(repr=False, compare=False)
    signatures: tuple[SignatureSpec, ...]
    directory: str | os.PathLike[str]
    version: Version
    tags: tuple[str, ...]
    overwrite: bool
    source_name: str
    load_code: str = field(repr=False)
    runtime: str = INSTALLED

    def __init__(
        self,
        source: Any,
        signatures: SignatureSpec | Sequence[SignatureSpec],
        directory: str | os.PathLike[str],
        version: Version = None,
        *,
        tags: str | Sequence[str] = (SERVE_TAG,),
        overwrite: bool = False,
        source_name: str = "model",
        load_code: str = "",
        runtime: str = INSTALLED,
    ) -> None:
        if isinstance(signatures, SignatureSpec):
            signatures = (signatures,)
        values = {
            "source": source,
            "signatures": tuple(signatures),
            "directory": directory,
            "version": version,
            "tags": (tags,) if isinstance(tags, str) else tuple(tags),
            "overwrite": overwrite,
            "source_name": source_name,
            "load_code": load_code,
            "runtime": runtime,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes: Any) -> ExportSpec:
        """A copy with some fields changed (``spec.replace(version="auto")``)."""
        return dataclasses.replace(self, **changes)


def target_path(spec: ExportSpec) -> Path:
    """Where ``spec`` writes: the directory, or its version sub-directory.

    For ``version="auto"`` this is the next free integer at the time of the call.
    """
    directory = Path(spec.directory).expanduser()
    if spec.version is None:
        return directory
    if spec.version == "auto":
        return directory / str(next_version(directory))
    return directory / str(spec.version)


def next_version(directory: Path) -> int:
    """One more than the highest numeric sub-directory of ``directory`` (1 when none)."""
    if not directory.is_dir():
        return 1
    numbers = [int(p.name) for p in directory.iterdir() if p.name.isdigit()]
    return max(numbers, default=0) + 1


def holds_files(target: Path) -> bool:
    """Whether ``target`` is a directory with something in it (an export refuses it
    without ``overwrite``)."""
    return target.is_dir() and any(target.iterdir())


@dataclass(frozen=True)
class ExportProgress:
    """One step of an export, for a progress bar or a log.

    Attributes
    ----------
    step : int
        The number of this step, from 1; the last step has ``step == total``.
    total : int
        How many steps the whole call takes (known from the start).
    message : str
        What happens now, e.g. ``Tracing signature 'predict_images'``.
    """

    step: int
    total: int
    message: str

    def __str__(self) -> str:
        return f"[{self.step}/{self.total}] {self.message}"


ProgressCallback = Callable[[ExportProgress], None]
"""Called with each :class:`ExportProgress` of an export."""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`~savedmodel_widgets.export` wrote, and what it found out about it.

    Attributes
    ----------
    path : pathlib.Path
        The SavedModel directory (with the version directory, if any).
    spec : ExportSpec
        The spec that was exported, with ``version="auto"`` replaced by the number
        written, so ``export_code(result.spec)`` writes the same directory.
    info : SavedModelInfo
        The export read back from disk.
    bytes_written : int
        Total size of the files written.
    seconds : float
        Wall time of writing and reading back (verification not included: see
        ``report.seconds``).
    code : str
        The plain TensorFlow code that makes the same export (see
        :func:`~savedmodel_widgets.export_code`); when it cannot be written, a
        comment that says why.
    report : VerifyReport or None
        The verification, when ``export`` was called with ``verify=True``.
    """

    path: Path
    spec: ExportSpec = field(repr=False)
    info: SavedModelInfo = field(repr=False)
    bytes_written: int
    seconds: float
    code: str = field(default="", repr=False)
    report: VerifyReport | None = field(default=None, repr=False)

    @property
    def runtime(self) -> str:
        """The runtime the export was made for (``spec.runtime``): ``"installed"``, or an
        older one such as ``"eas:tensorflow_cpu_1.15"``, for which the export is a TF1
        graph with reference variables that runtime loads."""
        return self.spec.runtime

    @property
    def version(self) -> int | None:
        """The version directory number, or None without one."""
        return self.info.version

    def _repr_html_(self) -> str:
        from html import escape

        made_for = "" if self.runtime == INSTALLED else f" for {escape(self.runtime)}"
        head = (
            f"<p>Exported <code>{escape(str(self.path))}</code>{made_for}: "
            f"{format_bytes(self.bytes_written)} in {self.seconds:.2f} s</p>"
        )
        report = self.report._repr_html_() if self.report is not None else ""
        return head + self.info._repr_html_() + report
