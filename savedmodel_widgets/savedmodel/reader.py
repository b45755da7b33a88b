"""Read a SavedModel directory into a :class:`SavedModelInfo`, without TensorFlow."""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterator
from typing import Any

from ..errors import CorruptSavedModelError, SavedModelError
from ._bundle import (
    VARIABLE_VALUE_SUFFIX,
    BundleFormatError,
    bundle_variables,
    data_file_problems,
    read_bundle_file,
)
from ._schema import enum_names, message_class
from .dtypes import dtype_name
from .graph_walk import OpInputs, ops_reached
from .info import MetaGraph, SavedModelInfo, Shape, Signature, TensorInfo, VariableInfo
from .layout import PBTXT_FILE, list_tree, locate

__all__ = [
    "GPU_DEVICE",
    "INIT_OP_COLLECTIONS",
    "INIT_OP_SIGNATURE",
    "STATIC_TABLE_OPS",
    "VARIABLE_OPS",
    "read_saved_model",
]

VARIABLE_OPS = frozenset({"Variable", "VariableV2", "VarHandleOp"})
"""Op types of a TF1 graph's variables, whose values the loader restores from ``variables/``."""

GPU_DEVICE = re.compile(r"(^|/)(device:)?gpu(:|$)", re.IGNORECASE)
"""A node's ``device`` that names a GPU: ``/device:GPU:0``, ``/gpu:0``, ``.../device:GPU:1``."""

STATIC_TABLE_OPS = frozenset({"HashTable", "HashTableV2"})
"""Op types of lookup tables that fail every lookup until an initializer has filled them.

Mutable tables (``MutableHashTableV2``, ``MutableDenseHashTableV2``, ...) need no init op:
they start empty, and the saver restores their contents from ``variables/``."""

INIT_OP_SIGNATURE = "__saved_model_init_op"
"""The internal signature whose output of the same name is the init op (TF2, newer TF1)."""
INIT_OP_COLLECTIONS = ("saved_model_main_op", "legacy_init_op")
"""The collections that name the init op of older TF1 exports, in the loader's order."""


def read_saved_model(path: str | os.PathLike[str], version: int | None = None) -> SavedModelInfo:
    """Read a SavedModel from disk without importing TensorFlow.

    Parameters
    ----------
    path : str or os.PathLike
        The SavedModel directory, its ``saved_model.pb`` / ``saved_model.pbtxt``
        file, or a parent holding numeric version directories (TF Serving's
        layout, e.g. ``models/mnist`` with ``1/`` and ``2/``).
    version : int, optional
        The version directory to read under a versioned parent; the highest
        one by default.

    Returns
    -------
    SavedModelInfo
        Files, meta graphs, signatures, variables and op summary.

    Raises
    ------
    NotASavedModelError
        When the path holds no SavedModel; the message says what it holds instead.
    CorruptSavedModelError
        When ``saved_model.pb`` is truncated, damaged or unreadable.
    SavedModelError
        When the asked-for version does not exist.

    Examples
    --------
    >>> info = read_saved_model("export/1")          # doctest: +SKIP
    >>> info.signature("serving_default").inputs     # doctest: +SKIP
    """
    location = locate(path, version)
    model_path = os.path.join(location.path, location.model_file)
    proto = _parse_saved_model(model_path)
    if not proto.meta_graphs:
        raise CorruptSavedModelError(
            f"{model_path} holds no meta graph: the file is empty or was cut short. "
            "Export the model again."
        )
    variables, variables_error, data_problems = _read_variables(location.path, proto)
    return SavedModelInfo(
        path=location.path,
        base_path=location.base_path,
        version=location.version,
        other_versions=location.other_versions,
        versions_without_model=location.versions_without_model,
        format="pbtxt" if location.model_file == PBTXT_FILE else "pb",
        schema_version=proto.saved_model_schema_version,
        files=list_tree(location.path),
        meta_graphs=tuple(_meta_graph(meta_graph) for meta_graph in proto.meta_graphs),
        variables=variables,
        variables_error=variables_error,
        data_file_problems=data_problems,
    )


