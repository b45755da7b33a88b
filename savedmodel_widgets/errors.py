"""The project's exceptions.

Every error the project raises on purpose derives from
:class:`SavedModelWidgetsError`, and its message names the bad value, what was
expected and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ConvertError",
    "CorruptSavedModelError",
    "DeployError",
    "DeployTargetExistsError",
    "ExportError",
    "ExportSpecError",
    "FrameworkAPIError",
    "SourceError",
    "TargetExistsError",
    "NotASavedModelError",
    "RuntimeIncompatibleError",
    "ModelCodeNeededError",
    "RuntimeFetchError",
    "UnknownCustomObjectError",
    "UntrustedCodeError",
    "SavedModelError",
    "SavedModelWidgetsError",
    "VerifyError",
]


class SavedModelWidgetsError(Exception):
    """Base class of every error raised by savedmodel_widgets."""


class SavedModelError(SavedModelWidgetsError):
    """A SavedModel on disk cannot be read, or a name asked of it does not exist."""


class NotASavedModelError(SavedModelError):
    """The path does not hold a SavedModel (the message says what it holds instead)."""


class CorruptSavedModelError(SavedModelError):
    """A SavedModel file exists but is truncated, damaged or not readable."""


class SourceError(SavedModelWidgetsError, TypeError):
    """An object cannot be exported: not a supported model, or not ready (not built)."""


class FrameworkAPIError(SavedModelWidgetsError, RuntimeError):
    """TensorFlow or Keras lacks an internal attribute this project reads.

    The message names the attribute and the installed version; it means the
    installed TensorFlow or Keras is newer (or older) than the project supports.
    """


class ExportError(SavedModelWidgetsError):
    """An export was refused or failed; nothing was left half-written on disk."""


class ExportSpecError(ExportError, ValueError):
    """An export specification names something that does not exist or is not valid.

    Raised before anything is written. The message names the valid choices.
    """


class RuntimeIncompatibleError(ExportSpecError):
    """The model needs an op or attribute that the runtime the export is for lacks.

    Raised before anything is written. The message names each op or attribute, the
    nodes that use it and the oldest runtime that has it; :attr:`incompatibilities`
    holds them as data.
    """

    def __init__(self, message: str, incompatibilities: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.incompatibilities = tuple(incompatibilities)


class TargetExistsError(ExportError, FileExistsError):
    """The export target already holds files and ``overwrite`` was not set."""


class ConvertError(SavedModelWidgetsError, ValueError):
    """A model file cannot be opened or converted: missing, damaged, incomplete, or
    needing what was not given (the model's code, a custom layer class).

    Raised before anything is written. The message names the files found and what to do.
    """


class ModelCodeNeededError(ConvertError):
    """A file holds values but not the model's code: a TF2 object checkpoint, a TF1
    checkpoint without ``.meta``, or a weights-only ``.h5``. Pass ``model=``."""


class UnknownCustomObjectError(ConvertError):
    """A Keras file names a custom layer or function that was not given in
    ``custom_objects``; :attr:`name` is its name in the file."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class UntrustedCodeError(ConvertError):
    """A model file holds Python code (a ``Lambda`` layer) and ``trust=True`` was not given.

    Loading such a file runs the code it carries, so it is refused unless the
    user says the file comes from a source they trust.
    """


class VerifyError(SavedModelWidgetsError, ValueError):
    """``verify`` was called with arguments it cannot use (an unknown input alias or
    signature name, a source without the export spec that maps its aliases).

    Failures of the reloaded model itself are not raised: they are in the report.
    """


class RuntimeFetchError(SavedModelWidgetsError, RuntimeError):
    """An old TensorFlow runtime could not be downloaded or unpacked; the message says
    what was tried and how to fetch it by hand."""


class DeployError(SavedModelWidgetsError, ValueError):
    """A deployment file cannot be made: a bad service name, processor, warm-up input or
    layout; the message says which value and what to do. Nothing was written."""


class DeployTargetExistsError(DeployError, FileExistsError):
    """A deployment file already exists and ``overwrite`` was not set; :attr:`paths`
    lists every file that would have been replaced. Nothing was written."""

    def __init__(self, message: str, paths: Sequence[str]) -> None:
        super().__init__(message)
        self.paths = tuple(paths)
