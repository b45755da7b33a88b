"""What to send for each input of a signature: the generated sample values or a notebook array.

Shared by the *Try it* tab (the request it sends) and the *Deploy* tab (the warm-up
requests it writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np

from ..errors import SavedModelWidgetsError
from ._close import close_tree
from ._namespace import notebook_namespace

__all__ = [
    "SAMPLE",
    "InputChoices",
    "notebook_arrays",
]

SAMPLE = "sample values"
"""The input choice that sends the generated sample values."""


def notebook_arrays(namespace: Mapping[str, Any] | None = None) -> list[str]:
    """The names of the notebook's numpy arrays (not the private ``_x`` ones), sorted."""
    return sorted(name for name, value in notebook_namespace(namespace).items()
                  if isinstance(value, np.ndarray) and not name.startswith("_"))


class InputChoices(widgets.VBox):
    """One dropdown per input alias: :data:`SAMPLE` or the name of a notebook array.

    Parameters
    ----------
    **kwargs
        Passed to :class:`ipywidgets.VBox`.

    Attributes
    ----------
    dropdowns : dict of str to ipywidgets.Dropdown
        ``{input alias: its dropdown}``, in the signature's order.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.dropdowns: dict[str, widgets.Dropdown] = {}
        super().__init__(**kwargs)

    def show(self, aliases: Sequence[str], arrays: Sequence[str]) -> None:
        """Offer :data:`SAMPLE` and ``arrays`` for each of ``aliases`` (all set to
        :data:`SAMPLE`), closing the dropdowns shown before."""
        replaced = list(self.dropdowns.values())
        self.dropdowns = {alias: widgets.Dropdown(options=[SAMPLE, *arrays], value=SAMPLE,
                                                  description=alias)
                          for alias in aliases}
        self.children = list(self.dropdowns.values())
        for dropdown in replaced:
            close_tree(dropdown)

    def chosen(self) -> dict[str, str]:
        """``{input alias: notebook variable name}`` for the inputs not left at sample values."""
        return {alias: dropdown.value for alias, dropdown in self.dropdowns.items()
                if dropdown.value != SAMPLE}

    def chosen_arrays(self, namespace: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``{input alias: the notebook array}`` for the inputs not left at sample values.

        Raises
        ------
        SavedModelWidgetsError
            When a chosen variable is no longer in the notebook.
        """
        variables = notebook_namespace(namespace)
        gone = [name for name in self.chosen().values() if name not in variables]
        if gone:
            raise SavedModelWidgetsError(
                f"The notebook has no variable {gone[0]!r} any more; define it again, or "
                "click Refresh and choose another input.")
        return {alias: variables[name] for alias, name in self.chosen().items()}
