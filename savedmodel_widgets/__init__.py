"""savedmodel_widgets: turn models in a notebook into servable TensorFlow SavedModels.

``import savedmodel_widgets`` does not import TensorFlow, pandas or ipywidgets;
each is imported by the functions that need it.

Examples
--------
>>> import savedmodel_widgets as smw                   # doctest: +SKIP
>>> smw.inspect("export/1")                            # doctest: +SKIP
>>> spec = smw.suggest_spec(model, "export", version="auto")  # doctest: +SKIP
>>> result = smw.export(spec, verify=True)             # doctest: +SKIP
"""

from __future__ import annotations

import os

from . import errors
from .codegen import export_code
from .convert import (
    FoundModelFile,
    ModelFile,
    convert,
    find_model_files,
    list_checkpoint_variables,
    load_model_file,
)
from .exporter import export
from .savedmodel import (
    CheckResult,
    FileEntry,
    FoundSavedModel,
    MetaGraph,
    SavedModelInfo,
    Signature,
    TensorInfo,
    VariableInfo,
    check,
    find_saved_models,
    read_saved_model,
)
from .sources import (
    Candidate,
    ModelEntry,
    find_models,
    list_candidates,
    suggest_signature,
    suggest_spec,
)
from .spec import ExportProgress, ExportResult, ExportSpec, SignatureSpec
from .verifier import VerifyReport, verify

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "ConvertWidget",
    "CheckResult",
    "ExportProgress",
    "ExportResult",
    "ExportSpec",
    "ExportWidget",
    "FileEntry",
    "FoundModelFile",
    "FoundSavedModel",
    "InspectWidget",
    "MetaGraph",
    "ModelEntry",
    "ModelFile",
    "SavedModelInfo",
    "SignatureSpec",
    "Signature",
    "TensorInfo",
    "VariableInfo",
    "VerifyReport",
    "check",
    "convert",
    "errors",
    "export",
    "export_code",
    "export_widget",
    "find_model_files",
    "find_models",
    "find_saved_models",
    "inspect",
    "list_candidates",
    "load_ipython_extension",
    "list_checkpoint_variables",
    "load_model_file",
    "read_saved_model",
    "suggest_signature",
    "suggest_spec",
    "verify",
]


def inspect(path: str | os.PathLike[str], version: int | None = None) -> SavedModelInfo:
    """Read a SavedModel for display in a notebook.

    The returned object renders itself as a collapsible directory tree, the
    signature table and the serving checks for TF Serving and EAS, so a cell
    that ends with ``inspect("export/1")`` shows all of it.

    Parameters
    ----------
    path : str or os.PathLike
        The SavedModel directory, its ``saved_model.pb``, or a parent holding
        numeric version directories (the highest is shown).
    version : int, optional
        The version directory to show under a versioned parent.

    Returns
    -------
    SavedModelInfo
        The same as :func:`read_saved_model` returns.
    """
    return read_saved_model(path, version)


def load_ipython_extension(ipython: object) -> None:
    """Register the ``%savedmodel`` magic: run ``%load_ext savedmodel_widgets`` in a notebook.

    Then ``%savedmodel export [VAR]``, ``%savedmodel inspect [DIR]`` and
    ``%savedmodel convert [FILE]`` show the widgets; ``%savedmodel --help``
    lists the options.
    """
    from .magics import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> object:
    """The widgets, imported on first use so that ``import savedmodel_widgets`` stays light."""
    if name in _WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'savedmodel_widgets' has no attribute {name!r}")


_WIDGETS = ("ConvertWidget", "ExportWidget", "InspectWidget", "export_widget")
