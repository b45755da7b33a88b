"""The *Try it* tab: serve the SavedModel shown, send it a request, see the answer and the code.

A thin view over the serving backend: *Start preview* is one call of
:func:`~savedmodel_widgets.serve`, *Send* one call of
:func:`~savedmodel_widgets.serving.try_request.try_request`, *Stop* one ``stop()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from ..errors import SavedModelWidgetsError
from ..savedmodel.info import DEFAULT_SIGNATURE, PREDICT_METHOD, SavedModelInfo, Signature
from ..serving.client_code import sample_inputs
from ..serving.grpc_service import GRPC_INSTALL_HINT, grpc_available
from ..serving.try_request import TryResult, try_request
from ._status import error_html, error_text, note_html, ok_html
from .input_choices import SAMPLE, InputChoices, notebook_arrays

__all__ = [
    "SAMPLE",
    "TryItPanel",
]

PROTOCOL_CHOICES = (("TF Serving REST", "rest"), ("TF Serving gRPC", "grpc"), ("EAS", "eas"))

_SHOWN_VALUES = 8
"""How many values of each output the answer table shows."""


class TryItPanel(widgets.VBox):
    """Start a preview server for a SavedModel, send it a request, show the answer.

    Parameters
    ----------
    namespace : mapping of str to object, optional
        Where to look for arrays to send; by default the notebook's variables.
    **kwargs
        Passed to :class:`ipywidgets.VBox`.

    Examples
    --------
    >>> panel = TryItPanel()                          # doctest: +SKIP
    >>> panel.set_model(read_saved_model("export/digits/1"))  # doctest: +SKIP
    >>> panel.start_button.click(); panel.send_button.click()  # doctest: +SKIP
    >>> panel.result.outputs                          # doctest: +SKIP
    """

    result = traitlets.Instance(TryResult, allow_none=True,
                                help="What the last request got back, or None.")
    error = traitlets.Unicode("", help="The last error shown; empty when none.")
    serving = traitlets.Bool(False, help="True while the preview server runs.")

    def __init__(self, namespace: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self.namespace = namespace
        self.info: SavedModelInfo | None = None
        self.server: Any = None
        self.token = widgets.Text(description="EAS token", placeholder="none",
                                  layout=widgets.Layout(width="20em"))
        self.start_button = widgets.Button(description="Start preview", icon="play",
                                           disabled=True)
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True)
        self.signature = widgets.Dropdown(description="Signature")
        self.protocol = widgets.ToggleButtons(options=PROTOCOL_CHOICES, value="rest",
                                              description="Protocol")
        self.inputs_box = InputChoices()
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="List the notebook's arrays again")
        self.send_button = widgets.Button(description="Send", icon="paper-plane",
                                          button_style="primary", disabled=True)
        self.status = widgets.HTML()
        self.answer = widgets.HTML()
        self.code = widgets.HTML()
        super().__init__([
            widgets.HBox([self.start_button, self.stop_button, self.token]),
            self.signature, self.protocol, self.inputs_box,
            widgets.HBox([self.send_button, self.refresh_button]),
            self.status, self.answer, self.code,
        ], **kwargs)
        self._wire()
        self.set_model(None)

    def _wire(self) -> None:
        self.start_button.on_click(lambda button: self.start())
        self.stop_button.on_click(lambda button: self.stop())
        self.send_button.on_click(lambda button: self.send())
        self.refresh_button.on_click(lambda button: self.refresh_inputs())
        self.signature.observe(lambda change: self.refresh_inputs(), "value")

    # Public ----------------------------------------------------------------------

    def set_model(self, info: SavedModelInfo | None) -> None:
        """Offer ``info``'s predict signatures (stopping a server of another model)."""
        if self.info is not None and (info is None or info.path != self.info.path):
            self.stop()
        self.info = info
        names = [s.name for s in info.signatures if s.method_name == PREDICT_METHOD] if info else []
        self.signature.options = names
        self.signature.value = (DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in names
                                else names[0] if names else None)
        self.start_button.disabled = info is None or self.serving
        self.status.value = "" if info else note_html("Export or choose a SavedModel first.")
        self.answer.value = self.code.value = ""
        self.refresh_inputs()

    def start(self) -> None:
        """Start the preview server (REST, gRPC and EAS) for the SavedModel shown."""
        if self.info is None or self.serving:
            return
        from ..serving.server import serve

        self.start_button.disabled = True
        self.status.value = note_html(f"Starting a preview server for {self.info.path}…")
        with_grpc = grpc_available()
        try:
            self.server = serve(self.info.path, grpc_port=0 if with_grpc else None,
                                eas_token=self.token.value.strip() or None)
        except Exception as error:  # shown in place, the user's choices kept
            self._fail(error)
            self.start_button.disabled = False
            return
        self._set_serving(True)
        grpc = (f"gRPC at {self.server.grpc_target}" if with_grpc else
                f"gRPC off: it needs tensorflow-serving-api ({GRPC_INSTALL_HINT}), then "
                "start the preview again")
        self.status.value = ok_html(f"Serving {self.server.model_name}: REST and EAS at "
                                    f"{self.server.rest_url}, {grpc}.")

    def stop(self) -> None:
        """Stop the preview server, if it runs."""
        server, self.server = self.server, None
        if server is not None:
            server.stop()
        self._set_serving(False)

    def send(self) -> TryResult | None:
        """Send the request as chosen; the answer goes to :attr:`result` and the view."""
        signature = self._signature()
        if self.server is None or signature is None:
            return None
        try:
            chosen = self.inputs_box.chosen_arrays(self.namespace)
        except SavedModelWidgetsError as error:
            self._fail(error)
            return None
        arrays = {**sample_inputs(signature), **chosen}
        expressions = self.inputs_box.chosen()
        result = try_request(self.server, signature, self.protocol.value, arrays,
                             expressions=expressions, token=self.token.value.strip() or None)
        self.result = result
        self.code.value = ('<b>Client code</b><pre style="white-space:pre;overflow-x:auto">'
                           f"{escape(result.code)}</pre>")
        took = f"{result.seconds * 1000:.1f} ms"
        if result.ok:
            self.error = ""
            self.status.value = ok_html(f"Answered in {took}.")
            self.answer.value = _outputs_html(result.outputs)
        else:
            self.error = result.error
            self.status.value = error_html(f"{result.error} ({took})")
            self.answer.value = ""
        return result

    def close(self) -> None:
        """Stop the server, then close the widget."""
        self.stop()
        super().close()

    # Helpers ---------------------------------------------------------------------------

    def _set_serving(self, serving: bool) -> None:
        self.serving = serving
        self.start_button.disabled = serving or self.info is None
        self.stop_button.disabled = not serving
        self.token.disabled = serving
        self.send_button.disabled = not serving or self._signature() is None

    def _signature(self) -> Signature | None:
        if self.info is None or not self.signature.value:
            return None
        return self.info.signature(self.signature.value)

    @property
    def input_choices(self) -> dict[str, widgets.Dropdown]:
        """``{input alias: its dropdown}``: sample values or a notebook array."""
        return self.inputs_box.dropdowns

    def refresh_inputs(self) -> None:
        """One input chooser per input of the signature: sample values or a notebook array."""
        signature = self._signature()
        self.inputs_box.show([t.alias for t in signature.inputs] if signature else [],
                             notebook_arrays(self.namespace))
        self.send_button.disabled = not self.serving or signature is None

    def _fail(self, error: BaseException) -> None:
        self.error = error_text(error)
        self.status.value = error_html(self.error)


def _outputs_html(outputs: Mapping[str, np.ndarray]) -> str:
    rows = []
    for alias, value in sorted(outputs.items()):
        flat = np.asarray(value).reshape(-1)
        shown = ", ".join(map(str, flat[:_SHOWN_VALUES].tolist()))
        if flat.size > _SHOWN_VALUES:
            shown += f", … ({flat.size:,} values)"
        rows.append(f"<tr><td>{escape(alias)}</td><td>{escape(str(value.dtype))}</td>"
                    f"<td>{escape(str(value.shape))}</td><td>{escape(shown)}</td></tr>")
    return ("<table><thead><tr><th>output</th><th>dtype</th><th>shape</th><th>values</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
