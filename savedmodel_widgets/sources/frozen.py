"""Freeze a source's signatures: GraphDefs whose weights are constants, and the weights.

The compatible export (:mod:`savedmodel_widgets.compat_export`) rebuilds these graphs in
a TF1 graph with the weights as reference variables, which old TensorFlow runtimes load.

- A traced source (Keras 3, tf_keras, ``tf.Module``): each signature's concrete function
  is frozen with TensorFlow's ``convert_variables_to_constants_v2``; the constant that
  replaced a captured variable is keyed by that variable, so a weight that two
  signatures share is one weight here, named after the variable (``dense/kernel``).
- A TF1 session: the graph, cut to what the signatures and the table initializers need,
  is frozen with ``tf.compat.v1.graph_util.convert_variables_to_constants``; a weight is
  keyed by its variable's name (``W``), and tensor names stay those of the session.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SourceError
from ..spec import SignatureSpec
from ._source import Progress, Source, TracedSource, quiet_tensorflow_log
from .graphs import GraphSource
from .keras_saving import variables_by_name

if TYPE_CHECKING:
    import numpy

__all__ = [
    "FrozenGraph",
    "FrozenModel",
    "FrozenSignature",
    "freeze",
    "freeze_steps",
]

_VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})
_TABLE_INITIALIZERS = "table_initializer"  # tf.compat.v1.GraphKeys.TABLE_INITIALIZERS


@dataclass(frozen=True)
class FrozenGraph:
    """One frozen GraphDef, with its weight constants taken out.

    Attributes
    ----------
    scope : str
        The name scope it is imported under (the signature name; empty for a session).
    graph_def : GraphDef
        The graph without the weight constants: their tensors are in ``weight_inputs``.
    weight_inputs : dict of str to str
        ``{tensor name in graph_def: weight key}`` for each weight constant taken out.
    init_ops : tuple of str
        Ops that fill lookup tables, run by the SavedModel's main op.
    """

    scope: str
    graph_def: Any
    weight_inputs: dict[str, str]
    init_ops: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrozenSignature:
    """Where one signature's inputs and outputs are in its :class:`FrozenGraph`."""

    spec: SignatureSpec
    scope: str
    inputs: tuple[tuple[str, str], ...]
    """``(alias, tensor name in the graph_def)`` pairs."""
    outputs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FrozenModel:
    """A source's signatures frozen: graphs, signatures, and each weight once by key."""

    graphs: tuple[FrozenGraph, ...]
    signatures: tuple[FrozenSignature, ...]
    weights: dict[str, numpy.ndarray]


def freeze_steps(source: Source, signatures: Sequence[SignatureSpec]) -> int:
    """How many times :func:`freeze` calls ``progress``."""
    return len(signatures) if isinstance(source, TracedSource) else 1


def freeze(source: Source, signatures: Sequence[SignatureSpec], progress: Progress) -> FrozenModel:
    """Freeze the signatures of ``source`` (calling ``progress`` :func:`freeze_steps` times).

    Raises
    ------
    SourceError
        When the source holds something a frozen graph cannot carry (a lookup table
        owned by a Keras layer or a ``tf.Module``), or is of no kind that freezes.
    """
    if isinstance(source, TracedSource):
        return _freeze_traced(source, signatures, progress)
    if isinstance(source, GraphSource):
        return _freeze_session(source, signatures, progress)
    raise SourceError(f"A {source.kind} source cannot be exported for an older runtime.")


