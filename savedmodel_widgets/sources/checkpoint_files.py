"""Find a TensorFlow checkpoint's files and list its variables, without TensorFlow.

A checkpoint is a prefix (``model.ckpt-1000``) with an index
(``model.ckpt-1000.index``) and data shards (``model.ckpt-1000.data-00000-of-00001``);
``tf.compat.v1.train.Saver`` also writes the graph as ``model.ckpt-1000.meta``.
The ``checkpoint`` text file beside them names the latest prefix, often by an
absolute path that breaks when the directory is moved or copied to another
machine, so only the base name of that path is used, and the files decide.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConvertError
from ..savedmodel._bundle import (
    OBJECT_GRAPH_KEY,
    VARIABLE_VALUE_SUFFIX,
    BundleFormatError,
    bundle_variables,
    data_file_problems,
    read_bundle_file,
)
from ..savedmodel.info import VariableInfo
from ..savedmodel.layout import KERAS_SUFFIXES, model_file

__all__ = ["CheckpointFiles", "find_checkpoint", "list_checkpoint_variables"]

_DATA_FILE = re.compile(r"^(?P<prefix>.+)\.data-\d{5}-of-\d{5}$")
_STEP = re.compile(r"-(\d+)$")
_LATEST = re.compile(r'^model_checkpoint_path:\s*"(?P<path>.*)"\s*$', re.MULTILINE)


@dataclass(frozen=True)
class CheckpointFiles:
    """The files of one checkpoint, checked to be complete.

    Attributes
    ----------
    prefix : pathlib.Path
        The path TensorFlow restores from (``ckpt/model.ckpt-1000``); its index
        and every data shard are there, each long enough for the index's entries.
    meta : pathlib.Path or None
        The ``.meta`` graph written by ``tf.compat.v1.train.Saver``, if any.
    object_based : bool
        Whether it was written by ``tf.train.Checkpoint`` (TF2), which records
        an object graph instead of variable names.
    other_prefixes : tuple of str
        The other checkpoints in the same directory, by base name.
    variables : tuple of VariableInfo
        The saved tensors (see :func:`list_checkpoint_variables`).
    """

    prefix: Path
    meta: Path | None
    object_based: bool
    other_prefixes: tuple[str, ...]
    variables: tuple[VariableInfo, ...]

    def describe(self) -> str:
        """A short description: ``TF1 checkpoint model.ckpt-1000 (8 variables, graph ...)``."""
        kind = "TF2 object checkpoint" if self.object_based else "TF1 checkpoint"
        graph = f", graph {self.meta.name}" if self.meta else ", no .meta graph"
        count = len(self.variables)
        return f"{kind} {self.prefix.name} ({count} variable{'s' * (count != 1)}{graph})"


def find_checkpoint(path: str | os.PathLike[str]) -> CheckpointFiles:
    """Find a checkpoint's prefix, index, data shards and ``.meta`` graph.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint directory (its latest checkpoint is taken), a prefix
        (``ckpt/model.ckpt-1000``), or one of its files (``.meta``, ``.index``,
        ``.data-00000-of-00001``).

    Returns
    -------
    CheckpointFiles

    Raises
    ------
    ConvertError
        When there is no checkpoint at ``path`` (the message lists what is
        there), a data shard is missing or cut short, or the index is damaged.
    """
    path = Path(path).expanduser()
    meta: Path | None = None
    directory = path if path.is_dir() else path.parent
    prefixes = _prefixes(directory) if directory.is_dir() else []
    if path.is_dir():
        prefix = _latest_prefix(directory, prefixes)
    elif path.suffix == ".meta" and path.is_file():
        meta, prefix = path, path.with_suffix("").name
        if prefix not in prefixes:
            prefix = _latest_prefix(directory, prefixes, meta_only=path)
    else:
        prefix = _prefix_of_file(path)
    if prefix not in prefixes:
        raise ConvertError(_no_checkpoint_message(directory, prefix))
    header, entries = _read_index(directory / f"{prefix}.index")
    _check_data_files(directory / prefix, header, entries)
    return CheckpointFiles(
        prefix=directory / prefix,
        meta=meta or _meta_for(directory, prefix),
        object_based=any(key == OBJECT_GRAPH_KEY for key, _ in entries),
        other_prefixes=tuple(p for p in prefixes if p != prefix),
        variables=bundle_variables(entries, lambda key: key.removesuffix(VARIABLE_VALUE_SUFFIX)),
    )


def list_checkpoint_variables(path: str | os.PathLike[str]) -> list[VariableInfo]:
    """The tensors a checkpoint holds, read from its index without TensorFlow.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint directory, prefix or file, as for :func:`find_checkpoint`.

    Returns
    -------
    list of VariableInfo
        In key order. ``name`` is the variable's name for a TF1 checkpoint
        (``dense/kernel``) and the object path for a TF2 checkpoint
        (``model/layer_with_weights-0/kernel``); ``key`` is the checkpoint key.
        Optimizer slots and the step counter are included.
    """
    return list(find_checkpoint(path).variables)


def _prefixes(directory: Path) -> list[str]:
    try:
        names = [p.name for p in directory.iterdir()]
    except OSError as error:
        raise ConvertError(f"Cannot list {directory}: {error.strerror}.") from error
    return sorted(name[: -len(".index")] for name in names if name.endswith(".index"))


def _latest_prefix(directory: Path, prefixes: list[str], meta_only: Path | None = None) -> str:
    """The newest of ``prefixes`` in ``directory``: the one the ``checkpoint`` file names
    (by base name), else the highest step, else the newest index."""
    if not prefixes:
        raise ConvertError(_no_checkpoint_message(directory, None, meta_only))
    named = _named_in_checkpoint_file(directory)
    if named in prefixes:
        return named

    def newest(prefix: str) -> tuple[int, float]:
        match = _STEP.search(prefix)
        step = int(match.group(1)) if match else -1
        return step, (directory / f"{prefix}.index").stat().st_mtime

    return max(prefixes, key=newest)


def _named_in_checkpoint_file(directory: Path) -> str | None:
    try:
        text = (directory / "checkpoint").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _LATEST.search(text)
    if not match:
        return None
    return re.split(r"[\\/]", match.group("path"))[-1]


def _prefix_of_file(path: Path) -> str:
    name = path.name
    if name.endswith(".index"):
        return name[: -len(".index")]
    match = _DATA_FILE.match(name)
    return match.group("prefix") if match else name


def _meta_for(directory: Path, prefix: str) -> Path | None:
    """The prefix's own ``.meta``, else the newest ``.meta`` in the directory.

    ``Saver.save(..., write_meta_graph=False)`` after the first save leaves
    only the first step's graph, which is the same graph.
    """
    own = directory / f"{prefix}.meta"
    if own.is_file():
        return own
    metas = sorted(directory.glob("*.meta"), key=lambda p: p.stat().st_mtime)
    return metas[-1] if metas else None


def _read_index(index: Path) -> tuple[object, list[tuple[str, object]]]:
    try:
        return read_bundle_file(index)
    except OSError as error:
        raise ConvertError(f"Cannot read {index}: {error.strerror}.") from error
    except BundleFormatError as error:
        raise ConvertError(
            f"{index} is damaged or cut short ({error}); copy the checkpoint again, or use "
            "an older checkpoint of the same directory."
        ) from error


def _check_data_files(prefix: Path, header: object, entries: list[tuple[str, object]]) -> None:
    """Every data shard the index names, each long enough for the entries it holds."""
    shards = header.num_shards  # type: ignore[attr-defined]
    files = [prefix.with_name(f"{prefix.name}.data-{i:05d}-of-{shards:05d}")
             for i in range(shards)]
    missing = [file.name for file in files if not file.is_file()]
    if missing:
        raise ConvertError(
            f"The checkpoint {prefix.name} is incomplete: its index names {shards} data "
            f"file{'s' * (shards != 1)}, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing from {prefix.parent}. Copy "
            "the .data-* files together with the .index file."
        )
    problems = data_file_problems(str(prefix), header, entries)
    if problems:
        raise ConvertError(
            f"The checkpoint {prefix.name} is cut short: {'; '.join(problems)}. Copy the "
            "checkpoint again."
        )


def _no_checkpoint_message(directory: Path, prefix: str | None,
                           meta: Path | None = None) -> str:
    if not directory.is_dir():
        return f"{directory} does not exist; give a checkpoint directory, prefix or .meta file."
    if prefix is not None and (directory / prefix).is_file():
        return (
            f"{directory / prefix} is not a model file that can be converted. Give a Keras "
            ".h5 or .keras file, a checkpoint directory, a checkpoint prefix such as "
            "model.ckpt-1000, or a .meta file."
        )
    prefixes = _prefixes(directory)
    if meta is not None:
        return (
            f"{meta.name} is a graph without values: {directory} holds no checkpoint "
            "(.index and .data-* files) to restore into it. Copy the checkpoint files "
            "of the same training run beside it."
        )
    if prefix is not None and prefixes:
        close = difflib.get_close_matches(prefix, prefixes, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"There is no checkpoint {prefix!r} in {directory} (no {prefix}.index).{hint} "
            f"Checkpoints there: {', '.join(prefixes)}."
        )
    if model_file(str(directory)):
        return f"{directory} is already a SavedModel; inspect it with inspect({str(directory)!r})."
    keras_files = sorted(p.name for p in directory.iterdir()
                         if p.suffix in KERAS_SUFFIXES)
    if keras_files:
        return (
            f"{directory} holds no checkpoint, but Keras model files: "
            f"{', '.join(keras_files[:8])}. Give one of them, e.g. "
            f"{str(directory / keras_files[0])!r}."
        )
    found = sorted(p.name for p in directory.iterdir())[:8]
    listing = f" It holds: {', '.join(found)}." if found else " It is empty."
    return (
        f"{directory} holds no checkpoint (no .index file).{listing} Give a checkpoint "
        "directory, a prefix such as model.ckpt-1000, a .meta file, or a Keras .h5 or "
        ".keras file."
    )
