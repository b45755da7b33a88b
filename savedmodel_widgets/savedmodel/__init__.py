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
from .reader import read_saved_model

__all__ = [
    "CheckResult",
    "FileEntry",
    "MetaGraph",
    "SavedModelInfo",
    "Signature",
    "TensorInfo",
    "VariableInfo",
    "check",
    "read_saved_model",
]
