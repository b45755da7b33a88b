"""The plain TensorFlow code that makes the same export as an :class:`ExportSpec`.

The code is what a user would write by hand in the notebook where the source
object is the variable ``spec.source_name``: no import of savedmodel_widgets,
one step per line, with a comment where TensorFlow needs explaining. It writes
the same signature table as :func:`~savedmodel_widgets.export`:

- a TF1 session or graph: ``simple_save`` for a single ``serving_default``
  predict signature tagged ``serve``, else the reference's
  ``SavedModelBuilder`` flow (``build_tensor_info``, ``build_signature_def``,
  ``add_meta_graph_and_variables``);
- a Keras 3 or tf_keras model: one ``tf.function`` per signature that calls
  the model (or a sub-model that shares its layers) and returns
  ``{alias: tensor}``, saved with ``tf.saved_model.save`` under a plain
  ``tf.Module`` that holds the model's weights;
- a ``tf.Module``: one ``tf.function`` per signature that calls the module's
  function and renames its outputs, saved with the module as the root.

Nothing here imports TensorFlow: the source's candidates and the live object's
attributes say everything the code needs.

Examples
--------
>>> print(export_code(spec))                                       # doctest: +SKIP
>>> print(export_code(suggest_spec(model, "export/digits")))       # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import functools
import keyword
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._codeformat import Code as _Code
from ._codeformat import Group as _Group
from ._codeformat import call as _call
from ._codeformat import dict_code as _dict
from ._codeformat import format_code as _format
from ._codeformat import list_code as _list
from ._codeformat import statement as _statement
from ._codeformat import string_literal
from ._compat_code import CONVERT_IMPORT, graph_compatible_code, traced_compatible_lines
from .compat_export import needs_compatible_export
from .errors import ExportSpecError
from .savedmodel.info import DEFAULT_SIGNATURE, SERVE_TAG, Shape, format_shape
from .sources import Source, clean_alias
from .sources._source import TracedSource, structure_kind
from .sources.framework_internals import (
    keras_history,
    keras_node,
    model_input_structure,
    model_output_structure,
    node_call_arguments,
    node_input_tensors,
)
from .sources.graphs import GraphSource
from .sources.keras_models import KerasSource
from .sources.keras_saving import captures_untracked_resources
from .sources.keras_subclassed import SubclassedKerasSource
from .sources.modules import ModuleSource
from .spec import ExportSpec, SignatureSpec, target_path
from .validation import validate

__all__ = ["export_code"]

TF1 = "tf.compat.v1.saved_model"
METHOD_CONSTANTS = {
    "predict": f"{TF1}.PREDICT_METHOD_NAME",
    "classify": f"{TF1}.CLASSIFY_METHOD_NAME",
    "regress": f"{TF1}.REGRESS_METHOD_NAME",
}
TAG_CONSTANTS = {
    "serve": f"{TF1}.SERVING",
    "train": f"{TF1}.TRAINING",
    "gpu": f"{TF1}.GPU",
    "tpu": f"{TF1}.TPU",
}
TABLE_INITIALIZERS = "table_initializer"  # tf.compat.v1.GraphKeys.TABLE_INITIALIZERS
MAIN_OP_KEYS = ("saved_model_main_op", "legacy_init_op")


def export_code(spec: ExportSpec, *, source: Source | None = None) -> str:
    """The plain TensorFlow code that writes the same SavedModel as ``export(spec)``.

    Parameters
    ----------
    spec : ExportSpec
        A valid spec; ``spec.source_name`` is the variable that holds the
        source in the user's notebook (``model``, ``sess``, ``module``).
    source : Source, optional
        ``spec.source`` already opened (as the export does), so its candidates and
        traced functions are reused.

    Returns
    -------
    str
        Python code that starts with its imports and ends with a newline. The
        target directory is a literal path: with ``version="auto"`` it is the
        version directory :func:`~savedmodel_widgets.spec.target_path` gives
        now, which a comment says.

    Raises
    ------
    ExportSpecError
        When the spec is not valid (the same checks as ``export``).
    SourceError
        When the source cannot be exported.
    """
    source = validate(spec, source)
    if not spec.source_name.isidentifier() or keyword.iskeyword(spec.source_name):
        raise ExportSpecError(
            f"source_name {spec.source_name!r} is not a Python variable name; give the name "
            "that holds the model in the notebook, e.g. 'model' or 'sess'."
        )
    compatible = needs_compatible_export(spec)
    if isinstance(source, GraphSource):
        imports, body = (graph_compatible_code(spec, source) if compatible
                         else _graph_code(spec, source))
    elif isinstance(source, ModuleSource):
        imports, body = _module_code(spec, source)
    elif isinstance(source, SubclassedKerasSource):
        imports, body = _subclassed_keras_code(spec, source)
    elif isinstance(source, KerasSource):
        imports, body = _keras_code(spec, source)
    else:
        raise ExportSpecError(f"No code can be written for a {source.kind} source.")
    if compatible and isinstance(source, TracedSource):
        imports = [*imports, CONVERT_IMPORT]
    load_lines = spec.load_code.strip("\n").splitlines()
    load_imports = {line for line in load_lines if line.startswith(("import ", "from "))}
    load_body = [line for line in load_lines if line not in load_imports]
    while load_body and not load_body[0]:
        load_body.pop(0)
    lines = ["import shutil", ""] if spec.overwrite else []
    lines += [*sorted({*imports, *load_imports}), ""]
    if load_body:
        lines += [*load_body, ""]
    lines += [*_path_lines(spec), ""]
    if body[0].startswith("@"):  # a top-level function: two blank lines before it
        lines.append("")
    lines += body
    return "\n".join(lines).rstrip("\n") + "\n"


# Names ------------------------------------------------------------------------------


def _shape(shape: Shape) -> str:
    """A shape as Python code: ``(None, 8)``, ``(None,)``, ``()``, or ``None`` (any rank)."""
    return "None" if shape is None else format_shape(shape)


class _Names:
    """Python names in use, for picking new ones that shadow nothing."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken)

    def new(self, wanted: str, fallback: str = "value") -> str:
        """``wanted`` made a valid identifier, with ``_1``, ``_2`` appended while taken."""
        base = wanted if wanted.isidentifier() else clean_alias(wanted, fallback)
        name, number = base, 1
        while name in self.taken or keyword.iskeyword(name):
            name = f"{base}_{number}"
            number += 1
        self.taken.add(name)
        return name


