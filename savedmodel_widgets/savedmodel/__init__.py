"""Read, check and render a SavedModel on disk without importing TensorFlow."""

from .checks import CheckResult, check
from .info import (
    FileEntry,
    MetaGraph,
    SavedModelInfo,
    Signature,
    TensorInfo,
    VariableInfo,
)
from .layout import FoundSavedModel, find_saved_models
from .reader import read_saved_model

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
