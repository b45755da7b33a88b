"""The Found dropdowns of the convert and inspect widgets: paths found under a folder,
after a placeholder option whose value is ``""``."""

from __future__ import annotations

import os
from pathlib import Path

import ipywidgets as widgets


def same_path(first: str, second: str) -> bool:
    """Whether two non-empty paths name the same place (compared as absolute paths)."""
    return bool(first) and os.path.abspath(first) == os.path.abspath(second)


def show_path(found: widgets.Dropdown, path: str) -> None:
    """Select ``path`` in a Found dropdown, or its placeholder when it is not listed."""
    matches = [value for _, value in found.options if value and same_path(value, path)]
    found.value = matches[0] if matches else ""


def folder_text(folder: str | os.PathLike[str]) -> str:
    """A folder as a person reads it: its absolute path, with the home directory as ``~``."""
    path = Path(os.path.abspath(Path(folder).expanduser()))
    home = Path.home()
    if path == home:
        return "~"
    if path.is_relative_to(home):
        return f"~/{path.relative_to(home)}"
    return str(path)


def placeholder_text(count: int, noun: str, folder: str | os.PathLike[str]) -> str:
    """The placeholder of a Found dropdown: how many ``noun`` were found in ``folder``.

    ``choose one of the 3 model files found in ~/work``, or ``no SavedModel found in
    /data; type a path``.
    """
    where = folder_text(folder)
    if count == 0:
        return f"no {noun} found in {where}; type a path"
    if count == 1:
        return f"choose the {noun} found in {where}"
    return f"choose one of the {count:,} {noun}s found in {where}"