def _path_lines(spec: ExportSpec) -> list[str]:
    path = str(target_path(spec))  # relative stays relative: the notebook's directory
    lines = []
    if spec.version == "auto":
        lines.append(
            f'# version="auto": {target_path(spec).name} is the next free version number '
            "(when this code was made)."
        )
    elif spec.version is not None:
        lines.append(f"# Version directory {spec.version} (TF Serving serves the highest one).")
    lines.append(f"export_path = {string_literal(path)}")
    if spec.overwrite:
        lines.append("shutil.rmtree(export_path, ignore_errors=True)  # overwrite=True")
    return lines


def _signature_map(functions: Mapping[str, str]) -> _Group:
    return _dict((name, function) for name, function in functions.items())


def _tensor_specs(source: TracedSource, signature: SignatureSpec) -> list[str]:
    """``tf.TensorSpec(...)`` code for each input, as the backend declares it."""
    return [_tensor_spec(shape, dtype, alias) for alias, shape, dtype in
            source.input_specs(signature)]


def _tensor_spec(shape: Shape, dtype: str, alias: str) -> str:
    return f"tf.TensorSpec({_shape(shape)}, tf.{dtype}, name={string_literal(alias)})"


def _tf_function(name: str, specs: Sequence[str], params: Sequence[str],
                 body: Sequence[str]) -> list[str]:
    """A ``@tf.function(input_signature=[...])`` definition."""
    lines = _format(_call("@tf.function", input_signature=_list(specs)))
    lines.append(f"def {name}({', '.join(params)}):")
    lines.extend(body)
    return lines


# TF1 sessions and graphs ----------------------------------------------------------


