"""The compatible export: a SavedModel that a runtime older than the installed TensorFlow
loads (an EAS processor, an older TF Serving).

Old runtimes refuse what today's TensorFlow writes by default (resource variables whose
``VarHandleOp`` carries ``debug_name``, ``DisableCopyOnRead``, attributes they do not
know). What every runtime from TensorFlow 1.12 on loads is a TF1 graph with reference
variables, written by ``tf.compat.v1.saved_model.Builder`` with default-valued
attributes stripped and a main op. So the source's signatures are frozen
(:mod:`savedmodel_widgets.sources.frozen`), rebuilt in one fresh ``tf.Graph`` whose
weights are reference variables again (so ``variables/`` holds them and the ``.pb``
stays small), checked against the runtime's op registry, and only then written.

Examples
--------
>>> spec = suggest_spec(model, "export/digits", runtime="eas:tensorflow_cpu_1.15")  # doctest: +SKIP
>>> export(spec).spec.runtime                                                  # doctest: +SKIP
'eas:tensorflow_cpu_1.15'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RuntimeIncompatibleError
from .runtimes.catalogue import Runtime, get_runtime, installed_release
from .sources import Source
from .sources._source import Progress, quiet_tensorflow_log
from .sources.frozen import FrozenModel, freeze, freeze_steps
from .sources.graphs import METHOD_NAMES
from .spec import ExportSpec, SignatureSpec

if TYPE_CHECKING:
    from .runtimes.op_registry import Incompatibility

__all__ = [
    "CompatibleExport",
    "check_for_runtime",
    "needs_compatible_export",
    "prepare_compatible_export",
    "prepare_steps",
    "refusal_message",
]

_INVALID_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_.\-/]")


def needs_compatible_export(spec: ExportSpec) -> bool:
    """Whether ``spec.runtime`` is older than the installed TensorFlow, so the export
    is written in the compatible form."""
    runtime = get_runtime(spec.runtime)
    return not runtime.is_installed and runtime.is_older_than(installed_release())


def prepare_steps(source: Source, signatures: Sequence[SignatureSpec]) -> int:
    """How many times :func:`prepare_compatible_export` calls ``progress``."""
    return freeze_steps(source, signatures) + 2  # then the rebuild and the check


@dataclass
class CompatibleExport:
    """A rebuilt graph, checked against its runtime and ready to write.

    Attributes
    ----------
    runtime : Runtime
        The runtime it was made for.
    graph : tf.Graph
        The graph with the signatures, reference variables, a saver and a main op.
    session : tf.compat.v1.Session
        A session on ``graph`` with the variables holding the weights.
    signature_def_map : dict
        ``{signature name: SignatureDef}``.
    main_op : tf.Operation
        Fills the lookup tables (a no-op without tables).
    saver : tf.compat.v1.train.Saver
        Saves the variables (made before the check, so its ops are checked too).
    """

    runtime: Runtime
    graph: Any
    session: Any
    signature_def_map: dict[str, Any]
    main_op: Any
    saver: Any

    def write(self, path: Path, tags: Sequence[str], progress: Progress) -> None:
        """Write the SavedModel into ``path`` (which does not exist) with
        ``SavedModelBuilder``, default-valued attributes stripped."""
        import tensorflow as tf

        progress(f"Writing the graph and variables for TensorFlow {self.runtime.release} "
                 "(SavedModelBuilder)")
        with self.graph.as_default(), quiet_tensorflow_log():
            builder = tf.compat.v1.saved_model.Builder(str(path))
            builder.add_meta_graph_and_variables(
                self.session,
                list(tags),
                signature_def_map=self.signature_def_map,
                main_op=self.main_op,
                saver=self.saver,
                strip_default_attrs=True,
                clear_devices=True,
            )
            builder.save()

    def close(self) -> None:
        """Close the session."""
        self.session.close()


def prepare_compatible_export(source: Source, spec: ExportSpec,
                              progress: Progress) -> CompatibleExport:
    """Freeze, rebuild and check ``spec``'s signatures for ``spec.runtime``; write nothing.

    Calls ``progress`` :func:`prepare_steps` times. The caller writes the result with
    :meth:`CompatibleExport.write` and closes it.

    Raises
    ------
    RuntimeIncompatibleError
        The rebuilt graph needs an op or attribute the runtime lacks; the message names
        it, the nodes that use it and the oldest runtime that has it.
    SourceError
        The source holds something a frozen graph cannot carry.
    """
    runtime = get_runtime(spec.runtime)
    frozen = freeze(source, spec.signatures, progress)
    progress(f"Rebuilding the graph with reference variables for TensorFlow {runtime.release}")
    export = _rebuild(frozen, runtime)
    try:
        progress(f"Checking the ops and attributes against TensorFlow {runtime.release}")
        check_for_runtime(export.graph.as_graph_def().SerializeToString(), runtime,
                          _layer_names(source))
    except BaseException:
        export.close()
        raise
    return export


def check_for_runtime(graph_def_bytes: bytes, runtime: Runtime,
                      layers: Sequence[str] = ()) -> None:
    """Raise :class:`RuntimeIncompatibleError` when the graph needs an op, or an attribute
    with a value other than its default, that ``runtime`` lacks; the message names the
    ``layers`` (Keras layer names) whose nodes use it."""
    from .runtimes.op_registry import find_incompatibilities

    found = [item for item in find_incompatibilities(graph_def_bytes, runtime.release)
             if not (item.kind == "attr" and item.default_valued)]
    if found:
        raise RuntimeIncompatibleError(refusal_message(found, runtime, layers), found)


def refusal_message(found: Sequence[Incompatibility], runtime: Runtime,
                    layers: Sequence[str] = ()) -> str:
    """What a refusal says: each op or attribute, the layers and nodes that use it, the fix."""
    lines = [f"This model cannot be exported for {runtime.name} (TensorFlow {runtime.release}); "
             "nothing was written."]
    for item in found:
        nodes = ", ".join(repr(node) for node in item.nodes[:3])
        more = f" and {item.count - 3} more" if item.count > 3 else ""
        used = f"used by {nodes}{more}{_layers_text(item.nodes, layers)}"
        if item.kind == "custom-op" or item.first_release is None:
            lines.append(f"- The op {item.op!r} ({used}) is in no TensorFlow release: the "
                         "server needs the library that defines it, or build the model "
                         "without it.")
        elif item.kind == "op":
            lines.append(f"- The op {item.op!r} ({used}) is first in TensorFlow "
                         f"{item.first_release}: {_newer_choice(runtime, item)}, "
                         "or build the model without it.")
        else:
            lines.append(f"- The attribute {item.attr!r} of {item.op!r} ({used}) is first in "
                         f"TensorFlow {item.first_release}: "
                         f"{_newer_choice(runtime, item)}.")
    return "\n".join(lines)


def _layer_names(source: Source) -> list[str]:
    """The names of a Keras model's layers (none for other sources)."""
    if source.kind not in ("keras", "tf_keras"):
        return []
    return [layer.name for layer in getattr(source.obj, "layers", [])]


