"""Close the widgets a view replaces, so their comms do not pile up in a long session."""

from __future__ import annotations

import ipywidgets as widgets


def close_tree(root: widgets.Widget) -> None:
    """Close ``root`` and every widget it holds.

    A widget holds the widgets in its synced traits: a box's ``children``, and
    the ``layout`` and ``style`` every DOM widget has (``Widget.close`` closes
    only the widget itself).

    Parameters
    ----------
    root : ipywidgets.Widget
        The widget taken out of the view; nothing under it is shown again.
    """
    seen: set[int] = set()
    stack = [root]
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        for name in widget.keys:
            value = getattr(widget, name, None)
            items = value if isinstance(value, (list, tuple)) else (value,)
            stack.extend(item for item in items if isinstance(item, widgets.Widget))
        widget.close()