def _graph_code(spec: ExportSpec, source: GraphSource) -> tuple[list[str], list[str]]:
    names = _Names({"tf", "export_path", "shutil", spec.source_name, *dir(builtins)})
    lines: list[str] = []
    if source.kind == "session":
        session = spec.source_name
        graph = names.new("graph")
        lines.append(f"{graph} = {session}.graph")
        lines.append(f"with {graph}.as_default():")
    else:
        graph = spec.source_name
        session = names.new("sess")
        lines.append("# A graph without variables: a new session is all the export needs.")
        lines.append(
            f"with {graph}.as_default(), tf.compat.v1.Session(graph={graph}) as {session}:"
        )
    has_tables = bool(source.graph.get_collection(TABLE_INITIALIZERS))
    main_op = names.new("legacy_init_op") if has_tables else ""
    init_lines = _table_init_lines(graph, main_op) if has_tables else []
    simple = (
        len(spec.signatures) == 1
        and spec.signatures[0].name == DEFAULT_SIGNATURE
        and spec.signatures[0].method == "predict"
        and tuple(spec.tags) == (SERVE_TAG,)
    )
    if simple:
        lines.extend(init_lines)
        lines.extend(_simple_save(spec.signatures[0], session, graph, main_op))
        return ["import tensorflow as tf"], lines
    builder = names.new("builder")
    lines.extend(_statement(_call(f"{TF1}.Builder", "export_path"), 4, builder))
    infos: dict[str, str] = {}
    for signature in spec.signatures:
        for _, tensor_name in (*signature.inputs, *signature.outputs):
            if tensor_name not in infos:
                infos[tensor_name] = names.new(f"tensor_info_{clean_alias(tensor_name)}")
                tensor = _call(f"{graph}.get_tensor_by_name", string_literal(tensor_name))
                call = _call(f"{TF1}.build_tensor_info", tensor)
                lines.extend(_statement(call, 4, infos[tensor_name]))
    signature_vars = {}
    for signature in spec.signatures:
        variable = names.new(f"{clean_alias(signature.name, 'signature')}_signature")
        signature_vars[signature.name] = variable
        call = _call(
            f"{TF1}.build_signature_def",
            inputs=_dict((alias, infos[name]) for alias, name in signature.inputs),
            outputs=_dict((alias, infos[name]) for alias, name in signature.outputs),
            method_name=METHOD_CONSTANTS[signature.method],
        )
        lines.extend(_statement(call, 4, variable))
    lines.extend(init_lines)
    tags = _list(TAG_CONSTANTS.get(tag, string_literal(tag)) for tag in spec.tags)
    extra = {"main_op": main_op} if main_op else {}
    add = _call(
        f"{builder}.add_meta_graph_and_variables",
        session,
        tags,
        signature_def_map=_signature_map(signature_vars),
        **extra,
    )
    lines.extend(_statement(add, 4))
    lines.append(f"    {builder}.save()")
    return ["import tensorflow as tf"], lines


def _table_init_lines(graph: str, main_op: str) -> list[str]:
    keys = ", ".join(string_literal(key) for key in MAIN_OP_KEYS)
    return [
        "    # Initialize the lookup tables when the model is loaded. The builder refuses a",
        "    # graph that already holds a main op, so drop the one of an earlier export.",
        f"    for key in ({keys}):",
        f"        {graph}.clear_collection(key)",
        *_statement(
            _call("tf.group", "tf.compat.v1.tables_initializer()",
                  name=string_literal("legacy_init_op")),
            4,
            main_op,
        ),
    ]


def _simple_save(signature: SignatureSpec, session: str, graph: str, main_op: str) -> list[str]:
    def tensors(pairs: Sequence[tuple[str, str]]) -> _Group:
        return _dict(
            (alias, _call(f"{graph}.get_tensor_by_name", string_literal(name)))
            for alias, name in pairs
        )

    extra = {"legacy_init_op": main_op} if main_op else {}
    call = _call(
        f"{TF1}.simple_save",
        session,
        "export_path",
        inputs=tensors(signature.inputs),
        outputs=tensors(signature.outputs),
        **extra,
    )
    return _statement(call, 4)


# Keras 3 and tf_keras ---------------------------------------------------------------


