"""Restore checkpoints into live objects the export backend understands.

- A TF1 checkpoint with its ``.meta`` graph: ``import_meta_graph`` into a fresh
  graph and ``Saver.restore`` into a fresh session (the reference's flow).
- A TF1 checkpoint without ``.meta``: restored with a ``Saver`` into a session
  whose graph the user rebuilt.
- A TF2 object checkpoint (``tf.train.Checkpoint``): restored into a model
  object the user built, found under the checkpoint's root or one of its
  children (``tf.train.Checkpoint(model=...)``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from ..errors import ConvertError
from ._source import Progress
from .checkpoint_files import CheckpointFiles
from .framework_internals import partitioned_variable, trackable_object_graph

__all__ = [
    "checkpoint_root_names",
    "restore_into_session",
    "restore_meta_graph",
    "restore_object_checkpoint",
]

_SHOWN = 8
_UNREGISTERED_OP = re.compile(r"Op type not registered '([^']+)'")


def restore_meta_graph(files: CheckpointFiles, progress: Progress) -> Any:
    """A new ``tf.compat.v1.Session`` holding the ``.meta`` graph with the checkpoint's values.

    Raises
    ------
    ConvertError
        The ``.meta`` is damaged or uses ops this TensorFlow lacks, or its
        variables are not in the checkpoint (named, with the closest keys).
    """
    import tensorflow as tf

    assert files.meta is not None
    progress(f"Importing the graph {files.meta.name}")
    graph = tf.Graph()
    try:
        with graph.as_default():
            # None when the graph has no variables: then there is nothing to restore.
            saver = tf.compat.v1.train.import_meta_graph(str(files.meta), clear_devices=True)
    except Exception as error:  # noqa: BLE001 - protobuf and op-registry errors
        raise ConvertError(_import_failure(files, error)) from error
    session = tf.compat.v1.Session(graph=graph)
    try:
        _restore(files, saver, session, files.meta.name, progress)
    except ConvertError:
        session.close()
        raise
    return session


def restore_into_session(files: CheckpointFiles, session: Any, progress: Progress) -> None:
    """Restore a TF1 checkpoint into the variables of a session whose graph the user built."""
    import tensorflow as tf

    with session.graph.as_default():
        if not tf.compat.v1.global_variables():
            raise ConvertError(
                "The given session's graph has no variables to restore into. Build the "
                "model's graph in that session first (the same code that trained it)."
            )
        saver = tf.compat.v1.train.Saver()
    _restore(files, saver, session, "the session's graph", progress)


def _restore(files: CheckpointFiles, saver: Any, session: Any, where: str,
             progress: Progress) -> None:
    """Check the saver's keys against the checkpoint, restore, initialize the rest."""
    if saver is not None:
        _check_keys(files, _saver_keys(session.graph, saver.saver_def), where)
        _check_shapes(files, session.graph, where)
    try:
        if saver is not None:
            progress(f"Restoring the values of {files.prefix.name}")
            with session.graph.as_default():
                saver.restore(session, str(files.prefix))
        _initialize_rest(session)
    except Exception as error:  # noqa: BLE001 - shape, dtype and data-file errors
        raise ConvertError(_restore_failure(files, error)) from error


def _saver_keys(graph: Any, saver_def: Any) -> list[str]:
    """The checkpoint keys the saver's restore op reads, from its ``RestoreV2`` constants."""
    import tensorflow as tf

    scope = saver_def.restore_op_name.rsplit("/", 1)[0] + "/"
    keys: list[str] = []
    for op in graph.get_operations():
        if op.type in ("RestoreV2", "Restore") and op.name.startswith(scope):
            names_op = op.inputs[1].op
            if names_op.type == "Const":
                keys += [k.decode() for k in tf.make_ndarray(names_op.get_attr("value")).ravel()]
    return keys


def _check_keys(files: CheckpointFiles, wanted: Sequence[str], where: str) -> None:
    present = {variable.key for variable in files.variables}
    missing = [key for key in wanted if key not in present]
    if not missing:
        return
    lines = []
    for key in missing[:_SHOWN]:
        close = difflib.get_close_matches(key, present, n=1, cutoff=0.5)
        lines.append(f"{key!r}" + (f" (closest in the checkpoint: {close[0]!r})" if close else ""))
    more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
    raise ConvertError(
        f"{len(missing)} of the {len(wanted)} variables of {where} are not in the checkpoint "
        f"{files.prefix.name}: {', '.join(lines)}{more}. The graph and the checkpoint come from "
        "different models or training runs; use the .meta and checkpoint files saved together "
        "(same prefix). list_checkpoint_variables(path) shows what the checkpoint holds."
    )


