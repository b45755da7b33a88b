"""Read, check and render a SavedModel on disk without importing TensorFlow.

Each public name imports its module on first use, so ``show`` loads the reader
and not the checks.
"""

from __future__ import annotations

from .._lazy import load_lazily

__all__ = [
    "CheckResult",
    "FileEntry",
    "FoundSavedModel",
    "MetaGraph",
    "SavedModelInfo",
    "Signature",
    "TensorInfo",
    "VariableInfo",
    "check",
    "find_saved_models",
    "read_saved_model",
]

_LAZY = {
    "CheckResult": "checks",
    "FileEntry": "info",
    "FoundSavedModel": "layout",
    "MetaGraph": "info",
    "SavedModelInfo": "info",
    "Signature": "info",
    "TensorInfo": "info",
    "VariableInfo": "info",
    "check": "checks",
    "find_saved_models": "layout",
    "read_saved_model": "reader",
}
"""``{public name: the module of this package that defines it}``."""


def __getattr__(name: str) -> object:
    """Import the module behind a public name on first use (see :data:`_LAZY`)."""
    return load_lazily(__name__, _LAZY, name, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
