"""Tabs that show a SavedModel: files, signatures, serving checks, and more."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..savedmodel.html import (
    render_all_checks,
    render_file_tree,
    render_header,
    render_op_summary,
    render_signature_table,
    render_variables,
)

if TYPE_CHECKING:
    from ..savedmodel.info import SavedModelInfo
    from ..verifier import VerifyReport

__all__ = [
    "SECTIONS",
    "ResultView",
]

SECTIONS: dict[str, str] = {
    "files": "Files",
    "signatures": "Signatures",
    "checks": "Serving checks",
    "variables": "Variables",
    "ops": "Ops",
    "verification": "Verification",
    "code": "Code",
}
"""Section keys and their tab titles, in display order."""


class ResultView(widgets.VBox):
    """A header line over tabs, one tab per section; hidden until something is shown.

    Parameters
    ----------
    sections : sequence of str
        Keys of :data:`SECTIONS` to show, in order.
    """

    def __init__(self, sections: Sequence[str], **kwargs: object) -> None:
        unknown = [key for key in sections if key not in SECTIONS]
        if unknown:
            raise ValueError(f"Unknown sections {unknown}; choose from {list(SECTIONS)}.")
        self.header = widgets.HTML()
        self.panes: dict[str, widgets.HTML] = {key: widgets.HTML() for key in sections}
        self.tabs = widgets.Tab(
            children=list(self.panes.values()),
            titles=[SECTIONS[key] for key in sections],
        )
        self._keys = list(sections)
        super().__init__([self.header, self.tabs], **kwargs)
        self.layout.display = "none"

    def add_tab(self, key: str, title: str, widget: widgets.Widget) -> None:
        """Add a tab that holds a widget of its own (the Try it tab) after the sections."""
        self._keys.append(key)
        titles = (*self.tabs.titles, title)
        self.tabs.children = (*self.tabs.children, widget)
        self.tabs.titles = titles

    def clear(self) -> None:
        """Empty every section and hide the view."""
        self.header.value = ""
        for pane in self.panes.values():
            pane.value = ""
        self.layout.display = "none"

    def show_info(self, info: SavedModelInfo, header: str = "", *,
                  runtime: str | None = None) -> None:
        """Fill the SavedModel sections from ``info`` and show the view.

        Parameters
        ----------
        info : SavedModelInfo
            The SavedModel as read from disk.
        header : str
            HTML shown above the tabs; by default the SavedModel's path, version and size.
        runtime : str, optional
            The runtime the serving checks are made for (see
            :func:`~savedmodel_widgets.runtimes`); the installed TensorFlow when None.
        """
        self.header.value = header or render_header(info)
        renderers = {
            "files": render_file_tree,
            "signatures": render_signature_table,
            "checks": lambda info: render_all_checks(info, runtime=runtime),
            "variables": render_variables,
            "ops": render_op_summary,
        }
        for key, render in renderers.items():
            if key in self.panes:
                self.panes[key].value = render(info)
        self.layout.display = ""

    def show_report(self, report: VerifyReport) -> None:
        """Show a verification report in the Verification section."""
        from .._verify_html import render_report_html

        self.set("verification", render_report_html(report))

    def show_code(self, code: str) -> None:
        """Show code in the Code section."""
        self.set("code", f'<pre style="white-space:pre;overflow-x:auto">{escape(code)}</pre>')

    def set(self, section: str, html: str) -> None:
        """Put HTML into one section (and show the view)."""
        self.panes[section].value = html
        self.layout.display = ""

    def select(self, section: str) -> None:
        """Bring a section's tab to the front."""
        self.tabs.selected_index = self._keys.index(section)
