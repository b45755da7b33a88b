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
import sys
import types
from typing import TYPE_CHECKING

from . import errors
from ._lazy import load_lazily

if TYPE_CHECKING:
    from .savedmodel.info import SavedModelInfo

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "ConvertWidget",
    "CheckResult",
    "DeploymentKit",
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
    "Runtime",
    "SavedModelInfo",
    "SignatureSpec",
    "Signature",
    "TensorInfo",
    "VariableInfo",
    "VerifyReport",
    "check",
    "convert",
    "deployment_kit",
    "errors",
    "export",
    "export_code",
    "export_widget",
    "fetch_runtime",
    "find_model_files",
    "find_models",
    "find_saved_models",
    "inspect",
    "list_candidates",
    "load_ipython_extension",
    "list_checkpoint_variables",
    "load_in_runtime",
    "load_model_file",
    "read_saved_model",
    "run_in_runtime",
    "runtimes",
    "serve",
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
    from .savedmodel.reader import read_saved_model

    return read_saved_model(path, version)


def load_ipython_extension(ipython: object) -> None:
    """Register the ``%savedmodel`` magic: run ``%load_ext savedmodel_widgets`` in a notebook.

    Then ``%savedmodel export [VAR]``, ``%savedmodel inspect [DIR]`` and
    ``%savedmodel convert [FILE]`` show the widgets; ``%savedmodel --help``
    lists the options.
    """
    from .magics import load_ipython_extension as load

    load(ipython)


_LAZY = {
    "Candidate": "sources",
    "CheckResult": "savedmodel",
    "ConvertWidget": "widgets",
    "DeploymentKit": "deploy.kit",
    "ExportProgress": "spec",
    "ExportResult": "spec",
    "ExportSpec": "spec",
    "ExportWidget": "widgets",
    "FileEntry": "savedmodel",
    "FoundModelFile": "convert",
    "FoundSavedModel": "savedmodel",
    "InspectWidget": "widgets",
    "MetaGraph": "savedmodel",
    "ModelEntry": "sources",
    "ModelFile": "convert",
    "Runtime": "runtimes",
    "SavedModelInfo": "savedmodel",
    "Signature": "savedmodel",
    "SignatureSpec": "spec",
    "TensorInfo": "savedmodel",
    "VariableInfo": "savedmodel",
    "VerifyReport": "verifier",
    "check": "savedmodel",
    "convert": "convert",
    "deployment_kit": "deploy.kit",
    "export": "exporter",
    "export_code": "codegen",
    "export_widget": "widgets",
    "fetch_runtime": "runtimes",
    "find_model_files": "convert",
    "find_models": "sources",
    "find_saved_models": "savedmodel",
    "list_candidates": "sources",
    "list_checkpoint_variables": "convert",
    "load_in_runtime": "runtimes",
    "load_model_file": "convert",
    "read_saved_model": "savedmodel",
    "run_in_runtime": "runtimes",
    "runtimes": "runtimes",
    "serve": "serving.server",
    "suggest_signature": "sources",
    "suggest_spec": "sources",
    "verify": "verifier",
}
"""``{public name: the submodule that defines it}``: each is imported on first use, so
``import savedmodel_widgets`` loads none of the export modules (nor TensorFlow, pandas or
ipywidgets), and ``python -m savedmodel_widgets show`` loads only the reader."""


def __getattr__(name: str) -> object:
    """Import the submodule behind a public name on first use (see :data:`_LAZY`)."""
    return load_lazily(__name__, _LAZY, name, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package's module type: a submodule named like the public object it defines
    (``convert``) leaves the package attribute that object, as an eager import did."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
