"""Find the model files under a folder that :func:`~savedmodel_widgets.convert` can open.

Nothing here imports TensorFlow: each file is recognised from its name and its
first bytes, HDF5 files by their attributes, checkpoints by their index.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConvertError
from ..savedmodel.layout import KERAS_SUFFIXES, MAX_FOLDERS, model_file, subfolders
from .checkpoint_files import find_checkpoint
from .keras_files import read_keras_file

__all__ = ["FoundModelFile", "find_model_files"]



@dataclass(frozen=True)
class FoundModelFile:
    """A model file (or checkpoint folder) found by :func:`find_model_files`.

    Attributes
    ----------
    path : pathlib.Path
        The file, or the checkpoint's folder.
    format : str
        ``keras-h5``, ``keras``, ``keras-weights``, ``tf1-checkpoint``,
        ``tf2-checkpoint``; ``damaged`` when the file cannot be read, ``incomplete``
        for a ``.meta`` graph without the checkpoint's values.
    description : str
        One line for a file chooser: what it is, or why it cannot be used.
    size : int
        Bytes on disk (all the checkpoint's files for a checkpoint).
    """

    path: Path
    format: str
    description: str
    size: int

    @property
    def label(self) -> str:
        """``path  (description)`` for a dropdown."""
        return f"{self.path}  ({self.description})"


def find_model_files(root: str | os.PathLike[str] = ".", *, max_depth: int = 4,
                     limit: int = 200) -> list[FoundModelFile]:
    """Keras files and checkpoints under ``root``, nearest first.

    SavedModel folders (their ``variables/`` looks like a checkpoint), hidden
    folders and folders such as ``__pycache__`` are skipped.

    Parameters
    ----------
    root : str or os.PathLike
        The folder to search, by default the working directory.
    max_depth : int
        How many folder levels below ``root`` to look into.
    limit : int
        At most this many results.

    Returns
    -------
    list of FoundModelFile
        Paths relative to ``root`` when ``root`` is relative, sorted by depth then name.
    """
    found: list[FoundModelFile] = []
    base = Path(root).expanduser()
    for folder in _folders(base, max_depth):
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        if any(entry.suffix == ".index" for entry in entries):
            found.append(_checkpoint_entry(folder))
        elif metas := [e for e in entries if e.suffix == ".meta" and e.is_file()]:
            found += [FoundModelFile(meta, "incomplete", "a .meta graph without checkpoint values",
                                     meta.stat().st_size) for meta in metas]
        found += [_keras_entry(entry) for entry in entries
                  if entry.suffix in KERAS_SUFFIXES and entry.is_file()]
        if len(found) >= limit:
            break
    found.sort(key=lambda item: (len(item.path.parts), str(item.path)))
    return found[:limit]


def _folders(base: Path, max_depth: int) -> list[Path]:
    """Folders under ``base`` to look into, breadth first; SavedModels (and so their
    ``variables/``) are left out."""
    folders: list[Path] = []
    queue = deque([(base, 0)])
    while queue and len(folders) < MAX_FOLDERS:
        folder, depth = queue.popleft()
        if model_file(str(folder)):
            continue
        folders.append(folder)
        if depth < max_depth:
            queue.extend((child, depth + 1) for child in subfolders(folder))
    return folders


def _keras_entry(path: Path) -> FoundModelFile:
    size = path.stat().st_size
    try:
        info = read_keras_file(path)
    except ConvertError as error:
        return FoundModelFile(path, "damaged", str(error).split(". ")[0], size)
    if info.weights_only:
        return FoundModelFile(path, info.kind,
                              "Keras weights only: needs the model's code", size)
    lambdas = ", Python code in the file: needs trust" if info.code_layers else ""
    return FoundModelFile(path, info.kind, f"Keras model by {info.written_by}{lambdas}", size)


def _checkpoint_entry(folder: Path) -> FoundModelFile:
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    try:
        files = find_checkpoint(folder)
    except ConvertError as error:
        return FoundModelFile(folder, "damaged", str(error).split(". ")[0], size)
    kind = "tf2-checkpoint" if files.object_based else "tf1-checkpoint"
    needs = ": needs the model's code" if files.object_based or files.meta is None else ""
    return FoundModelFile(folder, kind, files.describe() + needs, size)
