"""Where an export goes: directory, version, overwrite, tags, the runtime it is for, and
verification."""

from __future__ import annotations

import ipywidgets as widgets

from ..runtimes.catalogue import INSTALLED, runtimes
from ..savedmodel.info import SERVE_TAG
from ..spec import Version

__all__ = [
    "VERSION_MODES",
    "TargetOptions",
    "runtime_dropdown",
]

VERSION_MODES = (("number", "number"), ("auto (next free)", "auto"), ("none", "none"))


class TargetOptions(widgets.VBox):
    """The export target controls.

    Parameters
    ----------
    directory : str
        The directory shown at the start.
    """

    def __init__(self, directory: str = "", **kwargs: object) -> None:
        self.directory = widgets.Text(
            value=directory, description="Directory", placeholder="export/model",
            layout=widgets.Layout(width="32em"),
        )
        self.version_mode = widgets.Dropdown(
            options=VERSION_MODES, value="number", description="Version",
            layout=widgets.Layout(width="16em"),
            tooltip="TF Serving loads numbered version directories: export/model/1",
        )
        self.version_number = widgets.BoundedIntText(
            value=1, min=0, max=2**31 - 1, layout=widgets.Layout(width="7em"),
        )
        self.overwrite = widgets.Checkbox(value=False, description="Overwrite",
                                          indent=False, layout=widgets.Layout(width="auto"))
        self.tags = widgets.Text(value=SERVE_TAG, description="Tags",
                                 placeholder="serve", layout=widgets.Layout(width="20em"))
        self.verify = widgets.Checkbox(value=True, description="Verify after export",
                                       indent=False, layout=widgets.Layout(width="auto"),
                                       tooltip="Reload the export in a fresh process with the "
                                               "runtime's TensorFlow and compare its "
                                               "predictions with the model")
        self.runtime = runtime_dropdown()
        super().__init__(
            [
                self.directory,
                widgets.HBox([self.version_mode, self.version_number, self.overwrite]),
                self.runtime,
                widgets.HBox([self.tags, self.verify]),
            ],
            **kwargs,
        )
        self.version_mode.observe(self._show_number, "value")

    @property
    def controls(self) -> tuple[widgets.ValueWidget, ...]:
        """Every control whose ``value`` changes the export."""
        return (self.directory, self.version_mode, self.version_number, self.overwrite,
                self.runtime, self.tags)

    @property
    def version(self) -> Version:
        """The chosen version: an integer, ``"auto"`` or ``None``."""
        mode = self.version_mode.value
        if mode == "number":
            return int(self.version_number.value)
        return "auto" if mode == "auto" else None

    @property
    def tag_tuple(self) -> tuple[str, ...]:
        """The tags, split at commas."""
        return tuple(tag.strip() for tag in self.tags.value.split(","))

    def allow_tags(self, allowed: bool) -> None:
        """Let the tags be edited (TF1 sources only); otherwise they stay ``serve``."""
        if not allowed:
            self.tags.value = SERVE_TAG
        self.tags.disabled = not allowed

    def _show_number(self, change: dict) -> None:
        self.version_number.layout.display = "" if change["new"] == "number" else "none"


def runtime_dropdown() -> widgets.Dropdown:
    """A dropdown of the runtimes an export can be made for: EAS processors first, each
    with its TensorFlow release, then TF Serving releases, TensorFlow releases and the
    installed TensorFlow (chosen at the start)."""
    return widgets.Dropdown(
        options=[(runtime.title, runtime.name) for runtime in runtimes()],
        value=INSTALLED, description="Runtime", layout=widgets.Layout(width="32em"),
        tooltip="The TensorFlow your server runs: the export is written so that it loads "
                "there, checked against it, and verified in it",
    )