def _layers_text(nodes: Sequence[str], layers: Sequence[str]) -> str:
    """`` in the layer 'mixer'`` when node names hold layer names (as ``mixer_1`` inside a
    call, ``model/mixer_1/einsum/Einsum``); empty otherwise."""
    wanted = set(layers)
    found = dict.fromkeys(
        name for node in nodes for part in node.split("/")
        for name in (part, re.sub(r"_\d+\Z", "", part)) if name in wanted
    )
    if not found:
        return ""
    plural = "s" * (len(found) > 1)
    return f" in the layer{plural} {', '.join(repr(name) for name in found)}"


def _newer_choice(runtime: Runtime, item: Incompatibility) -> str:
    """"choose eas:tensorflow_cpu_1.15 or newer": the oldest runtime of the same server
    (and device) newer than ``runtime`` that has what ``item`` names (see
    :func:`~savedmodel_widgets.savedmodel.runtime_checks.runtime_that_has_it`)."""
    from .savedmodel.runtime_checks import runtime_that_has_it

    alternative = runtime_that_has_it(item, runtime)
    if alternative is None:
        return (f"no {runtime.server} runtime runs TensorFlow {item.first_release}; choose "
                f"tf:{item.first_release} or newer")
    than = "newer" if alternative.key > runtime.key else "older"
    return f"choose {alternative.name} or {than}"


def _rebuild(frozen: FrozenModel, runtime: Runtime) -> CompatibleExport:
    """One fresh graph with every signature, the weights as reference variables."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    session = tf1.Session(graph=graph)
    try:
        with graph.as_default(), quiet_tensorflow_log():
            feeds, variables = {}, {}
            for key, value in frozen.weights.items():
                name = _INVALID_NAME_CHARACTERS.sub("_", key)
                dtype = tf.string if value.dtype.kind == "O" else tf.as_dtype(value.dtype)
                initial = tf1.placeholder(dtype, value.shape, name=f"{name}/initial_value")
                variables[key] = tf1.Variable(initial, use_resource=False, name=name)
                feeds[initial] = value
            tensors, init_ops = _import_graphs(frozen, variables)
            signature_def_map = {
                signature.spec.name: _signature_def(signature.spec, signature.scope,
                                                    signature.inputs, signature.outputs, tensors)
                for signature in frozen.signatures
            }
            main_op = tf.group(*init_ops, name="legacy_init_op")
            saver = tf1.train.Saver(list(variables.values()), sharded=True, allow_empty=True,
                                    write_version=tf1.train.SaverDef.V2)
            session.run([variable.initializer for variable in variables.values()], feeds)
    except BaseException:
        session.close()
        raise
    return CompatibleExport(runtime, graph, session, signature_def_map, main_op, saver)


def _import_graphs(frozen: FrozenModel, variables: dict[str, Any]
                   ) -> tuple[dict[tuple[str, str], Any], list[Any]]:
    """Import each frozen graph with its weights mapped to the variables: the tensors the
    signatures name, by ``(scope, name)``, and the table initializer ops."""
    import tensorflow as tf

    tensors: dict[tuple[str, str], Any] = {}
    init_ops: list[Any] = []
    for part in frozen.graphs:
        for node in part.graph_def.node:  # colocation with a weight that is no node now
            node.attr.pop("_class", None)
            node.device = ""
        names = sorted({name for signature in frozen.signatures if signature.scope == part.scope
                        for _, name in (*signature.inputs, *signature.outputs)})
        returned = tf.import_graph_def(
            part.graph_def,
            input_map={tensor: variables[key].value()
                       for tensor, key in part.weight_inputs.items()},
            return_elements=names + list(part.init_ops),
            name=part.scope,
        )
        tensors.update(((part.scope, name), tensor)
                       for name, tensor in zip(names, returned[:len(names)], strict=True))
        init_ops.extend(returned[len(names):])
    return tensors, init_ops


def _signature_def(signature: SignatureSpec, scope: str, inputs: Sequence[tuple[str, str]],
                   outputs: Sequence[tuple[str, str]],
                   tensors: dict[tuple[str, str], Any]) -> Any:
    import tensorflow as tf

    utils = tf.compat.v1.saved_model
    return utils.build_signature_def(
        inputs={alias: utils.build_tensor_info(tensors[scope, name]) for alias, name in inputs},
        outputs={alias: utils.build_tensor_info(tensors[scope, name]) for alias, name in outputs},
        method_name=METHOD_NAMES[signature.method],
    )