def _freeze_traced(source: TracedSource, signatures: Sequence[SignatureSpec],
                   progress: Progress) -> FrozenModel:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    functions = [source.concrete_function(signature) for signature in signatures]
    key_of = {id(variable): key for key, variable in variables_by_name(functions).items()}
    graphs: list[FrozenGraph] = []
    frozen_signatures: list[FrozenSignature] = []
    weights: dict[str, numpy.ndarray] = {}
    for signature, function in zip(signatures, functions, strict=True):
        progress(f"Freezing signature {signature.name!r} (weights become constants)")
        by_handle = {id(variable.handle): key_of[id(variable)] for variable in function.variables}
        weight_nodes = {}
        for external, internal in function.graph.captures:
            if id(external) in by_handle:
                weight_nodes[internal.op.name] = by_handle[id(external)]
            elif external.dtype == tf.resource:
                raise SourceError(
                    f"Signature {signature.name!r} uses a resource that is not a variable "
                    f"({internal.op.name}, such as a lookup table of a StringLookup layer); "
                    "a frozen graph cannot carry it, so no export for an older runtime can "
                    "be made. Export for runtime='installed', or build the lookup in a TF1 "
                    "session with tf.lookup.StaticHashTable."
                )
        frozen = convert_variables_to_constants_v2(function)
        graph_def = frozen.graph.as_graph_def()
        weight_inputs = _take_out_weights(graph_def, weight_nodes, weights)
        scope = _unique_scope(signature.name, {graph.scope for graph in graphs})
        graphs.append(FrozenGraph(scope, graph_def, weight_inputs))
        order = tf.nest.flatten({alias: alias for alias in signature.output_aliases})
        outputs = dict(zip(order, (t.name for t in frozen.outputs), strict=True))
        frozen_signatures.append(FrozenSignature(
            signature,
            scope,
            tuple(zip(signature.input_aliases, (t.name for t in frozen.inputs), strict=True)),
            tuple((alias, outputs[alias]) for alias in signature.output_aliases),
        ))
    return FrozenModel(tuple(graphs), tuple(frozen_signatures), weights)


def _freeze_session(source: GraphSource, signatures: Sequence[SignatureSpec],
                    progress: Progress) -> FrozenModel:
    import tensorflow as tf

    graph = source.graph
    init_ops = tuple(op.name for op in graph.get_collection(_TABLE_INITIALIZERS))
    kept = {name.split(":")[0] for signature in signatures
            for _, name in (*signature.inputs, *signature.outputs)}
    variable_ops = {op.name: op.name for op in graph.get_operations()
                    if op.type in _VARIABLE_OPS}
    progress("Freezing the session's graph (variables become constants)")
    session = source.session()
    try:
        with quiet_tensorflow_log():
            graph_def = tf.compat.v1.graph_util.convert_variables_to_constants(
                session, graph.as_graph_def(), sorted(kept) + list(init_ops)
            )
    finally:
        if session is not source.obj:
            session.close()
    weights: dict[str, numpy.ndarray] = {}
    weight_inputs = _take_out_weights(graph_def, variable_ops, weights)
    frozen_signatures = tuple(
        FrozenSignature(signature, "", signature.inputs, signature.outputs)
        for signature in signatures
    )
    return FrozenModel((FrozenGraph("", graph_def, weight_inputs, init_ops),),
                       frozen_signatures, weights)


def _unique_scope(name: str, taken: set[str]) -> str:
    """A name scope for a signature's graph: its name with characters TensorFlow refuses in
    op names replaced, made unique."""
    base = re.sub(r"[^A-Za-z0-9_.\-]", "_", name).lstrip("_.-") or "signature"
    scope, number = base, 1
    while scope in taken:
        scope, number = f"{base}_{number}", number + 1
    return scope


def _take_out_weights(graph_def: Any, weight_nodes: dict[str, str],
                      weights: dict[str, numpy.ndarray]) -> dict[str, str]:
    """Remove the weight constants from ``graph_def``, put their values into ``weights``
    by key, and return ``{tensor name: key}`` for the import's input map."""
    import tensorflow as tf

    weight_inputs, kept = {}, []
    for node in graph_def.node:
        key = weight_nodes.get(node.name)
        if key is None or node.op != "Const":
            kept.append(node)
            continue
        weights.setdefault(key, tf.make_ndarray(node.attr["value"].tensor))
        weight_inputs[f"{node.name}:0"] = key
    del graph_def.node[:]
    graph_def.node.extend(kept)
    return weight_inputs