def _keras_code(spec: ExportSpec, source: KerasSource) -> tuple[list[str], list[str]]:
    model = source.obj
    model_var = spec.source_name
    library = "keras" if source.kind == "keras" else "tf_keras"
    names = _Names({"tf", library, "export_path", "export_root", "shutil", model_var,
                    *dir(builtins)})
    lines: list[str] = []
    functions: dict[str, str] = {}
    uses_library = False
    for signature in spec.signatures:
        function = names.new(signature.name, "signature")
        functions[signature.name] = function
        inputs = [source.tensor(name) for _, name in signature.inputs]
        outputs = [source.tensor(name) for _, name in signature.outputs]
        if _calls_model_directly(model, inputs, outputs):
            callee = model_var
        else:
            uses_library = True
            callee = names.new(f"{function}_model")
            lines.append(
                f"# A model from the chosen inputs to the chosen outputs; it shares "
                f"{model_var}'s layers."
            )
            submodel = _call(
                f"{library}.Model",
                inputs=_one_or_list(_keras_tensor_code(model, t, model_var) for t in inputs),
                outputs=_one_or_list(_keras_tensor_code(model, t, model_var) for t in outputs),
            )
            lines.extend(_statement(submodel, 0, callee))
            lines.append("")
            lines.append("")
        local = _Names({model_var, callee, "tf"})
        params = [local.new(alias, "x") for alias in signature.input_aliases]
        results = [local.new(alias, "y") for alias in signature.output_aliases]
        argument = params[0] if len(params) == 1 else f"[{', '.join(params)}]"
        call = f"{callee}({argument}, training=False)"
        body = [f"    {', '.join(results)} = {call}"]
        body.extend(_format(_dict(zip(signature.output_aliases, results, strict=True)),
                            4, "return "))
        specs = _tensor_specs(source, signature)
        lines.extend(_tf_function(function, specs, params, body))
        lines.append("")
        lines.append("")
    lines.extend(_save_lines(model_var, spec, source, functions))
    imports = ["import tensorflow as tf"]
    if uses_library:
        imports.append(f"import {library}")
    return imports, lines


def _one_or_list(codes: Iterable[str]) -> _Code:
    codes = list(codes)
    return codes[0] if len(codes) == 1 else _list(codes)


def _calls_model_directly(model: Any, inputs: Sequence[Any], outputs: Sequence[Any]) -> bool:
    """Whether a signature can call the model itself rather than a sub-model.

    It can when the signature's inputs and outputs are exactly the model's, in
    order, and the call returns a bare tensor or a flat list of two or more
    (not a dict, not nested, not a list of one).
    """
    def same(chosen: Sequence[Any], model_tensors: Sequence[Any]) -> bool:
        return [id(t) for t in chosen] == [id(t) for t in model_tensors]

    if not same(inputs, model.inputs) or not same(outputs, model.outputs):
        return False
    return _flat_structure(model_input_structure(model), len(inputs),
                           allow_single_list=True) and (
        _flat_structure(model_output_structure(model), len(outputs), allow_single_list=False)
    )


def _flat_structure(structure: Any, count: int, allow_single_list: bool) -> bool:
    """A bare tensor (or unknown, for one tensor) or a flat list or tuple of tensors.

    A list of one output is refused: Keras 3 returns it as a bare tensor and
    tf_keras as a list, so the code could not unpack it the same way for both.
    """
    if structure is None:
        return count == 1
    if isinstance(structure, Mapping):
        return False
    if isinstance(structure, (list, tuple)):
        flat = all(not isinstance(item, (list, tuple, Mapping)) for item in structure)
        return flat and (count > 1 or allow_single_list)
    return count == 1


def _keras_tensor_code(model: Any, tensor: Any, model_var: str) -> str:
    """Code that names ``tensor`` of the model's graph, checked on the live model.

    Public Keras only: ``model.get_layer("embedding").output``, ``model.inputs[0]``,
    tf_keras' ``get_output_at``, a Keras 3 op found in ``model.operations``. The
    output of a second call of a shared layer has no public name in Keras 3: the
    code calls the layer again on the same input, which computes the same tensor
    with the same weights. Anything else is refused.
    """
    for code, get in _keras_tensor_ways(model, tensor, model_var):
        try:
            if get() is tensor:
                return code
        except (AttributeError, IndexError, KeyError, TypeError, ValueError, RuntimeError):
            continue
    recall = _call_again_code(model, tensor, model_var)
    if recall:
        return recall
    raise ExportSpecError(
        f"Cannot write plain Keras code that picks the tensor {tensor.name!r} out of "
        f"{model_var!r}: public Keras has no name for it. export() writes this signature; "
        "for code to copy, choose a layer output that get_layer(...).output names."
    )


