"""The plain TensorFlow code of a compatible export (see :mod:`.compat_export`): freeze,
rebuild with reference variables, write with ``SavedModelBuilder`` and default-valued
attributes stripped. Used by :func:`savedmodel_widgets.codegen.export_code` when the
spec's runtime is older than the installed TensorFlow.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._codeformat import Group, call, dict_code, list_code, statement, string_literal
from .runtimes.catalogue import get_runtime
from .sources.graphs import GraphSource
from .spec import ExportSpec, SignatureSpec

__all__ = ["CONVERT_IMPORT", "graph_compatible_code", "traced_compatible_lines"]

TF1 = "tf.compat.v1.saved_model"
CONVERT_IMPORT = (
    "from tensorflow.python.framework.convert_to_constants import "
    "convert_variables_to_constants_v2"
)
"""Where TensorFlow keeps the freezing function of TF2 functions (no public alias)."""

_METHODS = {
    "predict": f"{TF1}.PREDICT_METHOD_NAME",
    "classify": f"{TF1}.CLASSIFY_METHOD_NAME",
    "regress": f"{TF1}.REGRESS_METHOD_NAME",
}

_FREEZE_FUNCTION = '''\
weight_names = {}  # id(variable) -> its name, made unique: a weight signatures share is one


def weight_name(variable):
    if id(variable) not in weight_names:
        name = unique = variable.name.removesuffix(":0")
        number = 1
        while unique in weight_names.values():
            unique, number = f"{name}_{number}", number + 1
        weight_names[id(variable)] = unique
    return weight_names[id(variable)]


def freeze(function, input_aliases, output_aliases):
    """A signature function frozen: its GraphDef without the weight constants, the weights
    ({variable name: value}), which constant fed which weight, and the signature's tensors."""
    concrete = function.get_concrete_function()
    names = {id(v.handle): weight_name(v) for v in concrete.variables}
    weight_nodes = {
        inner.op.name: names[id(outer)]
        for outer, inner in concrete.graph.captures
        if id(outer) in names
    }
    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    weights, weight_inputs = {}, {}
    for node in list(graph_def.node):
        if node.name in weight_nodes:
            weights[weight_nodes[node.name]] = tf.make_ndarray(node.attr["value"].tensor)
            weight_inputs[node.name + ":0"] = weight_nodes[node.name]
            graph_def.node.remove(node)
    by_alias = dict(zip(tf.nest.flatten({a: a for a in output_aliases}), frozen.outputs))
    inputs = {alias: t.name for alias, t in zip(input_aliases, frozen.inputs)}
    outputs = {alias: by_alias[alias].name for alias in output_aliases}
    return graph_def, weights, weight_inputs, inputs, outputs
'''

_VARIABLES = '''\
    # The weights become reference variables (what TensorFlow 1.x writes); the initial
    # values are fed when they are set, so the graph file stays small.
    variables, initial_values = {}, {}
    for name, value in weights.items():
        initial_value = tf.compat.v1.placeholder(value.dtype, value.shape,
                                                 name=name + "/initial_value")
        variables[name] = tf.compat.v1.Variable(initial_value, use_resource=False, name=name)
        initial_values[initial_value] = value
'''

_TAKE_OUT_WEIGHTS = '''\
# The weight constants leave the graph: they come back as variables.
weights, weight_inputs = {}, {}
for node in list(graph_def.node):
    if node.name in variable_ops:
        weights[node.name] = tf.make_ndarray(node.attr["value"].tensor)
        weight_inputs[node.name + ":0"] = node.name
        graph_def.node.remove(node)
    elif "_class" in node.attr:  # colocated with a variable that is no longer a node
        del node.attr["_class"]
