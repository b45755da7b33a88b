"""Where a SavedModel sits on disk: its directory, version, files and tree."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..errors import NotASavedModelError, SavedModelError
from .info import FileEntry

__all__ = [
    "CHUNKED_FILE",
    "KERAS_SUFFIXES",
    "MAX_FOLDERS",
    "PBTXT_FILE",
    "PB_FILE",
    "SKIPPED_FOLDERS",
    "describe_non_saved_model",
    "find_saved_models",
    "list_tree",
    "locate",
    "model_file",
    "scan_versions",
    "subfolders",
    "FoundSavedModel",
    "Location",
]

PB_FILE = "saved_model.pb"
PBTXT_FILE = "saved_model.pbtxt"
CHUNKED_FILE = "saved_model.cpb"
KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
"""File name endings of Keras model files."""
SKIPPED_FOLDERS = frozenset(
    {"__pycache__", "node_modules", "site-packages", ".git", ".ipynb_checkpoints"}
)
"""Folders the searches for models never look into (nor any whose name starts with a dot)."""
MAX_FOLDERS = 2000
"""Folders a search for models looks into at most, so a search from a home directory
stays quick."""


@dataclass(frozen=True)
class Location:
    """The directory of a SavedModel and its place in a versioned layout."""

    path: str
    base_path: str
    version: int | None
    other_versions: tuple[int, ...]
    model_file: str
    versions_without_model: tuple[int, ...] = ()


@dataclass(frozen=True)
class FoundSavedModel:
    """A SavedModel found by :func:`find_saved_models`.

    Attributes
    ----------
    path : pathlib.Path
        The SavedModel directory, or the parent of its numeric version directories.
    versions : tuple of int
        The version directories that hold a SavedModel, sorted; empty for a
        SavedModel directory that is not a versioned parent.
    """

    path: Path
    versions: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        """``export/digits  (versions 1, 2)`` for a dropdown; the path alone without versions."""
        if not self.versions:
            return str(self.path)
        word = "version" if len(self.versions) == 1 else "versions"
        return f"{self.path}  ({word} {', '.join(str(v) for v in self.versions)})"


def find_saved_models(root: str | os.PathLike[str] = ".", *, max_depth: int = 4,
                      limit: int = 200) -> list[FoundSavedModel]:
    """SavedModel directories and versioned parents under ``root``, sorted by path.

    A directory that holds ``saved_model.pb`` (or ``.pbtxt``) is a SavedModel; a
    directory whose numeric sub-directories hold one is listed once, as a
    versioned parent, with its versions. The search does not look inside
    either, nor into hidden folders and folders such as ``__pycache__`` or
    ``site-packages``.

    Parameters
    ----------
    root : str or os.PathLike
        The folder to search, by default the working directory.
    max_depth : int
        How many folder levels below ``root`` to look into: with 1, ``root`` and
        its sub-directories are looked into (so a versioned parent one level
        down is found with its versions).
    limit : int
        At most this many results (the nearest ones).

    Returns
    -------
    list of FoundSavedModel
        Paths start with ``root`` as given, so they are relative when ``root`` is.
    """
    found: list[FoundSavedModel] = []
    queue = deque([(Path(root).expanduser(), 0)])
    looked_into = 0
    while queue and len(found) < limit and looked_into < MAX_FOLDERS:
        folder, depth = queue.popleft()
        looked_into += 1
        if model_file(str(folder)):
            found.append(FoundSavedModel(folder))
            continue
        versions, _ = scan_versions(str(folder))
        if versions:
            found.append(FoundSavedModel(folder, tuple(sorted(versions))))
            continue
        if depth < max_depth:
            queue.extend((child, depth + 1) for child in subfolders(folder))
    return sorted(found, key=lambda item: item.path.parts)


def subfolders(folder: Path) -> list[Path]:
    """The sub-directories a search for models looks into, sorted by name: not hidden,
    not one of :data:`SKIPPED_FOLDERS`."""
    try:
        children = sorted(child for child in folder.iterdir() if child.is_dir())
    except OSError:
        return []
    return [child for child in children
            if not child.name.startswith(".") and child.name not in SKIPPED_FOLDERS]


def model_file(directory: str) -> str | None:
    """The SavedModel file in ``directory`` (``saved_model.pb`` wins over ``.pbtxt``), or None."""
    for name in (PB_FILE, PBTXT_FILE):
        if os.path.isfile(os.path.join(directory, name)):
            return name
    return None


def scan_versions(directory: str) -> tuple[dict[int, str], tuple[int, ...]]:
    """The sub-directories named by a number, as TF Serving sees them, in one listing.

    Returns ``({version: path}`` of those that hold a SavedModel, the sorted
    versions of those that do not``)``.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return {}, ()
    with_model, without_model = {}, []
    for name in names:
        path = os.path.join(directory, name)
        if name.isdigit() and os.path.isdir(path):
            if model_file(path):
                with_model[int(name)] = path
            else:
                without_model.append(int(name))
    return with_model, tuple(sorted(without_model))