def _public_owners(model: Any, operation: Any, model_var: str
                   ) -> list[tuple[str, Callable[[], Any]]]:
    """Code that names the layer (or Keras 3 op) ``operation`` publicly, each with a getter
    that checks the code finds that very object: by ``get_layer``, then in
    ``model.operations``."""
    name = operation.name

    def get_layer() -> Any:
        found = model.get_layer(name)
        if found is not operation:
            raise ValueError(name)
        return found

    def operation_by_name() -> Any:  # Keras 3: a plain op (keras.ops.add) is not a layer
        found = next(op for op in model.operations if op.name == name)
        if found is not operation:
            raise ValueError(name)
        return found

    return [
        (f"{model_var}.get_layer({string_literal(name)})", get_layer),
        (f"next(op for op in {model_var}.operations if op.name == {string_literal(name)})",
         operation_by_name),
    ]


def _keras_tensor_ways(
    model: Any, tensor: Any, model_var: str
) -> Iterable[tuple[str, Callable[[], Any]]]:
    operation, node_index, tensor_index = keras_history(tensor)
    (layer, get_layer), (op_code, get_op) = _public_owners(model, operation, model_var)
    yield f"{layer}.output", lambda: get_layer().output
    yield f"{layer}.output[{tensor_index}]", lambda: get_layer().output[tensor_index]
    for index, model_input in enumerate(model.inputs):
        if model_input is tensor:
            yield f"{model_var}.inputs[{index}]", functools.partial(_same, model_input)
    for index, model_output in enumerate(model.outputs):
        if model_output is tensor:
            yield f"{model_var}.outputs[{index}]", functools.partial(_same, model_output)
    # tf_keras: a shared layer's output at one of its calls.
    yield (f"{layer}.get_output_at({node_index})",
           lambda: get_layer().get_output_at(node_index))
    yield (f"{layer}.get_output_at({node_index})[{tensor_index}]",
           lambda: get_layer().get_output_at(node_index)[tensor_index])
    yield f"{op_code}.output", lambda: get_op().output


def _same(value: Any) -> Any:
    return value


def _call_again_code(model: Any, tensor: Any, model_var: str) -> str:
    """``layer(input)`` for the one output of a layer's call on one tensor; empty when the
    call took more than that or its layer has no public name."""
    operation, node_index, tensor_index = keras_history(tensor)
    node = keras_node(operation, node_index)
    inputs = node_input_tensors(node)
    args, kwargs = node_call_arguments(node)
    if tensor_index != 0 or len(inputs) != 1 or len(args) != 1 or args[0] is not inputs[0] \
            or kwargs:
        return ""
    for owner, get in _public_owners(model, operation, model_var):
        try:
            get()
        except (StopIteration, ValueError):
            continue
        return f"{owner}({_keras_tensor_code(model, inputs[0], model_var)})"
    return ""


def _subclassed_keras_code(
    spec: ExportSpec, source: SubclassedKerasSource
) -> tuple[list[str], list[str]]:
    model_var = spec.source_name
    names = _Names({"tf", "export_path", "export_root", "shutil", model_var, *dir(builtins)})
    structure = source.output_structure
    keys = [key for key, _ in source.output_specs]
    lines: list[str] = []
    functions: dict[str, str] = {}
    for signature in spec.signatures:
        function = names.new(signature.name, "signature")
        functions[signature.name] = function
        local = _Names({model_var, "tf"})
        params = {name: local.new(alias, "x") for alias, name in signature.inputs}
        ordered = [params[name] for name, _, _ in source.inputs]
        argument = ordered[0] if len(ordered) == 1 else f"[{', '.join(ordered)}]"
        call = f"{model_var}({argument}, training=False)"
        body = _return_outputs(call, local, signature.outputs, structure, keys)
        specs = _tensor_specs(source, signature)
        lines.extend(_tf_function(function, specs, list(params.values()), body))
        lines.append("")
        lines.append("")
    lines.extend(_save_lines(model_var, spec, source, functions))
    return ["import tensorflow as tf"], lines


