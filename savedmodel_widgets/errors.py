"""The project's exceptions.

Every error the project raises on purpose derives from
:class:`SavedModelWidgetsError`, and its message names the bad value, what was
expected and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "CorruptSavedModelError",
    "ExportError",
    "ExportSpecError",
    "SourceError",
    "TargetExistsError",
    "NotASavedModelError",
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


class ExportError(SavedModelWidgetsError):
    """An export was refused or failed; nothing was left half-written on disk."""


class ExportSpecError(ExportError, ValueError):
    """An export specification names something that does not exist or is not valid.

    Raised before anything is written. The message names the valid choices.
    """


class TargetExistsError(ExportError, FileExistsError):
    """The export target already holds files and ``overwrite`` was not set."""


class VerifyError(SavedModelWidgetsError, ValueError):
    """``verify`` was called with arguments it cannot use (an unknown input alias or
    signature name, a source without the export spec that maps its aliases).

    Failures of the reloaded model itself are not raised: they are in the report.
    """
