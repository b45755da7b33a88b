"""The part the export and convert widgets share: signatures, target, Export, results."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import traitlets

from ..exporter import export
from ..sources import Source, open_source
from ..spec import ExportProgress, ExportResult, ExportSpec, holds_files, target_path
from ..verifier import VerifyReport
from ._close import close_tree
from ._status import error_html, failure_text, note_html, ok_html
from .deploy_panel import DeployPanel
from .result_view import ResultView
from .signature_editor import SignatureList
from .target_options import TargetOptions
from .try_it import TryItPanel

__all__ = [
    "ExportCallback",
    "ExportPanel",
]

ExportCallback = Callable[[ExportResult], None]


class ExportPanel(widgets.VBox):
    """Signatures, target options, the Export button and the result tabs.

    Subclasses put their model chooser above it (``top``) and call
    :meth:`set_source` when a model is chosen.

    Parameters
    ----------
    top : sequence of Widget
        Widgets shown above the signature editor.
    """

    spec = traitlets.Instance(ExportSpec, allow_none=True,
                              help="The export as currently chosen; None without a model.")
    result = traitlets.Instance(ExportResult, allow_none=True,
                                help="What the last successful export wrote.")
    report = traitlets.Instance(VerifyReport, allow_none=True,
                                help="The verification report of the last export.")
    error = traitlets.Unicode(help="The last error message shown; empty when none.")
    running = traitlets.Bool(False, help="True while an export or verification runs.")

    def __init__(self, top: Sequence[widgets.Widget], **kwargs: Any) -> None:
        self._source: Any = None
        self._source_name = "model"
        self._load_code = ""
        self._callbacks: list[ExportCallback] = []
        self.signatures_box = widgets.VBox()
        self.signature_list: SignatureList | None = None
        self.target = TargetOptions()
        self.target_note = widgets.HTML()
        self.export_button = widgets.Button(description="Export", icon="download",
                                            button_style="primary", disabled=True)
        self.progress = widgets.IntProgress(value=0, min=0, max=1,
                                            layout=widgets.Layout(width="12em", display="none"))
        self.status = widgets.HTML()
        self.results = ResultView(["files", "signatures", "checks", "verification", "code"])
        self.try_it = TryItPanel(getattr(self, "namespace", None))
        self.results.add_tab("try", "Try it", self.try_it)
        self.deploy = DeployPanel(getattr(self, "namespace", None))
        self.results.add_tab("deploy", "Deploy", self.deploy)
        self.editor = widgets.VBox(
            [self.signatures_box, self.target, self.target_note,
             widgets.HBox([self.export_button, self.progress]), self.status],
            layout=widgets.Layout(display="none"),
        )
        super().__init__([*top, self.editor, self.results], **kwargs)
        self._wire_panel()

    def _wire_panel(self) -> None:
        for control in self.target.controls:
            control.observe(lambda change: self._on_input(), "value")
        self.export_button.on_click(lambda button: self.run_export())

    # Public ----------------------------------------------------------------------

    def on_export(self, callback: ExportCallback, remove: bool = False) -> None:
        """Call ``callback(result)`` after each successful export (and its verification).

        Parameters
        ----------
        callback : callable
            Takes the :class:`~savedmodel_widgets.ExportResult`.
        remove : bool
            Unregister the callback instead.
        """
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def run_export(self) -> ExportResult | None:
        """What the Export button does: one call of :func:`~savedmodel_widgets.export`
        (with verification when ticked), then its result drawn in the tabs.

        Returns
        -------
        ExportResult or None
            None when the export failed; the message is in :attr:`error` and shown in
            red, and the tabs keep the last good export.
        """
        spec = self._build_spec()
        if spec is None or self.running:
            return None
        self._start()
        started = time.perf_counter()
        try:
            try:
                result = export(spec, verify=self.target.verify.value, progress=self._step)
            except Exception as error:  # every failure is shown in place
                self._fail(error)
                return None
            self._show_result(result, time.perf_counter() - started)
            for callback in list(self._callbacks):
                callback(result)
            return result
        finally:
            self._finish()

    def close(self) -> None:
        """Stop the Try it tab's preview server, then close the widget."""
        self.try_it.close()
        super().close()

    # Building the spec -------------------------------------------------------------

    def set_source(self, obj: Any, *, source_name: str, directory: str,
                   load_code: str = "", source: Source | None = None) -> None:
        """Show the editor for a model: suggested signature, default directory.

        Parameters
        ----------
        obj : object
            The live model (anything :func:`~savedmodel_widgets.export` takes), or
            None to hide the editor.
        source_name : str
            Its variable name, for the generated code.
        directory : str
            The default target directory.
        load_code : str
            Code that loads the model from a file, for the generated code.
        source : Source, optional
            ``obj`` already opened (so its candidates are not listed again).
        """

        self._source, self._source_name, self._load_code = obj, source_name, load_code
        self.error = ""
        self.status.value = ""
        self.results.clear()
        self.try_it.set_model(None)
        self.deploy.set_model(None)
        replaced, self.signature_list = self.signature_list, None
        self.signatures_box.children = []
        if replaced is not None:
            close_tree(replaced)
        if obj is None:
            self.editor.layout.display = "none"
            self.export_button.disabled = True
            self.spec = None
            return
        source = source if source is not None else open_source(obj)
        self.signature_list = SignatureList(source)
        self.signature_list.observe(lambda change: self._on_input(), "signatures")
        self.signatures_box.children = [self.signature_list]
        self.target.allow_tags(source.supports_tags)
        self.target.directory.value = directory
        self.editor.layout.display = ""
        self._update_spec()

    def _build_spec(self) -> ExportSpec | None:
        if self._source is None or self.signature_list is None:
            return None
        return ExportSpec(
            self._source,
            self.signature_list.signatures,
            self.target.directory.value.strip(),
            self.target.version,
            tags=self.target.tag_tuple,
            overwrite=self.target.overwrite.value,
            source_name=self._source_name,
            load_code=self._load_code,
            runtime=self.target.runtime.value,
        )

    def _on_input(self) -> None:
        """A choice changed: an export error shown for the choices before is no longer
        current (the target note and the alias warnings say what is wrong now)."""
        if self.error and self._source is not None and not self.running:
            self.error = ""
            self.status.value = ""
        self._update_spec()

    def _update_spec(self) -> None:
        spec = self._build_spec()
        self.spec = spec
        self.export_button.disabled = spec is None or self.running
        if spec is None or not str(spec.directory):
            self.target_note.value = note_html("Choose a directory to write to.")
            return
        target = target_path(spec)
        exists = holds_files(target)
        if exists and not spec.overwrite:
            text = f"Writes {target}, which already holds files: tick Overwrite or change it."
        elif exists:
            text = f"Replaces {target}."
        else:
            text = f"Writes {target}."
        self.target_note.value = f"<small>{note_html(text)}</small>"

    # Running -----------------------------------------------------------------------

    def _start(self) -> None:
        self.running = True
        self.error = ""
        self.export_button.disabled = True
        self.export_button.description = "Exporting..."
        self.progress.max, self.progress.value = 1, 0
        self.progress.layout.display = ""

    def _step(self, step: ExportProgress) -> None:
        self.progress.max = step.total
        self.progress.value = step.step - 1  # full only when the step is done
        self.status.value = note_html(step.message)

    def _finish(self) -> None:
        self.running = False
        self.export_button.description = "Export"
        self.progress.value = self.progress.max
        self.progress.layout.display = "none"
        self._update_spec()

    def _fail(self, error: BaseException) -> None:
        text = failure_text(error)
        self.error = text
        self.status.value = error_html(text)

    def _show_result(self, result: ExportResult, seconds: float) -> None:
        """Draw a finished export: its tabs, and one status line with the times."""
        self.result = result
        self.results.show_info(result.info, runtime=result.spec.runtime)
        self.results.show_code(result.code)
        self.try_it.set_model(result.info)
        self.deploy.set_model(result.info, runtime=result.spec.runtime)
        self.results.select("signatures")
        report = result.report
        if report is None:
            self.results.set("verification",
                             note_html("Not verified: Verify after export is off."))
            self.status.value = ok_html(
                f"Exported to {result.path} in {seconds:.1f} s (not verified).")
            return
        self.report = report
        self.results.show_report(report)
        summary = (f"Exported to {result.path} in {result.seconds:.1f} s and verified in "
                   f"{report.seconds:.1f} s ({seconds:.1f} s in all). Verification: "
                   f"{report.verdict()}")
        self.status.value = ok_html(summary) if report.ok else error_html(summary)
