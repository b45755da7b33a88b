"""The Found dropdowns of the convert and inspect widgets: paths found under a folder,
after a placeholder option whose value is ``""``."""

from __future__ import annotations

import os

import ipywidgets as widgets


def same_path(first: str, second: str) -> bool:
    """Whether two non-empty paths name the same place (compared as absolute paths)."""
    return bool(first) and os.path.abspath(first) == os.path.abspath(second)


def show_path(found: widgets.Dropdown, path: str) -> None:
    """Select ``path`` in a Found dropdown, or its placeholder when it is not listed."""
    matches = [value for _, value in found.options if value and same_path(value, path)]
    found.value = matches[0] if matches else ""
