"""ConvertWidget: choose a model file, open it, export it by clicking."""

from __future__ import annotations

import os
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets

from ..convert import ModelFile, find_model_files, load_model_file
from ..errors import UntrustedCodeError
from ..sources import find_models
from ._found import placeholder_text, same_path, show_path
from ._namespace import notebook_namespace
from ._status import error_html, error_text, note_html
from .export_panel import ExportPanel
from .export_widget import DEFAULT_PARENT

__all__ = [
    "NO_MODEL",
    "export_name",
    "ConvertWidget",
]

NO_MODEL = "(the file holds the model)"


class ConvertWidget(ExportPanel):
    """Convert a model file to a SavedModel by clicking.

    Choose a Keras ``.h5`` or ``.keras`` file, a checkpoint folder or a
    ``.meta`` file found under ``root`` (or type a path). It is opened at
    once; a file holding Python code (``Lambda`` layers) is opened only after
    ticking "Trust code in this file". Then the signature editor, the target
    and the Export button work as in :class:`ExportWidget`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file to open at the start.
    root : str or os.PathLike
        Where to look for model files; the working directory by default.
    trust : bool
        Start with "Trust code in this file" ticked.
    namespace : Mapping[str, object], optional
        The notebook's variables: models offered under "Weights into" (for
        files holding only values) and custom Keras classes the file names.
        By default the running kernel's.
    custom_objects : Mapping[str, object], optional
        Custom Keras layers and functions by name, as for Keras' ``load_model``.

    Attributes
    ----------
    model_file : ModelFile or None
        The opened file (a trait).
    spec, result, report, error
        As for :class:`ExportWidget` (traits).
    """

    model_file = traitlets.Instance(ModelFile, allow_none=True, help="The opened model file.")

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        root: str | os.PathLike[str] = ".",
        trust: bool = False,
        namespace: Mapping[str, Any] | None = None,
        custom_objects: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.root = Path(root)
        self.namespace = notebook_namespace(namespace)
        self.custom_objects = dict(custom_objects or {})
        self._needs_trust = False
        # Start with the placeholder option: ipywidgets 8 selects nothing (a blank
        # dropdown) when options are first set on an empty one.
        self.file_dropdown = widgets.Dropdown(options=[("", "")], description="Found",
                                              layout=widgets.Layout(width="40em"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="Look for model files again",
                                             layout=widgets.Layout(width="auto"))
        self.path_box = widgets.Text(description="File", placeholder="model.h5",
                                     continuous_update=False,
                                     layout=widgets.Layout(width="40em"))
        self.trust = widgets.Checkbox(
            value=trust, indent=False, layout=widgets.Layout(width="auto"),
            description="Trust code in this file (Lambda layers run Python code stored in it)",
        )
        self.weights_into = widgets.Dropdown(
            options=[(NO_MODEL, "")], description="Weights into",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="32em"),
            tooltip="For files holding values only: the model (built in the notebook) "
                    "that receives them",
        )
        self.open_button = widgets.Button(description="Open", icon="folder-open",
                                          layout=widgets.Layout(width="auto"))
        self.file_status = widgets.HTML()
        title = widgets.HTML("<b>Convert a model file to a TensorFlow SavedModel</b>")
        super().__init__(
            [
                title,
                widgets.HBox([self.file_dropdown, self.refresh_button]),
                widgets.HBox([self.path_box, self.open_button]),
                self.trust,
                self.weights_into,
                self.file_status,
            ],
            **kwargs,
        )
        self._wire()
        self.refresh()
        if path is not None:
            self.path_box.value = str(path)

    def _wire(self) -> None:
        self.file_dropdown.observe(self._on_found, "value")
        self.refresh_button.on_click(lambda button: self.refresh())
        self.path_box.observe(lambda change: self.open_file(), "value")
        self.open_button.on_click(lambda button: self.open_file())
        self.trust.observe(self._on_trust, "value")

    def refresh(self) -> None:
        """List the model files under ``root`` and the notebook's models again."""
        found = find_model_files(self.root)
        self.file_dropdown.options = [
            (placeholder_text(len(found), "model file", self.root), ""),
            *((item.label, str(item.path)) for item in found),
        ]
        show_path(self.file_dropdown, self.path_box.value)
        models = find_models(self.namespace)
        chosen = self.weights_into.value
        self.weights_into.options = [(NO_MODEL, "")] + [(e.label, e.name) for e in models]
        if chosen in {e.name for e in models}:
            self.weights_into.value = chosen

    def open_file(self) -> ModelFile | None:
        """Open the file in the path box (what the Open button does).

        Returns
        -------
        ModelFile or None
            None when it cannot be opened; the message is shown in red and kept in
            :attr:`error`.
        """
        path = self.path_box.value.strip()
        if not path:
            self.file_status.value = note_html("Choose a file above or type its path.")
            return None
        show_path(self.file_dropdown, path)
        self.open_button.disabled = True
        self.file_status.value = note_html(f"Opening {path}...")
        try:
            model_file = self._load(path)
        except Exception as error:  # every failure is shown in place
            self.set_source(None, source_name="model", directory="")
            self._replace_model_file(None)
            self._needs_trust = isinstance(error, UntrustedCodeError)
            self.error = error_text(error)
            self.file_status.value = error_html(self.error)
            return None
        finally:
            self.open_button.disabled = False
        self._needs_trust = False
        self._replace_model_file(model_file)
        notes = "".join(f"<li>{escape(note)}</li>" for note in model_file.notes)
        self.file_status.value = (f"<div>{escape(model_file.describe())}</div>"
                                  + (f"<ul>{notes}</ul>" if notes else ""))
        self.set_source(model_file.model, source_name=model_file.source_name,
                        directory=f"{DEFAULT_PARENT}/{export_name(Path(path))}",
                        load_code=model_file.load_code)
        return model_file

    def _load(self, path: str) -> ModelFile:
        """``load_model_file``, with custom classes the file names taken from the notebook."""
        model = self.namespace.get(self.weights_into.value) if self.weights_into.value else None
        return load_model_file(path, model=model, custom_objects=self.custom_objects,
                               namespace=self.namespace, trust=self.trust.value,
                               progress=self._loading)

    def _loading(self, message: str) -> None:
        self.file_status.value = note_html(message)

    def _replace_model_file(self, model_file: ModelFile | None) -> None:
        old = self.model_file
        self.model_file = model_file
        if old is not None and old is not model_file:
            old.close()

    def _on_found(self, change: dict) -> None:
        if change["new"] and not same_path(change["new"], self.path_box.value):
            self.path_box.value = change["new"]

    def _on_trust(self, change: dict) -> None:
        if change["new"] and self._needs_trust:
            self.open_file()


def export_name(path: Path) -> str:
    """The name an opened file's export directory takes: a folder's own name (``run1/``
    -> ``run1``), or the file's name without suffix and step (``model.ckpt-1000`` -> ``model``,
    ``digits.h5`` -> ``digits``)."""
    if path.is_dir():
        return path.resolve().name or "model"
    name = path.name
    for suffix in (".weights.h5", ".h5", ".keras", ".meta", ".index"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    name = name.split(".ckpt")[0].split("-")[0]
    return name or "model"