def _parse_saved_model(model_path: str) -> Any:
    from google.protobuf import message

    try:
        with open(model_path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise SavedModelError(f"Cannot read {model_path}: {error.strerror}.") from error
    proto = message_class("SavedModel")()
    skipped: list[str] = []
    try:
        if model_path.endswith(PBTXT_FILE):
            from ._text_proto import parse_text

            skipped = parse_text(data.decode("utf-8"), proto)
        else:
            proto.ParseFromString(data)
            _refuse_wrong_wire_types(proto)
    except (message.DecodeError, ValueError, RecursionError) as error:
        raise CorruptSavedModelError(
            f"{model_path} is damaged or cut short and cannot be parsed ({error}). "
            "Export the model again, or copy it again if it was transferred."
        ) from error
    if not proto.meta_graphs and skipped:
        names = ", ".join(dict.fromkeys(skipped))
        raise CorruptSavedModelError(
            f"{model_path} is not a SavedModel in the text format: it has no meta_graphs; "
            f"its top-level fields are {names}, so it is some other text proto (a label "
            "map, a pipeline config?). Put the model's saved_model.pbtxt or saved_model.pb "
            "here, or pass the directory that holds it."
        )
    return proto


def _refuse_wrong_wire_types(proto: Any) -> None:
    """Raise ``DecodeError`` where a declared field came with another wire type.

    Python's protobuf runtime keeps such a field as an unknown one, and the schema
    subset would then read garbage as a meta graph; TensorFlow, which parses every
    field, refuses such files (a ``MetaGraphDef`` written as ``saved_model.pb``, say).
    The SavedModel, its meta graphs and their direct parts (meta info, graph, saver,
    object graph, collections, assets, signatures) are checked: few messages, however
    large the graph.
    """
    from google.protobuf.message import DecodeError
    from google.protobuf.unknown_fields import UnknownFieldSet

    messages = [proto]
    for meta_graph in proto.meta_graphs:
        messages += [meta_graph, meta_graph.meta_info_def, meta_graph.graph_def,
                     meta_graph.saver_def, meta_graph.object_graph_def,
                     *meta_graph.collection_def.values(), *meta_graph.asset_file_def]
        for signature in meta_graph.signature_def.values():
            messages += [signature, *signature.inputs.values(), *signature.outputs.values()]
    for message in messages:
        declared = message.DESCRIPTOR.fields_by_number
        for field in UnknownFieldSet(message):
            if field.field_number in declared:
                name = f"{message.DESCRIPTOR.name}.{declared[field.field_number].name}"
                raise DecodeError(
                    f"field {name} has wire type {field.wire_type}, not that of its type: "
                    "this is no SavedModel (a MetaGraphDef saved as saved_model.pb?), and "
                    "TensorFlow refuses it too"
                )


def _meta_graph(proto: Any) -> MetaGraph:
    info = proto.meta_info_def
    nodes = proto.graph_def.node
    counts = collections.Counter(node.op for node in nodes)
    # Only a graph with tables at its top level is walked for what its signatures read.
    walk = not STATIC_TABLE_OPS.isdisjoint(counts)
    op_inputs = {node.name: (node.op, node.input) for node in nodes} if walk else {}
    # A TF2 graph restores the variables of its object graph; a TF1 graph those of its
    # own variable ops (the ones in functions are created when the function runs).
    object_nodes = proto.object_graph_def.nodes
    has_variables = (
        any(node.HasField("variable") for node in object_nodes)
        if object_nodes
        else not VARIABLE_OPS.isdisjoint(counts)
    )
    gpu_nodes = [node.name for node in nodes if node.device and GPU_DEVICE.search(node.device)]
    for function in proto.graph_def.library.function:
        counts.update(node.op for node in function.node_def)
        gpu_nodes += (
            f"{function.signature.name}/{node.name}"
            for node in function.node_def
            if node.device and GPU_DEVICE.search(node.device)
        )
    signatures = sorted(
        (
            _signature(name, signature_def, op_inputs)
            for name, signature_def in proto.signature_def.items()
            if not name.startswith("__")
        ),
        key=lambda signature: signature.name,
    )
    return MetaGraph(
        tags=tuple(info.tags),
        tensorflow_version=info.tensorflow_version,
        tensorflow_git_version=info.tensorflow_git_version,
        signatures=tuple(signatures),
        op_counts=tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        has_variables=has_variables,
        asset_files=_asset_files(proto),
        init_op=_init_op(proto),
        gpu_nodes=tuple(gpu_nodes),
    )


ASSETS_COLLECTION = "saved_model_assets"
"""Where TF1's SavedModelBuilder recorded the assets before ``asset_file_def`` existed
(``AssetFileDef`` messages packed in ``google.protobuf.Any``); the loader reads both."""


def _asset_files(proto: Any) -> tuple[str, ...]:
    """The asset file names the graph needs, from ``asset_file_def`` or, as TensorFlow's
    loader falls back to (``GetAssetFileDefs`` in tensorflow/cc/saved_model/loader.cc), the
    ``saved_model_assets`` collection."""
    if proto.asset_file_def:
        return tuple(asset.filename for asset in proto.asset_file_def)
    if ASSETS_COLLECTION not in proto.collection_def:
        return ()
    packed = proto.collection_def[ASSETS_COLLECTION].any_list.value
    asset_class = message_class("AssetFileDef")
    names = []
    for item in packed:
        if item.type_url.endswith("tensorflow.AssetFileDef"):
            asset = asset_class()
            asset.ParseFromString(item.value)
            names.append(asset.filename)
    return tuple(names)


def _init_op(proto: Any) -> str:
    """The op TensorFlow's loader runs after restoring the variables, as ``GetInitOp`` in
    ``tensorflow/cc/saved_model/loader.cc`` finds it; empty when there is none."""
    if INIT_OP_SIGNATURE in proto.signature_def:
        outputs = proto.signature_def[INIT_OP_SIGNATURE].outputs
        return outputs[INIT_OP_SIGNATURE].name if INIT_OP_SIGNATURE in outputs else ""
    for key in INIT_OP_COLLECTIONS:
        if key in proto.collection_def:
            return next(iter(proto.collection_def[key].node_list.value), "")
    return ""


def _signature(name: str, proto: Any, op_inputs: OpInputs) -> Signature:
    """One SignatureDef; ``op_inputs`` is the graph's, or empty when it has no tables."""
    outputs = tuple(_tensor(alias, proto.outputs[alias]) for alias in sorted(proto.outputs))
    tensors = [each for tensor in outputs for each in tensor.components or (tensor.name,)]
    return Signature(
        name=name,
        method_name=proto.method_name,
        inputs=tuple(_tensor(alias, proto.inputs[alias]) for alias in sorted(proto.inputs)),
        outputs=outputs,
        lookup_tables=tuple(sorted(ops_reached(tensors, op_inputs, STATIC_TABLE_OPS))),
    )


def _tensor(alias: str, proto: Any) -> TensorInfo:
    encoding = proto.WhichOneof("encoding")
    if encoding == "coo_sparse":
        sparse = proto.coo_sparse
        return TensorInfo(
            alias=alias,
            name=sparse.values_tensor_name,
            dtype=dtype_name(proto.dtype),
            shape=_shape(proto.tensor_shape),
            encoding="sparse",
            components=(
                sparse.values_tensor_name,
                sparse.indices_tensor_name,
                sparse.dense_shape_tensor_name,
            ),
        )
    if encoding == "composite_tensor":
        composite = proto.composite_tensor
        spec = composite.type_spec
        dtype = proto.dtype or next((c.dtype for c in composite.components), 0)
        return TensorInfo(
            alias=alias,
            name="",
            dtype=dtype_name(dtype),
            shape=_shape(proto.tensor_shape)
            if proto.HasField("tensor_shape")
            else _composite_shape(spec),
            encoding="composite",
            composite_type=spec.type_spec_class_name or _spec_class_name(spec.type_spec_class),
            components=tuple(component.name for component in composite.components),
        )
    return TensorInfo(
        alias=alias,
        name=proto.name,
        dtype=dtype_name(proto.dtype),
        shape=_shape(proto.tensor_shape),
    )


def _spec_class_name(number: int) -> str:
    """``RAGGED_TENSOR_SPEC`` -> ``RaggedTensorSpec``, TensorFlow's class name."""
    enum_name = enum_names("TypeSpecProto.TypeSpecClass").get(number, "UNKNOWN")
    return "".join(word.capitalize() for word in enum_name.split("_"))


def _composite_shape(spec: Any) -> Shape:
    """The shape a composite tensor's spec records first in its state, as
    ``RaggedTensorSpec`` and ``SparseTensorSpec`` do; else unknown rank."""
    state = spec.type_state
    if state.WhichOneof("kind") == "tuple_value" and state.tuple_value.values:
        first = state.tuple_value.values[0]
        if first.WhichOneof("kind") == "tensor_shape_value":
            return _shape(first.tensor_shape_value)
    return None


def _shape(proto: Any) -> Shape:
    if proto.unknown_rank:
        return None
    return tuple(dim.size if dim.size >= 0 else None for dim in proto.dim)


def _read_variables(
    path: str, proto: Any
) -> tuple[tuple[VariableInfo, ...], str, tuple[str, ...]]:
    """The variables, why the index cannot be read, and what is wrong with its data files."""
    prefix = os.path.join(path, "variables", "variables")
    index = f"{prefix}.index"
    if not os.path.isfile(index):
        return (), "", ()
    try:
        header, entries = read_bundle_file(index)
    except OSError as error:
        return (), f"{index} cannot be read: {error.strerror}.", ()
    except BundleFormatError as error:
        return (), f"{index} is damaged or cut short ({error}); export the model again.", ()
    names = dict(_object_graph_variable_names(proto))
    variables = bundle_variables(entries, lambda key: names.get(key, key))
    return variables, "", data_file_problems(prefix, header, entries)


def _object_graph_variable_names(proto: Any) -> Iterator[tuple[str, str]]:
    """Yield ``(checkpoint key, variable name)`` for the variables of a TF2 object graph.

    TensorFlow names a variable's checkpoint entry after the first path that
    reaches it in a breadth-first walk of the object graph from the root, with
    ``.`` escaped as ``..`` and ``/`` as ``.S`` in each step's name.
    """
    graph = next(
        (mg.object_graph_def for mg in proto.meta_graphs if mg.object_graph_def.nodes),
        None,
    )
    if graph is None:
        return
    nodes = graph.nodes
    paths = {0: ""}
    queue = collections.deque([0])
    while queue:
        node_id = queue.popleft()
        node = nodes[node_id]
        if node.HasField("variable") and node.variable.name:
            yield paths[node_id] + VARIABLE_VALUE_SUFFIX, node.variable.name
        for child in node.children:
            if child.node_id not in paths and 0 <= child.node_id < len(nodes):
                step = child.local_name.replace(".", "..").replace("/", ".S")
                paths[child.node_id] = f"{paths[node_id]}/{step}" if paths[node_id] else step
                queue.append(child.node_id)
