"""Load a SavedModel the way TensorFlow Serving loads it, and run its signatures.

TF Serving (and PAI-EAS's TensorFlow processor) load a SavedModel with
TensorFlow's C++ ``LoadSavedModel``: the meta graph whose tag set is exactly
the one asked for (``{"serve"}``), imported into a graph, its variables
restored and its main op (or legacy init op) run in one session. A request
then feeds the tensors a SignatureDef names and fetches its outputs.
``tf.compat.v1.saved_model.loader.load`` in a ``tf.compat.v1.Session`` does the
same steps in Python; ``tf.saved_model.load`` does not (it fills lookup
tables by itself, for one), so it can accept what a server refuses.

This module is the one place that loads that way: :func:`verify
<savedmodel_widgets.verifier.verify>`'s worker process uses it, and so do the
tests that hold the checks to what TensorFlow does. It imports TensorFlow
inside its functions only.

Examples
--------
>>> session, meta_graph_def = load_for_serving("export/digits/1")     # doctest: +SKIP
>>> run_signature(session, meta_graph_def, "serving_default",
...               {"image": images})                                  # doctest: +SKIP
{'scores': array([[...]], dtype=float32)}
>>> session.close()                                                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SERVE_TAGS = ("serve",)
"""The tags TF Serving loads unless its model config names others."""

_BOILERPLATE = ("Graph execution error", "Detected at node", "[[", "Registered devices",
                "Registered kernels", "<no registered kernels>")


def load_for_serving(path: str, tags: Sequence[str] = SERVE_TAGS) -> tuple[Any, Any]:
    """Load the SavedModel at ``path`` into a new graph and session, as TF Serving does.

    Parameters
    ----------
    path : str
        The SavedModel directory (the one that holds ``saved_model.pb``).
    tags : sequence of str
        The tag set of the meta graph to load; it must equal a meta graph's tags
        exactly, as in TF Serving.

    Returns
    -------
    session : tf.compat.v1.Session
        A session on a graph of its own, with the variables restored and the main
        op run. The caller closes it.
    meta_graph_def : MetaGraphDef
        The meta graph that was loaded, with its SignatureDefs.

    Raises
    ------
    Exception
        TensorFlow's own error when the model cannot be loaded: no meta graph with
        these tags (``RuntimeError``), a damaged file, a missing variable shard,
        an op this TensorFlow does not know, a main op that fails.
    """
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    session = tf1.Session(graph=graph)
    try:
        with graph.as_default():
            meta_graph_def = tf1.saved_model.loader.load(session, list(tags), path)
    except BaseException:
        session.close()
        raise
    return session, meta_graph_def


def run_signature(
    session: Any, meta_graph_def: Any, name: str, feeds: Mapping[str, Any]
) -> dict[str, Any]:
    """Run signature ``name`` once, as a TF Serving predict request does.

    Parameters
    ----------
    session : tf.compat.v1.Session
        What :func:`load_for_serving` returned.
    meta_graph_def : MetaGraphDef
        The meta graph :func:`load_for_serving` returned.
    name : str
        The signature key (``serving_default``, ``predict_images``).
    feeds : mapping of str to array-like
        ``{input alias: value}``. Numeric values are cast to the dtype the
        signature declares (a float64 array for a float32 input, say); strings
        are fed as they are. A sparse input takes a
        ``tf.compat.v1.SparseTensorValue``.

    Returns
    -------
    dict of str to value
        ``{output alias: value}`` for every output of the signature: a numpy
        array for a dense output, a ``tf.compat.v1.SparseTensorValue`` for a
        sparse one and a ``tf.compat.v1.ragged.RaggedTensorValue`` for a ragged one.

    Raises
    ------
    KeyError
        When the meta graph has no signature ``name``, or ``feeds`` has an alias
        the signature does not; the message lists the valid ones.
    Exception
        TensorFlow's own error when the run fails (an input not fed, a table not
        initialized, a shape that does not fit).
    """
    import numpy as np
    import tensorflow as tf

    signatures = meta_graph_def.signature_def
    if name not in signatures:
        raise KeyError(f"The loaded meta graph has no signature {name!r}; its signatures are "
                       f"{', '.join(map(repr, sorted(signatures))) or 'none'}.")
    signature = signatures[name]
    unknown = [alias for alias in feeds if alias not in signature.inputs]
    if unknown:
        raise KeyError(f"Signature {name!r} has no input {unknown[0]!r}; its inputs are "
                       f"{', '.join(map(repr, sorted(signature.inputs))) or 'none'}.")
    get_tensor = tf.compat.v1.saved_model.utils.get_tensor_from_tensor_info
    graph = session.graph
    feed_dict = {}
    for alias, value in feeds.items():
        info = signature.inputs[alias]
        if info.WhichOneof("encoding") == "name":  # dense: cast numbers, as a server does
            value = np.asarray(value)
            dtype = tf.as_dtype(info.dtype)
            if dtype != tf.string and value.dtype.kind in "biufc":
                value = value.astype(dtype.as_numpy_dtype, copy=False)
        feed_dict[get_tensor(info, graph)] = value
    aliases = sorted(signature.outputs)
    fetches = [get_tensor(signature.outputs[alias], graph) for alias in aliases]
    values = session.run(fetches, feed_dict=feed_dict)
    return dict(zip(aliases, values, strict=True))


def error_message(error: BaseException) -> str:
    """``Type: message`` in one line, TensorFlow's words around the cause left out.

    A graph session's error wraps its cause in "Restoring from checkpoint failed
    ... Original error:", "Graph execution error:", "Detected at node ..." and the
    Python stack where the op was built; what is left names the node and says
    what went wrong (``FailedPreconditionError: Node: 'classes/LookupTableFindV2'
    Table not initialized.``).
    """
    text = str(error).split("Original error:")[-1].split("Original stack trace")[0]
    lines = (line.strip() for line in text.splitlines())
    kept = [line for line in lines if line and not line.startswith(_BOILERPLATE)]
    return f"{type(error).__name__}: {' '.join(kept)}".strip()
