"""ExportWidget: pick a model from the notebook and export it by clicking."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..sources import ModelEntry, find_models, model_entry
from ._namespace import notebook_namespace
from ._status import error_html, error_text, note_html
from .export_panel import ExportPanel

__all__ = [
    "DEFAULT_PARENT",
    "export_widget",
    "ExportWidget",
]

DEFAULT_PARENT = "export"
"""Exports go to ``export/<variable name>`` unless another directory is typed."""


class ExportWidget(ExportPanel):
    """Export a model of the notebook to a SavedModel by clicking.

    Choose the model, edit the signature (name, method, inputs and outputs
    with aliases), choose where it goes, click Export: the directory tree,
    the signature table, the serving checks, the verification report and the
    equivalent TensorFlow code appear below.

    Parameters
    ----------
    model : object, optional
        The model to export (Keras 3 or tf_keras model, ``tf.compat.v1.Session``,
        ``tf.Graph``, ``tf.Module``). By default the first model found in the
        namespace is chosen.
    namespace : Mapping[str, object], optional
        Where to look for models; by default the notebook's variables.
    name : str, optional
        The variable name of ``model`` (for the default directory and the
        generated code); found in the namespace when not given.
    directory : str, optional
        The target directory; by default ``export/<name>``.

    Attributes
    ----------
    spec : ExportSpec or None
        The export as currently chosen (a trait: ``observe`` it).
    result : ExportResult or None
        What the last export wrote (a trait).
    report : VerifyReport or None
        The last verification report (a trait).
    error : str
        The last error message shown, empty when none (a trait).

    Examples
    --------
    >>> w = ExportWidget(model)                 # doctest: +SKIP
    >>> w.signature_list.editors[0].name_box.value = "predict_images"  # doctest: +SKIP
    >>> w.export_button.click()                 # doctest: +SKIP
    >>> w.result.path                           # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any = None,
        *,
        namespace: Mapping[str, Any] | None = None,
        name: str | None = None,
        directory: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.namespace = notebook_namespace(namespace)
        self._given = model
        self._given_name = name
        self._directory = directory
        self._default_directory = ""
        self.entries: dict[str, ModelEntry] = {}
        self._refreshing = False
        self.model_dropdown = widgets.Dropdown(description="Model",
                                               layout=widgets.Layout(width="32em"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="Look for models in the notebook again",
                                             layout=widgets.Layout(width="auto"))
        self.model_status = widgets.HTML()
        title = widgets.HTML("<b>Export a model to a TensorFlow SavedModel</b>")
        super().__init__(
            [title, widgets.HBox([self.model_dropdown, self.refresh_button]), self.model_status],
            **kwargs,
        )
        self._wire()
        self.refresh()

    def _wire(self) -> None:
        self.model_dropdown.observe(self._on_dropdown, "value")
        self.refresh_button.on_click(lambda button: self.refresh())

    def _on_dropdown(self, change: dict) -> None:
        if not self._refreshing:
            self._choose(change["new"])

    def refresh(self) -> None:
        """Look for models in the namespace again; the chosen one stays chosen if still there."""
        entries = {entry.name: entry for entry in find_models(self.namespace)}
        given = self._given
        if given is not None and not any(e.obj is given for e in entries.values()):
            entry = self._given_entry(given)
            if entry is not None:
                entries = {entry.name: entry, **entries}
        previous = self.entries.get(self.model_dropdown.value or "")
        self.entries = entries
        wanted: str | None
        if previous is not None and previous.name in entries:
            wanted = previous.name
        else:
            wanted = next((n for n, e in entries.items() if e.obj is given),
                          next(iter(entries), None))
        self._refreshing = True
        try:
            self.model_dropdown.options = [(entry.label, name) for name, entry in entries.items()]
            self.model_dropdown.value = wanted
        finally:
            self._refreshing = False
        chosen = entries.get(wanted or "")
        if chosen is None:
            if given is None:  # a given model that cannot be exported has said why
                self.model_status.value = note_html(
                    "No model to export in the notebook yet: build or load one (a Keras "
                    "model, a tf.compat.v1.Session, a tf.Module), then click Refresh."
                )
            self.set_source(None, source_name="model", directory="")
        elif previous is None or chosen.obj is not previous.obj:
            self._choose(chosen.name)

    def _given_entry(self, model: Any) -> ModelEntry | None:
        name = self._given_name or next(
            (key for key, value in self.namespace.items() if value is model), "model")
        try:
            return model_entry(name, model)
        except Exception as error:  # an object that cannot be exported: say why
            self.model_status.value = error_html(error_text(error))
            return None

    def _choose(self, name: str | None) -> None:
        entry = self.entries.get(name) if name else None
        if entry is None:
            return
        self.model_status.value = ""  # the dropdown's label describes the model
        directory = self.target.directory.value
        if self._directory is not None and not directory:
            directory = self._directory
        elif not directory or directory == self._default_directory:
            directory = f"{DEFAULT_PARENT}/{entry.name}"
        self._default_directory = f"{DEFAULT_PARENT}/{entry.name}"
        try:
            self.set_source(entry.obj, source_name=entry.name, directory=directory,
                            source=entry.source)
        except Exception as error:  # e.g. a session closed since it was listed
            self.model_status.value = error_html(error_text(error))
            self.set_source(None, source_name=entry.name, directory=directory)


def export_widget(model: Any = None, **kwargs: Any) -> ExportWidget:
    """An :class:`ExportWidget` for ``model`` (see the class for the arguments)."""
    return ExportWidget(model, **kwargs)
