"""A widget that shows a SavedModel on disk and verifies it in a fresh process."""

from __future__ import annotations

import os
from typing import Any

import ipywidgets as widgets
from traitlets import Instance, Unicode

from ..errors import SavedModelError, VerifyError
from ..runtimes.catalogue import get_runtime
from ..savedmodel.html import render_all_checks
from ..savedmodel.info import SavedModelInfo
from ..savedmodel.layout import find_saved_models
from ..savedmodel.reader import read_saved_model
from ..verifier import VerifyReport, verify
from ._found import placeholder_text, same_path, show_path
from ._status import error_html, error_text, note_html, ok_html
from .deploy_panel import DeployPanel
from .result_view import ResultView
from .target_options import runtime_dropdown
from .try_it import TryItPanel

__all__ = ["InspectWidget"]

SECTIONS = ("files", "signatures", "checks", "variables", "ops", "verification")
"""The tabs of the result view, in order."""

SAVED_MODELS_NAMED = 3
"""How many SavedModels a folder's message names, when the folder holds several."""

NOT_VERIFIED = ("Not verified yet. Click Verify to reload this SavedModel in a fresh Python "
                "process with TensorFlow and run each signature on generated inputs.")
"""The Verification tab before Verify is clicked."""


class InspectWidget(widgets.VBox):
    """Choose a SavedModel on disk, see its tree, signatures and serving checks, verify it.

    A path box and a dropdown of the SavedModels found under ``root``; whatever
    is chosen is read with :func:`~savedmodel_widgets.read_saved_model` (no
    TensorFlow) and shown in tabs: files, signatures, serving checks,
    variables and ops. For a parent of numeric version directories a version
    dropdown switches between them. The *Runtime* dropdown names the TensorFlow the
    server runs (an EAS processor, a TF Serving release): the serving checks are made
    for it, and *Verify* reloads the SavedModel in a fresh process with that TensorFlow
    and runs every signature on generated inputs (:func:`~savedmodel_widgets.verify`).

    Parameters
    ----------
    path : str or os.PathLike, optional
        A SavedModel directory, its ``saved_model.pb``, or a parent of numeric
        version directories, shown right away.
    root : str or os.PathLike
        Where to look for SavedModels for the *Found* dropdown; by default the
        working directory.
    **kwargs
        Passed to :class:`ipywidgets.VBox`.

    Examples
    --------
    >>> widget = InspectWidget("export/digits")        # doctest: +SKIP
    >>> widget.info.signature_rows()                    # doctest: +SKIP
    >>> widget.verify_button.click(); widget.report.ok  # doctest: +SKIP
    """

    path = Unicode("", help="The path to show, as typed or chosen; reading starts when it "
                            "changes.")
    info = Instance(SavedModelInfo, allow_none=True,
                    help="The SavedModel shown, or None when nothing (or an error) is shown.")
    report = Instance(VerifyReport, allow_none=True,
                      help="The last verification of the SavedModel shown, or None.")
    error = Unicode("", help="The last error's message, or empty when there is none.")

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 root: str | os.PathLike[str] = ".", **kwargs: Any) -> None:
        self.root = os.fspath(root)
        self.title = widgets.HTML("<b>Inspect a SavedModel</b>")
        self.path_text = widgets.Text(
            description="Path", placeholder="export/digits/1", continuous_update=False,
            layout=widgets.Layout(width="32em"),
        )
        self.found = widgets.Dropdown(description="Found", layout=widgets.Layout(width="32em"))
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh",
            tooltip="Look for SavedModels again and read the path again",
        )
        self.version = widgets.Dropdown(description="Version", layout=widgets.Layout(
            width="14em", display="none"))
        self.verify_button = widgets.Button(
            description="Verify", icon="check", disabled=True,
            tooltip="Reload the SavedModel in a fresh Python process and run each signature",
        )
        self.runtime = runtime_dropdown()
        self.status = widgets.HTML()
        self.view = ResultView(SECTIONS)
        self.try_it = TryItPanel()
        self.view.add_tab("try", "Try it", self.try_it)
        self.deploy = DeployPanel()
        self.view.add_tab("deploy", "Deploy", self.deploy)
        super().__init__([
            self.title,
            widgets.HBox([self.path_text, self.version]),
            widgets.HBox([self.found, self.refresh_button]),
            self.runtime,
            self.verify_button,
            self.status,
            self.view,
        ], **kwargs)
        self._choosing_version = False
        self._wire()
        self.refresh_found()
        if path is not None:
            self.path = os.fspath(path)

    def _wire(self) -> None:
        self.observe(self._on_path, "path")
        self.path_text.observe(self._on_path_text, "value")
        self.found.observe(self._on_found, "value")
        self.version.observe(self._on_version, "value")
        self.runtime.observe(self._on_runtime, "value")
        self.refresh_button.on_click(self._on_refresh)
        self.verify_button.on_click(self._on_verify)

    # --- reactions -------------------------------------------------------

    def _on_path(self, change: dict[str, Any]) -> None:
        self.path_text.value = change["new"]
        show_path(self.found, change["new"])
        self._read()

    def _on_path_text(self, change: dict[str, Any]) -> None:
        self.path = change["new"]

    def _on_found(self, change: dict[str, Any]) -> None:
        if change["new"] and not same_path(change["new"], self.path):
            self.path = change["new"]

    def _on_version(self, change: dict[str, Any]) -> None:
        if not self._choosing_version and self.info and change["new"] != self.info.version:
            self._read(change["new"])

    def _on_runtime(self, change: dict[str, Any]) -> None:
        if self.info is not None:
            self.view.set("checks", render_all_checks(self.info, runtime=change["new"]))
        self.deploy.suggest_target(change["new"])

    def _on_refresh(self, _button: widgets.Button) -> None:
        self.refresh_found()
        self._read(self.info.version if self.info and self.version.options else None)

    def _on_verify(self, _button: widgets.Button) -> None:
        self.verify_shown()

    # --- actions ---------------------------------------------------------

    def refresh_found(self) -> None:
        """Look for SavedModels under :attr:`root` again and list them in *Found*."""
        found = find_saved_models(self.root)
        self.found.options = [(placeholder_text(len(found), "SavedModel", self.root), ""),
                              *((item.label, str(item.path)) for item in found)]
        show_path(self.found, self.path)

    def verify_shown(self) -> VerifyReport | None:
        """Reload the SavedModel shown in a fresh Python process and run its signatures.

        Returns
        -------
        VerifyReport or None
            The report, also in :attr:`report` and the Verification tab; None when
            verification could not start (the status says why).
        """
        if self.info is None:
            return None
        self.verify_button.disabled = True
        runtime = get_runtime(self.runtime.value)
        where = ("a fresh Python process with TensorFlow" if runtime.is_installed
                 else f"TensorFlow {runtime.release} ({runtime.title})")
        self.status.value = note_html(
            f"Reloading {self.info.path} in {where} and running each signature…")
        try:
            report = verify(self.info.path, runtime=runtime.name)
        except (SavedModelError, VerifyError) as error:
            self.error = error_text(error)
            self.status.value = error_html(self.error)
            return None
        finally:
            self.verify_button.disabled = self.info is None
        self.view.show_report(report)
        self.view.select("verification")
        self.error = ""
        self.report = report
        summary = report.summary()
        self.status.value = ok_html(summary) if report.ok else error_html(summary)
        return report

    def close(self) -> None:
        """Stop the Try it tab's preview server, then close the widget."""
        self.try_it.close()
        super().close()

    # --- helpers ---------------------------------------------------------

    def _read(self, version: int | None = None) -> None:
        """Read :attr:`path` (the given version of it) and show it, or show why not."""
        self.view.clear()
        self.report = None
        if not self.path.strip():
            self._show(None, "")
            return
        try:
            info = read_saved_model(self.path.strip(), version)
        except (SavedModelError, OSError) as error:
            self._show(None, self._holds_several_text() or error_text(error))
            return
        self._show(info, "")

    def _holds_several_text(self) -> str:
        """For a folder with SavedModels in its subfolders: say so and name a few; else empty."""
        folder = self.path.strip()
        found = [item for item in (find_saved_models(folder) if os.path.isdir(folder) else [])
                 if not same_path(str(item.path), folder)]
        if not found:
            return ""
        names = ", ".join(str(item.path) for item in found[:SAVED_MODELS_NAMED])
        if len(found) > SAVED_MODELS_NAMED:
            names += f" and {len(found) - SAVED_MODELS_NAMED:,} more"
        listed = {os.path.abspath(value) for _, value in self.found.options if value}
        in_found = all(os.path.abspath(item.path) in listed for item in found)
        if len(found) == 1:
            held = "a SavedModel in a subfolder"
            choose = "Choose it in Found." if in_found else "Type its path."
        else:
            held = f"{len(found):,} SavedModels in its subfolders"
            choose = "Choose one in Found." if in_found else "Type the path of the one to show."
        return f"{folder} is not a SavedModel itself, but it holds {held}: {names}. {choose}"

    def _show(self, info: SavedModelInfo | None, error: str) -> None:
        if info is not None:
            self.view.show_info(info, runtime=self.runtime.value)
            self.view.set("verification", note_html(NOT_VERIFIED))
        self._show_versions(info)
        self.try_it.set_model(info)
        self.deploy.set_model(info, runtime=self.runtime.value)
        self.status.value = error_html(error) if error else ""
        self.verify_button.disabled = info is None
        self.error = error
        self.info = info

    def _show_versions(self, info: SavedModelInfo | None) -> None:
        """Offer the versions when the path is a parent of several version directories."""
        is_parent = info is not None and info.version is not None and bool(
            info.other_versions) and same_path(self.path.strip(), info.base_path)
        self._choosing_version = True
        try:
            if is_parent and info is not None:
                self.version.options = sorted((info.version, *info.other_versions))
                self.version.value = info.version
            else:
                self.version.options = []
        finally:
            self._choosing_version = False
        self.version.layout.display = "" if is_parent else "none"