def locate(path: str | os.PathLike[str], version: int | None = None) -> Location:
    """Find the SavedModel directory for ``path``.

    ``path`` may be the SavedModel directory, its ``saved_model.pb`` file, or a
    parent holding numeric version directories (TF Serving's layout), of which
    the highest version is taken unless ``version`` is given.

    Raises
    ------
    NotASavedModelError
        When no SavedModel is found; the message says what the path holds instead.
    SavedModelError
        When ``version`` is asked for and does not exist.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.isfile(path) and os.path.basename(path) in (PB_FILE, PBTXT_FILE):
        path = os.path.dirname(path)
    if not os.path.exists(path):
        raise NotASavedModelError(f"{path} does not exist. {_nearby_hint(path)}")
    if not os.path.isdir(path):
        raise NotASavedModelError(
            f"{path} is a file, not a SavedModel directory. {_file_hint(path)}"
        )
    found = model_file(path)
    if found and version is None:
        parent = os.path.dirname(path)
        name = os.path.basename(path)
        if name.isdigit():
            versions, without_model = scan_versions(parent)
            siblings = tuple(sorted(v for v in versions if v != int(name)))
            return Location(path, parent, int(name), siblings, found, without_model)
        return Location(path, path, None, (), found)
    versions, without_model = scan_versions(path)
    if not versions and found:
        raise SavedModelError(
            f"{path} is a SavedModel without version directories; "
            f"read it without version={version}."
        )
    if not versions and without_model and version is None:
        raise NotASavedModelError(_empty_versions_message(path, without_model))
    if not versions:
        raise NotASavedModelError(describe_non_saved_model(path))
    chosen = max(versions) if version is None else version
    if chosen not in versions:
        known = ", ".join(str(v) for v in sorted(versions))
        raise SavedModelError(
            f"{path} has no version {version}; the versions that hold a SavedModel are: {known}."
        )
    others = tuple(sorted(v for v in versions if v != chosen))
    return Location(
        versions[chosen],
        path,
        chosen,
        others,
        model_file(versions[chosen]) or "",
        without_model,
    )


def _empty_versions_message(path: str, without_model: tuple[int, ...]) -> str:
    """Say that a versioned parent's version directories hold no SavedModel."""
    newest = max(without_model)
    try:
        names = sorted(os.listdir(os.path.join(path, str(newest))))
    except OSError:
        names = []
    holds = f"it holds {', '.join(names[:12])}" if names else "it is empty"
    others = sorted(set(without_model) - {newest})
    also = (f" Nor do the other version directories ({', '.join(map(str, others))})."
            if others else "")
    return (
        f"{path} is a versioned parent (TF Serving's layout), but its highest version "
        f"directory, {newest}, holds no saved_model.pb ({holds}).{also} Export the model "
        f"into {os.path.join(path, str(newest))} again, or remove that directory."
    )