'''


def _intro(spec: ExportSpec) -> list[str]:
    runtime = get_runtime(spec.runtime)
    return [
        f"# {spec.runtime} runs TensorFlow {runtime.release}, which cannot load the resource "
        "variables",
        "# today's TensorFlow writes. So the signatures are frozen (variables become "
        "constants),",
        "# rebuilt in a TF1 graph whose weights are reference variables, and written with",
        "# SavedModelBuilder, attributes that have their default value left out.",
    ]


def _builder_lines(spec: ExportSpec, main_op: str) -> list[str]:
    tags = list_code(f"{TF1}.SERVING" if tag == "serve" else string_literal(tag)
                     for tag in spec.tags)
    add = call("builder.add_meta_graph_and_variables", "export_session", tags,
               signature_def_map="signature_def_map", main_op=main_op,
               strip_default_attrs="True")
    return [
        "    with tf.compat.v1.Session(graph=export_graph) as export_session:",
        "        export_session.run(tf.compat.v1.global_variables_initializer(), "
        "initial_values)",
        *statement(call(f"{TF1}.Builder", "export_path"), 8, "builder"),
        *statement(add, 8),
        "        builder.save()",
    ]


def traced_compatible_lines(spec: ExportSpec, functions: Mapping[str, str]) -> list[str]:
    """Lines that freeze the ``tf.function`` of each signature (``{signature name: its
    function's variable}``) and write them for the spec's runtime."""
    frozen = dict_code(
        (signature.name, call("freeze", functions[signature.name],
                              list_code(map(string_literal, signature.input_aliases)),
                              list_code(map(string_literal, signature.output_aliases))))
        for signature in spec.signatures
    )
    methods = {signature.name: _METHODS[signature.method] for signature in spec.signatures}
    lines = [*_intro(spec), *_FREEZE_FUNCTION.splitlines(), "", ""]
    lines += statement(frozen, 0, "frozen_signatures")
    lines += [
        "weights = {}",
        "for _, signature_weights, *_ in frozen_signatures.values():",
        "    weights.update(signature_weights)  # a weight two signatures share is kept once",
        "",
        "export_graph = tf.Graph()",
        "with export_graph.as_default():",
        *_VARIABLES.splitlines(),
        *statement(dict_code(methods.items()), 4, "methods"),
        "    signature_def_map = {}",
        "    for signature_name, frozen in frozen_signatures.items():",
        "        graph_def, _, weight_inputs, inputs, outputs = frozen",
        "        tensors = tf.import_graph_def(",
        "            graph_def,",
        "            input_map={t: variables[name].value() for t, name in "
        "weight_inputs.items()},",
        "            return_elements=[*inputs.values(), *outputs.values()],",
        "            name=signature_name,",
        "        )",
        f"        infos = [{TF1}.build_tensor_info(tensor) for tensor in tensors]",
        f"        signature_def_map[signature_name] = {TF1}.build_signature_def(",
        "            inputs=dict(zip(inputs, infos)),",
        "            outputs=dict(zip(outputs, infos[len(inputs):])),",
        "            method_name=methods[signature_name],",
        "        )",
        *_builder_lines(spec, "tf.no_op()"),
    ]
    return lines


def graph_compatible_code(spec: ExportSpec, source: GraphSource) -> tuple[list[str], list[str]]:
    """Imports and lines that freeze a TF1 session's graph and write it for the runtime."""
    session = spec.source_name
    lines = _intro(spec)
    if source.kind == "graph":
        lines.append(f"source_session = tf.compat.v1.Session(graph={session})")
        lines.append(f"source_graph = {session}")
        session = "source_session"
    else:
        lines.append(f"source_graph = {session}.graph")
    tensor_names = list(dict.fromkeys(name for signature in spec.signatures
                                      for _, name in (*signature.inputs, *signature.outputs)))
    op_names = list(dict.fromkeys(name.split(":")[0] for name in tensor_names))
    lines += [
        "variable_ops = {",
        "    op.name for op in source_graph.get_operations()",
        '    if op.type in ("VariableV2", "VarHandleOp")',
        "}",
        "table_initializers = [",
        "    op.name",
        "    for op in source_graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS)",
        "]",
        *statement(call("tf.compat.v1.graph_util.convert_variables_to_constants", session,
                        "source_graph.as_graph_def()",
                        f"{_flat_list(op_names)} + table_initializers"),
                   0, "graph_def"),
        *(["source_session.close()"] if source.kind == "graph" else []),
        *_TAKE_OUT_WEIGHTS.splitlines(),
        "",
        "export_graph = tf.Graph()",
        "with export_graph.as_default():",
        *_VARIABLES.splitlines(),
        *statement(list_code(map(string_literal, tensor_names)), 4, "tensor_names"),
        "    imported = tf.import_graph_def(",
        "        graph_def,",
        "        input_map={t: variables[name].value() for t, name in weight_inputs.items()},",
        "        return_elements=tensor_names + table_initializers,",
        '        name="",',
        "    )",
        f"    infos = {{name: {TF1}.build_tensor_info(tensor)",
        "             for name, tensor in zip(tensor_names, imported)}",
        "    # The main op fills the lookup tables when a server loads the model.",
        '    main_op = tf.group(*imported[len(tensor_names):], name="legacy_init_op")',
        *statement(_signature_map(spec.signatures), 4, "signature_def_map"),
        *_builder_lines(spec, "main_op"),
    ]
    return ["import tensorflow as tf"], lines


def _flat_list(names: Sequence[str]) -> str:
    return "[" + ", ".join(map(string_literal, names)) + "]"


def _signature_map(signatures: Sequence[SignatureSpec]) -> Group:
    def infos(pairs: Sequence[tuple[str, str]]) -> Group:
        return dict_code((alias, f"infos[{string_literal(name)}]") for alias, name in pairs)

    return dict_code(
        (signature.name, call(f"{TF1}.build_signature_def", inputs=infos(signature.inputs),
                              outputs=infos(signature.outputs),
                              method_name=_METHODS[signature.method]))
        for signature in signatures
    )
