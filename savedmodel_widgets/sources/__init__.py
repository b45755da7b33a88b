"""Find exportable objects in a namespace and list the tensors a user can pick.

Nothing here imports TensorFlow or Keras: an object can only be a model if its
library is already imported, so :func:`find_models` looks in ``sys.modules``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import SourceError
from ..runtimes.catalogue import INSTALLED
from ..savedmodel.info import DEFAULT_SIGNATURE
from ..spec import ExportSpec, SignatureSpec, Version
from ._candidate import (
    KIND_LABELS,
    Candidate,
    Kind,
    ModelEntry,
    Role,
    clean_alias,
    is_valid_alias,
    unique_aliases,
)
from ._source import Source, choices_text

__all__ = [
    "KIND_LABELS",
    "Candidate",
    "Kind",
    "ModelEntry",
    "Role",
    "Source",
    "choices_text",
    "clean_alias",
    "find_models",
    "is_valid_alias",
    "list_candidates",
    "model_entry",
    "model_kind",
    "open_source",
    "suggest_signature",
    "suggest_spec",
    "unique_aliases",
]


def model_kind(obj: Any) -> Kind | None:
    """The kind of an exportable object, or ``None`` when it is not one.

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    {"keras", "tf_keras", "session", "graph", "module"} or None
    """
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(obj, keras.Model):
        return "keras"
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None and isinstance(obj, tf_keras.Model):
        return "tf_keras"
    tf = sys.modules.get("tensorflow")
    if tf is None or not hasattr(tf, "compat"):
        return None
    if isinstance(obj, tf.compat.v1.Session):
        return "session"
    if isinstance(obj, tf.Graph):
        return "graph"
    if isinstance(obj, tf.Module):
        return "module"
    return None


def open_source(obj: Any) -> Source:
    """Wrap a live object for the export backend.

    Parameters
    ----------
    obj : object
        A built Keras 3 or tf_keras model, a ``tf.compat.v1.Session``, a
        ``tf.Graph`` without variables, or a ``tf.Module`` with ``tf.function``
        methods. A :class:`Source` is returned as it is.

    Returns
    -------
    Source

    Raises
    ------
    SourceError
        When the object is none of these, or is not ready (an unbuilt model, a
        closed session, a module without traced functions).
    """
    if isinstance(obj, Source):
        return obj
    kind = model_kind(obj)
    if kind in ("keras", "tf_keras"):
        from .keras_models import keras_source

        return keras_source(obj, kind)
    if kind in ("session", "graph"):
        from .graphs import GraphSource

        return GraphSource(obj, kind)
    if kind == "module":
        from .modules import ModuleSource

        return ModuleSource(obj)
    raise SourceError(
        f"Cannot export an object of type {type(obj).__module__}.{type(obj).__qualname__}. "
        "Export a Keras model (Keras 3 or tf_keras), a tf.compat.v1.Session, a tf.Graph, "
        "or a tf.Module with tf.function methods; for a file on disk use convert()."
    )


def find_models(namespace: Mapping[str, Any]) -> list[ModelEntry]:
    """The exportable objects in a namespace, such as a notebook's ``globals()``.

    Names starting with ``_`` are skipped, and so are objects that are not
    ready to export (an unbuilt Keras model, a closed session, a module with
    no traced ``tf.function``).

    Parameters
    ----------
    namespace : Mapping[str, object]
        Variable names to objects.

    Returns
    -------
    list of ModelEntry
        In the namespace's order.
    """
    entries = []
    for name, obj in list(namespace.items()):
        if name.startswith("_") or model_kind(obj) is None:
            continue
        try:
            entries.append(model_entry(name, obj))
        except SourceError:
            continue
    return entries


def model_entry(name: str, obj: Any) -> ModelEntry:
    """The :class:`ModelEntry` of one object, opened for the export backend.

    Raises
    ------
    SourceError
        When the object cannot be exported; the message says why.
    """
    source = open_source(obj)
    return ModelEntry(name, source.kind, source.describe(), obj, source)


def list_candidates(obj: Any) -> list[Candidate]:
    """The tensors a user can pick from an object: inputs first, then outputs, then the rest.

    Parameters
    ----------
    obj : object
        An exportable object (see :func:`open_source`).

    Returns
    -------
    list of Candidate
        Keras: the model inputs, the model outputs, then every layer's output.
        TF1: placeholders, then tensors nothing consumes, then the other
        tensors; training, saver and initializer ops are left out. A
        ``tf.Module``: each function's arguments and outputs.
    """
    return open_source(obj).candidates()


def suggest_signature(obj: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Default ``{alias: candidate name}`` maps for a signature's inputs and outputs.

    Keras: every model input and output, aliased after its name. TF1: the
    tensors nothing consumes (not scalars) and the placeholders they need. A
    ``tf.Module``: the first function's arguments and outputs.
    """
    return open_source(obj).suggest()


def suggest_spec(
    obj: Any,
    directory: str | os.PathLike[str],
    *,
    signature_name: str = DEFAULT_SIGNATURE,
    version: Version = None,
    overwrite: bool = False,
    source_name: str = "model",
    runtime: str = INSTALLED,
) -> ExportSpec:
    """An :class:`~savedmodel_widgets.ExportSpec` with the backend's suggested inputs,
    outputs and aliases (see :func:`suggest_signature`), in one signature.

    Parameters
    ----------
    obj : object
        The live model (see :func:`open_source`).
    directory : str or os.PathLike
        Where the SavedModel goes.
    signature_name : str
        The one signature's name.
    version, overwrite, source_name, runtime
        As for :class:`~savedmodel_widgets.ExportSpec`: ``runtime="eas:tensorflow_cpu_1.15"``
        makes the export one that runtime loads.
    """
    inputs, outputs = open_source(obj).suggest()
    signature = SignatureSpec(signature_name, inputs, outputs)
    return ExportSpec(obj, signature, directory, version, overwrite=overwrite,
                      source_name=source_name, runtime=runtime)