def _check_shapes(files: CheckpointFiles, graph: Any, where: str) -> None:
    """Refuse variables whose checkpoint value has another shape: a restore would give
    the variable the checkpoint's shape without a word, and the export would fail later."""
    import tensorflow as tf

    saved = {variable.key: variable.shape for variable in files.variables}
    wrong = []
    for variable in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
        key = variable.op.name
        shape = variable.shape
        if key in saved and shape.is_fully_defined() and tuple(shape) != saved[key] \
                and not partitioned_variable(variable):
            wrong.append(f"{key} is {tuple(shape)} in the graph, {saved[key]} in the checkpoint")
    if wrong:
        raise ConvertError(
            f"The values of {files.prefix.name} cannot be restored into {where}: the shape "
            f"differs for {'; '.join(wrong[:_SHOWN])}. The graph and the checkpoint come "
            "from different models; use the .meta saved with the checkpoint."
        )


def _initialize_rest(session: Any) -> None:
    """Run what a restore does not cover: lookup-table and local-variable initializers."""
    import tensorflow as tf

    graph = session.graph
    ops = list(graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS))
    ops += [v.initializer for v in graph.get_collection(tf.compat.v1.GraphKeys.LOCAL_VARIABLES)]
    if ops:
        session.run(ops)


def _import_failure(files: CheckpointFiles, error: Exception) -> str:
    text = str(error)
    unregistered = _UNREGISTERED_OP.search(text)
    if unregistered:
        return (
            f"The graph {files.meta.name if files.meta else ''} uses the op "
            f"{unregistered.group(1)!r}, which this "
            f"TensorFlow does not have (it came from tf.contrib or a custom op library of "
            "the TensorFlow that trained it). Import that library first, or rebuild the graph "
            "in Python and pass the session: load_model_file(path, model=sess)."
        )
    return (
        f"The graph {files.meta.name if files.meta else ''} cannot be imported "
        f"({type(error).__name__}: {text.strip().splitlines()[0] if text.strip() else ''}); the "
        ".meta file may be damaged or cut short. Copy it again."
    )


def _restore_failure(files: CheckpointFiles, error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return (
        f"The values of {files.prefix.name} cannot be restored ({type(error).__name__}: "
        f"{text}). A shape or dtype in the checkpoint differs from the graph, or a data file "
        "is damaged."
    )


def restore_object_checkpoint(files: CheckpointFiles, model: Any, progress: Progress
                              ) -> str | None:
    """Restore a ``tf.train.Checkpoint`` into a built model.

    The model may be the checkpoint's root (``model.save_weights`` in tf_keras,
    ``tf.train.Checkpoint(model)``) or one of the root's children
    (``tf.train.Checkpoint(model=model, optimizer=...)``); the one under which
    every variable of the model finds its value is used. Optimizer slots and
    counters in the checkpoint are left out.

    Returns
    -------
    str or None
        The name of the root's child the model was restored as; None for the root.

    Raises
    ------
    ConvertError
        The model has no variables yet (not built), or no place in the
        checkpoint fits it.
    """
    import tensorflow as tf

    variables = list(getattr(model, "variables", ()) or ())
    if not variables:
        raise ConvertError(
            "The given model has no variables yet, so there is nothing to restore into. Build "
            "it first: call it once on a sample batch, or model.build(input_shape)."
        )
    # ``root`` is Checkpoint's own argument for the root object, tried last as ``None``.
    children = [name for name in checkpoint_root_names(files)
                if name not in ("save_counter", "root")]
    progress(f"Restoring {files.prefix.name} into the given model")
    tried, reasons = [], []
    for name in [*children, None]:
        where = "the root" if name is None else repr(name)
        checkpoint = tf.train.Checkpoint(model) if name is None else tf.train.Checkpoint(
            **{name: model})
        try:
            status = checkpoint.read(str(files.prefix))
            status.assert_existing_objects_matched()
        except AssertionError:
            tried.append(where)
            continue
        except (ValueError, tf.errors.OpError) as error:  # a shape or dtype that differs
            tried.append(where)
            reasons.append(f" Under {where}: {str(error).strip().splitlines()[0]}")
            continue
        status.expect_partial()
        return name
    raise ConvertError(
        f"The given model does not fit the checkpoint {files.prefix.name}: its variables find "
        f"no values under {', '.join(tried)}.{''.join(reasons)} Build the same model "
        "(same layers, same order, same sizes) "
        f"that was saved. The checkpoint holds: {_sample(files)}."
    )


def checkpoint_root_names(files: CheckpointFiles) -> list[str]:
    """The names of a TF2 checkpoint root's children (``model``, ``optimizer``), from the
    object graph the checkpoint stores (keys alone can hide them: a variable is keyed by
    its shortest path, which often runs through the optimizer)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(files.prefix))
    graph = trackable_object_graph()
    graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    return [child.local_name for child in graph.nodes[0].children] if graph.nodes else []


def _sample(files: CheckpointFiles) -> str:
    names = [variable.name for variable in files.variables]
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more