def _save_lines(model_var: str, spec: ExportSpec, source: TracedSource,
                functions: Mapping[str, str]) -> list[str]:
    """Lines that save the signature functions: for the spec's runtime when it is older
    than the installed TensorFlow, else with ``tf.saved_model.save``."""
    if needs_compatible_export(spec):
        return traced_compatible_lines(spec, functions)
    if isinstance(source, ModuleSource):
        module_var = spec.source_name
        save = _call("tf.saved_model.save", module_var, "export_path",
                     signatures=_signature_map(functions))
        return [f"# {module_var} is the root, so its variables are written once.",
                *_statement(save)]
    return _keras_save_lines(model_var, spec, source, functions)


def _keras_save_lines(model_var: str, spec: ExportSpec, source: TracedSource,
                      functions: Mapping[str, str]) -> list[str]:
    """Lines that make ``export_root`` and save it with the signature functions."""
    save = _call(
        "tf.saved_model.save", "export_root", "export_path", signatures=_signature_map(functions)
    )
    return _export_root_lines(model_var, spec, source) + _statement(save)


def _export_root_lines(model_var: str, spec: ExportSpec, source: TracedSource) -> list[str]:
    """Lines that make ``export_root``, the object saved with the signatures."""
    traced = [source.concrete_function(signature) for signature in spec.signatures]
    if captures_untracked_resources(traced):
        return [
            f"# {model_var}'s layers own a lookup table besides weights: save the layers. "
            "Saving",
            f"# {model_var} itself would also write the optimizer's state of a trained model.",
            "export_root = tf.Module()",
            f"export_root.model_layers = {model_var}.layers",
        ]
    return [
        "# Save the weights once, under a plain tf.Module: "
        f"tf.saved_model.save({model_var}, ...)",
        "# would also write the optimizer's state of a trained model.",
        "export_root = tf.Module()",
        f"export_root.model_weights = {model_var}.weights",
    ]


# tf.Module ----------------------------------------------------------------------------


def _module_code(spec: ExportSpec, source: ModuleSource) -> tuple[list[str], list[str]]:
    module_var = spec.source_name
    names = _Names({"tf", "export_path", "shutil", module_var, *dir(builtins)})
    lines: list[str] = []
    functions: dict[str, str] = {}
    for signature in spec.signatures:
        function = names.new(signature.name, "signature")
        functions[signature.name] = function
        function_name = source.function_of(signature)
        _, arg_names, keys = source.function_parts(function_name)
        local = _Names({module_var, "tf"})
        params = {name: local.new(alias, "x") for alias, name in signature.inputs}
        by_arg = {name.split(":", 1)[1]: params[name] for _, name in signature.inputs}
        call = f"{module_var}.{function_name}({', '.join(by_arg[arg] for arg in arg_names)})"
        structure = _output_structure(source, function_name)
        outputs = [(alias, name.split(":", 1)[1]) for alias, name in signature.outputs]
        body = _return_outputs(call, local, outputs, structure, keys)
        specs = _tensor_specs(source, signature)
        lines.extend(_tf_function(function, specs, list(params.values()), body))
        lines.append("")
        lines.append("")
    lines.extend(_save_lines(module_var, spec, source, functions))
    return ["import tensorflow as tf"], lines


def _return_outputs(call: str, local: _Names, outputs: Sequence[tuple[str, str]],
                    structure: str, keys: Sequence[str]) -> list[str]:
    """A function body that makes ``call`` and returns ``{alias: output}`` by output key."""
    body = []
    result = call
    if len(outputs) > 1 and structure != "single":
        result = local.new("outputs")
        body.append(f"    {result} = {call}")
    returned = _dict((alias, _pick_output(result, key, structure, keys))
                     for alias, key in outputs)
    return body + _format(returned, 4, "return ")


def _pick_output(result: str, key: str, structure: str, keys: Sequence[str]) -> str:
    """Code for one output of a call's ``result``, by dict key or position."""
    if structure == "dict":
        return f"{result}[{string_literal(key)}]"
    if structure == "sequence":
        return f"{result}[{list(keys).index(key)}]"
    return result


def _output_structure(source: ModuleSource, function_name: str) -> str:
    """``dict``, ``sequence`` or ``single``: what the module's function returns."""
    concrete, _, _ = source.function_parts(function_name)
    return structure_kind(concrete.structured_outputs)
