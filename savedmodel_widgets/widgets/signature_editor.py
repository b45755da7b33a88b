"""Edit the signatures of an export: name, method, inputs and outputs with aliases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets
import traitlets

from ..savedmodel.info import DEFAULT_SIGNATURE
from ..savedmodel.text import count_text
from ..spec import SignatureSpec
from ._close import close_tree
from ._status import warning_html
from .tensor_picker import TensorPicker

if TYPE_CHECKING:
    from ..sources import Candidate, Source

__all__ = [
    "SIGNATURE_NAMES",
    "repeated_alias_warning",
    "SignatureEditor",
    "SignatureList",
]

SIGNATURE_NAMES = (DEFAULT_SIGNATURE, "predict", "predict_images", "classify", "regress")
"""Names offered in the signature name box (any other name can be typed)."""


class SignatureEditor(widgets.VBox):
    """One signature: its name, its method, and a picker each for inputs and outputs.

    Parameters
    ----------
    source : Source
        The opened model (its methods and suggestion).
    inputs, outputs : sequence of Candidate
        The candidates each side can pick from (listed once per model and shared).
    signature : SignatureSpec
        The signature shown at the start.
    """

    signature = traitlets.Instance(SignatureSpec, help="The signature as currently chosen.")

    def __init__(
        self,
        source: Source,
        inputs: Sequence[Candidate],
        outputs: Sequence[Candidate],
        signature: SignatureSpec,
        **kwargs: object,
    ) -> None:
        self.name_box = widgets.Combobox(
            value=signature.name,
            options=SIGNATURE_NAMES,
            ensure_option=False,
            description="Signature",
            placeholder="serving_default",
            tooltip="The name a client sends to choose this signature",
        )
        self.method_box = widgets.Dropdown(
            options=source.supports_methods,
            value=signature.method,
            description="Method",
            disabled=len(source.supports_methods) < 2,
            layout=widgets.Layout(width="16em"),
        )
        self.remove_button = widgets.Button(description="Remove signature", icon="trash",
                                            layout=widgets.Layout(width="auto"))
        self.inputs = TensorPicker("Inputs", inputs, signature.inputs,
                                   taken=lambda: [alias for alias, _ in self.outputs.picks])
        self.outputs = TensorPicker("Outputs", outputs, signature.outputs,
                                    taken=lambda: [alias for alias, _ in self.inputs.picks])
        self.alias_warning = widgets.HTML()
        super().__init__(
            [
                widgets.HBox([self.name_box, self.method_box, self.remove_button]),
                widgets.HBox([self.inputs, self.outputs],
                             layout=widgets.Layout(flex_flow="row wrap")),
                self.alias_warning,
            ],
            layout=widgets.Layout(border="1px solid #ccc", padding="4px", margin="2px 0"),
            **kwargs,
        )
        self._wire()
        self._update()

    def _wire(self) -> None:
        for control, name in ((self.name_box, "value"), (self.method_box, "value"),
                              (self.inputs, "picks"), (self.outputs, "picks")):
            control.observe(lambda change: self._update(), name)

    def _update(self) -> None:
        self.signature = SignatureSpec(self.name_box.value.strip(), self.inputs.picks,
                                       self.outputs.picks, self.method_box.value)
        self.alias_warning.value = repeated_alias_warning(self.signature)


def repeated_alias_warning(signature: SignatureSpec) -> str:
    """A warning naming the aliases used more than once across the signature's inputs and
    outputs, as HTML; empty when every alias is its own."""
    aliases = [alias for alias in signature.input_aliases + signature.output_aliases if alias]
    repeated = sorted({alias for alias in aliases if aliases.count(alias) > 1})
    if not repeated:
        return ""
    names = ", ".join(map(repr, repeated))
    verb = "are" if len(repeated) > 1 else "is"
    return warning_html(f"{names} {verb} used more than once in this signature: give every "
                        "input and output its own alias.")


class SignatureList(widgets.VBox):
    """The signatures of one export, with "Add signature" and a remove button on each.

    Parameters
    ----------
    source : Source
        The opened model; its candidates are listed once and shared by all editors.
    """

    signatures = traitlets.Tuple(help="The SignatureSpec of each editor, in order.")

    def __init__(self, source: Source, **kwargs: object) -> None:
        self.source = source
        candidates = source.candidates()
        self.input_candidates = (candidates if source.feeds_any_tensor
                                 else [c for c in candidates if c.role == "input"])
        self.output_candidates = [c for c in candidates if c.role != "input"]
        self._suggestion = source.suggest()
        self.editors: list[SignatureEditor] = []
        self.add_button = widgets.Button(description="Add signature", icon="plus",
                                         layout=widgets.Layout(width="auto"))
        self.note = widgets.HTML(
            f"<small>{count_text(len(self.input_candidates), 'input candidate')} and "
            f"{count_text(len(self.output_candidates), 'output candidate')}</small>"
        )
        self.box = widgets.VBox()
        super().__init__([self.note, self.box, self.add_button], **kwargs)
        self.add_button.on_click(lambda button: self.add())
        self.add(DEFAULT_SIGNATURE)

    def add(self, name: str | None = None) -> SignatureEditor:
        """Add a signature with the backend's suggested inputs and outputs.

        Parameters
        ----------
        name : str, optional
            Its name; by default the first of :data:`SIGNATURE_NAMES` not yet used.
        """
        used = {editor.name_box.value for editor in self.editors}
        if name is None:
            free = [n for n in SIGNATURE_NAMES if n not in used]
            name = free[0] if free else f"signature_{len(self.editors) + 1}"
        inputs, outputs = self._suggestion
        editor = SignatureEditor(self.source, self.input_candidates, self.output_candidates,
                                 SignatureSpec(name, inputs, outputs))
        editor.remove_button.on_click(lambda button: self.remove(editor))
        editor.observe(lambda change: self._update(), "signature")
        self.editors.append(editor)
        self._update()
        return editor

    def remove(self, editor: SignatureEditor) -> None:
        """Remove a signature (the last one stays: an export needs one)."""
        if editor in self.editors and len(self.editors) > 1:
            self.editors.remove(editor)
            self._update()
            close_tree(editor)

    def _update(self) -> None:
        self.box.children = list(self.editors)
        for editor in self.editors:
            editor.remove_button.disabled = len(self.editors) < 2
        self.signatures = tuple(editor.signature for editor in self.editors)