def describe_non_saved_model(path: str) -> str:
    """Say what a directory without ``saved_model.pb`` holds, and what to do."""
    try:
        names = sorted(os.listdir(path))
    except OSError as error:
        return f"{path} cannot be listed ({error.strerror}); check its permissions."
    if not names:
        return f"{path} is empty: it holds no saved_model.pb. Export a model into it first."
    listing = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    message = f"{path} holds no saved_model.pb or saved_model.pbtxt; it contains: {listing}."
    hint = _directory_hint(path, names)
    return f"{message} {hint}" if hint else message


def _directory_hint(path: str, names: list[str]) -> str:
    lowered = [name.lower() for name in names]
    if CHUNKED_FILE in lowered:
        return (
            "saved_model.cpb is TensorFlow's chunked format for graphs over 2 GB, which this "
            "reader does not parse; inspect it with TensorFlow (saved_model_cli)."
        )
    if any(name.endswith(KERAS_SUFFIXES) for name in lowered):
        return (
            "These are Keras model files, not a SavedModel: convert one with "
            "savedmodel_widgets.convert(file, directory) (or the ConvertWidget, or "
            "python -m savedmodel_widgets convert), then inspect the export."
        )
    if "checkpoint" in lowered or any(
        name.endswith((".index", ".meta")) or ".data-" in name for name in lowered
    ):
        return (
            "These look like TensorFlow checkpoint files (tf.train.Saver or tf.train.Checkpoint): "
            "convert them with savedmodel_widgets.convert(folder, directory) (or the "
            "ConvertWidget), then inspect the export."
        )
    if "variables" in lowered or "assets" in lowered:
        return (
            "variables/ or assets/ are here without saved_model.pb: the export is incomplete or "
            "was interrupted; export the model again."
        )
    subdirs = [n for n in names if os.path.isdir(os.path.join(path, n))]
    with_models = [n for n in subdirs if model_file(os.path.join(path, n))]
    if with_models:
        listing = ", ".join(with_models[:12])
        return f"Sub-directories that hold a SavedModel: {listing}; pass one of them."
    return ""


def _file_hint(path: str) -> str:
    if path.lower().endswith(KERAS_SUFFIXES):
        return ("It is a Keras model file: convert it with savedmodel_widgets.convert(file, "
                "directory) or the ConvertWidget.")
    if path.endswith((".index", ".meta")) or ".data-" in os.path.basename(path):
        return ("It is part of a TensorFlow checkpoint: convert it with "
                "savedmodel_widgets.convert(file, directory) or the ConvertWidget.")
    return "Pass the directory that holds saved_model.pb."


def _nearby_hint(path: str) -> str:
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        return "Check the path: its parent directory does not exist either."
    candidates = sorted(
        name for name in os.listdir(parent) if model_file(os.path.join(parent, name))
    )
    if candidates:
        return f"SavedModels beside it: {', '.join(candidates[:12])}."
    return f"Check the path; {parent} holds no SavedModel directory."


def list_tree(directory: str) -> tuple[FileEntry, ...]:
    """Every file and directory under ``directory``, directories first at each level.

    Directory sizes are the total of their contents. Symbolic links to
    directories are listed but not followed.
    """
    entries: list[FileEntry] = []
    _walk(directory, "", entries)
    return tuple(entries)


def _walk(directory: str, prefix: str, entries: list[FileEntry]) -> int:
    try:
        with os.scandir(directory) as scan:
            items = list(scan)
    except OSError as error:
        raise SavedModelError(f"Cannot list {directory}: {error.strerror}.") from error
    dirs = sorted((i for i in items if i.is_dir(follow_symlinks=False)), key=lambda i: i.name)
    files = sorted((i for i in items if not i.is_dir(follow_symlinks=False)), key=lambda i: i.name)
    total = 0
    for item in dirs:
        position = len(entries)
        entries.append(FileEntry(prefix + item.name, 0, True))
        size = _walk(item.path, f"{prefix}{item.name}/", entries)
        entries[position] = FileEntry(prefix + item.name, size, True)
        total += size
    for item in files:
        try:
            size = item.stat().st_size
        except OSError:
            size = 0
        entries.append(FileEntry(prefix + item.name, size, False))
        total += size
    return total
