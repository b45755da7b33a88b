"""The project's exceptions.

Every error the project raises on purpose derives from
:class:`SavedModelWidgetsError`, and its message names the bad value, what was
expected and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "CorruptSavedModelError",
    "NotASavedModelError",
    "SavedModelError",
    "SavedModelWidgetsError",
]


class SavedModelWidgetsError(Exception):
    """Base class of every error raised by savedmodel_widgets."""


class SavedModelError(SavedModelWidgetsError):
    """A SavedModel on disk cannot be read, or a name asked of it does not exist."""


class NotASavedModelError(SavedModelError):
    """The path does not hold a SavedModel (the message says what it holds instead)."""


class CorruptSavedModelError(SavedModelError):
    """A SavedModel file exists but is truncated, damaged or not readable."""
