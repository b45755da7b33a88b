"""The subset of TensorFlow's SavedModel schema that the reader needs.

The messages below are declared in ``.proto`` syntax with the field numbers of
TensorFlow's own files (``saved_model.proto``, ``meta_graph.proto``,
``graph.proto``, ``node_def.proto``, ``function.proto``, ``op_def.proto``,
``tensor_shape.proto``, ``types.proto``, ``struct.proto``,
``saved_object_graph.proto``, ``trackable_object_graph.proto`` and
``tensor_bundle.proto``). Only the fields the reader uses are declared: the
protobuf runtime skips every other field when it parses binary data, and the
text parser is told to skip them too. A small compiler turns the declarations
into descriptors in a private pool, so nothing clashes with TensorFlow's own
generated modules when both are imported.
"""

from __future__ import annotations

import functools
import re
from typing import Any

PACKAGE = "tensorflow"
FILE_NAME = "savedmodel_widgets/savedmodel_subset.proto"

DATA_TYPE_ENUM = """
enum DataType {
  DT_INVALID = 0; DT_FLOAT = 1; DT_DOUBLE = 2; DT_INT32 = 3; DT_UINT8 = 4;
  DT_INT16 = 5; DT_INT8 = 6; DT_STRING = 7; DT_COMPLEX64 = 8; DT_INT64 = 9;
  DT_BOOL = 10; DT_QINT8 = 11; DT_QUINT8 = 12; DT_QINT32 = 13; DT_BFLOAT16 = 14;
  DT_QINT16 = 15; DT_QUINT16 = 16; DT_UINT16 = 17; DT_COMPLEX128 = 18;
  DT_HALF = 19; DT_RESOURCE = 20; DT_VARIANT = 21; DT_UINT32 = 22; DT_UINT64 = 23;
  DT_FLOAT8_E5M2 = 24; DT_FLOAT8_E4M3FN = 25; DT_FLOAT8_E4M3FNUZ = 26;
  DT_FLOAT8_E4M3B11FNUZ = 27; DT_FLOAT8_E5M2FNUZ = 28; DT_INT4 = 29; DT_UINT4 = 30;
  DT_INT2 = 31; DT_UINT2 = 32; DT_FLOAT4_E2M1FN = 33;
  DT_FLOAT_REF = 101; DT_DOUBLE_REF = 102; DT_INT32_REF = 103; DT_UINT8_REF = 104;
  DT_INT16_REF = 105; DT_INT8_REF = 106; DT_STRING_REF = 107; DT_COMPLEX64_REF = 108;
  DT_INT64_REF = 109; DT_BOOL_REF = 110; DT_QINT8_REF = 111; DT_QUINT8_REF = 112;
  DT_QINT32_REF = 113; DT_BFLOAT16_REF = 114; DT_QINT16_REF = 115;
  DT_QUINT16_REF = 116; DT_UINT16_REF = 117; DT_COMPLEX128_REF = 118;
  DT_HALF_REF = 119; DT_RESOURCE_REF = 120; DT_VARIANT_REF = 121;
  DT_UINT32_REF = 122; DT_UINT64_REF = 123; DT_FLOAT8_E5M2_REF = 124;
  DT_FLOAT8_E4M3FN_REF = 125; DT_FLOAT8_E4M3FNUZ_REF = 126;
  DT_FLOAT8_E4M3B11FNUZ_REF = 127; DT_FLOAT8_E5M2FNUZ_REF = 128;
  DT_INT4_REF = 129; DT_UINT4_REF = 130; DT_INT2_REF = 131; DT_UINT2_REF = 132;
  DT_FLOAT4_E2M1FN_REF = 133;
}
"""
"""TensorFlow's ``DataType`` (types.proto) in the schema syntax, for every schema here."""

TENSOR_SHAPE = """
message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}
"""
"""TensorFlow's ``TensorShapeProto`` in the schema syntax."""


def graph_messages(node_type: str) -> str:
    """``FunctionDef``, ``FunctionDefLibrary`` and ``GraphDef`` in the schema syntax, their
    nodes declared as ``node_type``: a ``NodeDef`` the schema declares, or ``bytes`` to
    keep each node serialized. The schema declares ``OpDef`` too."""
    return f"""
message FunctionDef {{
  OpDef signature = 1;
  repeated {node_type} node_def = 3;
}}

message FunctionDefLibrary {{
  repeated FunctionDef function = 1;
}}

message GraphDef {{
  repeated {node_type} node = 1;
  FunctionDefLibrary library = 2;
}}
"""


SCHEMA = DATA_TYPE_ENUM + TENSOR_SHAPE + graph_messages("NodeDef") + """
message StructuredValue {
  oneof kind {
    TensorShapeProto tensor_shape_value = 31;
    DataType tensor_dtype_value = 32;
    TupleValue tuple_value = 52;
  }
}

message TupleValue {
  repeated StructuredValue values = 1;
}

message TypeSpecProto {
  enum TypeSpecClass {
    UNKNOWN = 0; SPARSE_TENSOR_SPEC = 1; INDEXED_SLICES_SPEC = 2;
    RAGGED_TENSOR_SPEC = 3; TENSOR_ARRAY_SPEC = 4; DATA_DATASET_SPEC = 5;
    DATA_ITERATOR_SPEC = 6; OPTIONAL_SPEC = 7; PER_REPLICA_SPEC = 8;
    VARIABLE_SPEC = 9; ROW_PARTITION_SPEC = 10; REGISTERED_TYPE_SPEC = 12;
    EXTENSION_TYPE_SPEC = 13;
  }
  TypeSpecClass type_spec_class = 1;
  StructuredValue type_state = 2;
  string type_spec_class_name = 3;
  int32 num_flat_components = 4;
}

message TensorInfo {
  message CooSparse {
    string values_tensor_name = 1;
    string indices_tensor_name = 2;
    string dense_shape_tensor_name = 3;
  }
  message CompositeTensor {
    TypeSpecProto type_spec = 1;
    repeated TensorInfo components = 2;
  }
  oneof encoding {
    string name = 1;
    CooSparse coo_sparse = 4;
    CompositeTensor composite_tensor = 5;
  }
  DataType dtype = 2;
  TensorShapeProto tensor_shape = 3;
}

message SignatureDef {
  map<string, TensorInfo> inputs = 1;
  map<string, TensorInfo> outputs = 2;
  string method_name = 3;
}

message AssetFileDef {
  TensorInfo tensor_info = 1;
  string filename = 2;
}

message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;
  string device = 4;
}

message OpDef {
  string name = 1;
}

message SaverDef {
  string filename_tensor_name = 1;
}

message TrackableObjectGraph {
  message TrackableObject {
    message ObjectReference {
      int32 node_id = 1;
      string local_name = 2;
    }
  }
}

message SavedVariable {
  DataType dtype = 1;
  TensorShapeProto shape = 2;
  bool trainable = 3;
  string name = 6;
}

message SavedObject {
  repeated TrackableObjectGraph.TrackableObject.ObjectReference children = 1;
  oneof kind {
    SavedVariable variable = 7;
  }
}

message SavedObjectGraph {
  repeated SavedObject nodes = 1;
}

message AnyMessage {
  string type_url = 1;
  bytes value = 2;
}

message CollectionDef {
  message NodeList {
    repeated string value = 1;
  }
  message AnyList {
    repeated AnyMessage value = 1;
  }
  oneof kind {
    NodeList node_list = 1;
    AnyList any_list = 5;
  }
}

message MetaGraphDef {
  message MetaInfoDef {
    string meta_graph_version = 1;
    repeated string tags = 4;
    string tensorflow_version = 5;
    string tensorflow_git_version = 6;
  }
  MetaInfoDef meta_info_def = 1;
  GraphDef graph_def = 2;
  SaverDef saver_def = 3;
  map<string, CollectionDef> collection_def = 4;
  map<string, SignatureDef> signature_def = 5;
  repeated AssetFileDef asset_file_def = 6;
  SavedObjectGraph object_graph_def = 7;
}

message SavedModel {
  int64 saved_model_schema_version = 1;
  repeated MetaGraphDef meta_graphs = 2;
}

message BundleHeaderProto {
  int32 num_shards = 1;
}

message BundleEntryProto {
  DataType dtype = 1;
  TensorShapeProto shape = 2;
  int32 shard_id = 3;
  int64 offset = 4;
  int64 size = 5;
}
"""

_SCALAR_TYPES = {
    "double": 1,
    "float": 2,
    "int64": 3,
    "uint64": 4,
    "int32": 5,
    "fixed64": 6,
    "fixed32": 7,
    "bool": 8,
    "string": 9,
    "bytes": 12,
    "uint32": 13,
    "sfixed32": 15,
    "sfixed64": 16,
    "sint32": 17,
    "sint64": 18,
}
_TYPE_MESSAGE = 11
_TYPE_ENUM = 14
_LABEL_OPTIONAL = 1
_LABEL_REPEATED = 3

# Field numbers of descriptor.proto's messages, by message.
_FILE_NAME, _FILE_PACKAGE, _FILE_MESSAGE, _FILE_ENUM, _FILE_SYNTAX = 1, 2, 4, 5, 12
_MESSAGE_NAME, _MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 1, 2, 3, 4
_MESSAGE_OPTIONS, _MESSAGE_ONEOF = 7, 8
_FIELD_NAME, _FIELD_NUMBER, _FIELD_LABEL, _FIELD_TYPE = 1, 3, 4, 5
_FIELD_TYPE_NAME, _FIELD_ONEOF_INDEX = 6, 9
_ENUM_NAME, _ENUM_VALUE = 1, 2
_VALUE_NAME, _VALUE_NUMBER = 1, 2
_ONEOF_NAME = 1
_OPTIONS_MAP_ENTRY = 7


class _Proto:
    """A message of ``descriptor.proto`` being built: its fields in the order added.

    Only varint and length-delimited fields occur, so it writes its own bytes.
    """

    def __init__(self) -> None:
        self.fields: list[tuple[int, int | str | _Proto]] = []

    def add(self, number: int, value: int | str | _Proto) -> Any:
        """Append a field; returns the value, so a child message can be filled in."""
        self.fields.append((number, value))
        return value

    def count(self, number: int) -> int:
        """How many fields with this number were added."""
        return sum(1 for each, _ in self.fields if each == number)

    def encode(self) -> bytes:
        out = bytearray()
        for number, value in self.fields:
            if isinstance(value, int):
                out += encode_varint(number << 3) + encode_varint(value)
                continue
            data = value.encode() if isinstance(value, _Proto) else value.encode("utf-8")
            out += encode_varint(number << 3 | 2) + encode_varint(len(data)) + data
        return bytes(out)


def encode_varint(value: int) -> bytes:
    """An unsigned integer as a protobuf varint."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)

_TOKEN = re.compile(r"//[^\n]*|<|>|[{};=,]|[A-Za-z_][\w.]*|\d+")


class _Compiler:
    """Turn the ``.proto`` subset above into a ``FileDescriptorProto`` (see :class:`_Proto`)."""

    def __init__(self, text: str, package: str = PACKAGE, file_name: str = FILE_NAME) -> None:
        self.package = package
        self.file_name = file_name
        self.tokens = [t for t in _TOKEN.findall(text) if not t.startswith("//")]
        self.position = 0
        self.enums: set[str] = set()
        self.messages: set[str] = set()
        self.pending: list[tuple[_Proto, str, str]] = []

    def next(self, expected: str | None = None) -> str:
        token = self.tokens[self.position]
        self.position += 1
        if expected is not None and token != expected:
            raise SyntaxError(f"schema: expected {expected!r}, found {token!r}")
        return token

    def peek(self) -> str:
        return self.tokens[self.position]

    def compile(self) -> _Proto:
        file = _Proto()
        file.add(_FILE_NAME, self.file_name)
        file.add(_FILE_PACKAGE, self.package)
        file.add(_FILE_SYNTAX, "proto3")
        while self.position < len(self.tokens):
            keyword = self.next()
            if keyword == "message":
                self.message(file.add(_FILE_MESSAGE, _Proto()), self.package)
            elif keyword == "enum":
                self.enum(file.add(_FILE_ENUM, _Proto()), self.package)
            else:
                raise SyntaxError(f"schema: unexpected {keyword!r}")
        for field, scope, type_name in self.pending:
            self.resolve(field, scope, type_name)
        return file

    def enum(self, enum: _Proto, scope: str) -> None:
        name = enum.add(_ENUM_NAME, self.next())
        self.enums.add(f"{scope}.{name}")
        self.next("{")
        while self.peek() != "}":
            value = enum.add(_ENUM_VALUE, _Proto())
            value.add(_VALUE_NAME, self.next())
            self.next("=")
            value.add(_VALUE_NUMBER, int(self.next()))
            self.next(";")
        self.next("}")

    def message(self, message: _Proto, scope: str) -> None:
        full_name = f"{scope}.{message.add(_MESSAGE_NAME, self.next())}"
        self.messages.add(full_name)
        self.next("{")
        self.body(message, full_name, oneof_index=None)
        self.next("}")

    def body(self, message: _Proto, full_name: str, oneof_index: int | None) -> None:
        while self.peek() != "}":
            token = self.next()
            if token == "message":
                self.message(message.add(_MESSAGE_NESTED, _Proto()), full_name)
            elif token == "enum":
                self.enum(message.add(_MESSAGE_ENUM, _Proto()), full_name)
            elif token == "oneof":
                message.add(_MESSAGE_ONEOF, _Proto()).add(_ONEOF_NAME, self.next())
                self.next("{")
                self.body(message, full_name, message.count(_MESSAGE_ONEOF) - 1)
                self.next("}")
            elif token == "map":
                self.map_field(message, full_name)
            else:
                self.field(message, full_name, token, oneof_index)

    def field(self, message: _Proto, scope: str, token: str, oneof_index: int | None) -> None:
        label = _LABEL_OPTIONAL
        if token == "repeated":
            label, token = _LABEL_REPEATED, self.next()
        field = message.add(_MESSAGE_FIELD, _Proto())
        field.add(_FIELD_NAME, self.next())
        field.add(_FIELD_LABEL, label)
        self.next("=")
        field.add(_FIELD_NUMBER, int(self.next()))
        self.next(";")
        if oneof_index is not None:
            field.add(_FIELD_ONEOF_INDEX, oneof_index)
        self.set_type(field, token, scope)

    def map_field(self, message: _Proto, scope: str) -> None:
        self.next("<")
        key_type = self.next()
        self.next(",")
        value_type = self.next()
        self.next(">")
        name = self.next()
        self.next("=")
        number = int(self.next())
        self.next(";")
        entry_name = "".join(part.capitalize() for part in name.split("_")) + "Entry"
        entry = message.add(_MESSAGE_NESTED, _Proto())
        entry.add(_MESSAGE_NAME, entry_name)
        entry.add(_MESSAGE_OPTIONS, _Proto()).add(_OPTIONS_MAP_ENTRY, 1)
        entry_scope = f"{scope}.{entry_name}"
        self.messages.add(entry_scope)
        for field_name, field_number, field_type in (
            ("key", 1, key_type),
            ("value", 2, value_type),
        ):
            field = entry.add(_MESSAGE_FIELD, _Proto())
            field.add(_FIELD_NAME, field_name)
            field.add(_FIELD_NUMBER, field_number)
            field.add(_FIELD_LABEL, _LABEL_OPTIONAL)
            self.set_type(field, field_type, entry_scope)
        field = message.add(_MESSAGE_FIELD, _Proto())
        field.add(_FIELD_NAME, name)
        field.add(_FIELD_NUMBER, number)
        field.add(_FIELD_LABEL, _LABEL_REPEATED)
        field.add(_FIELD_TYPE, _TYPE_MESSAGE)
        field.add(_FIELD_TYPE_NAME, f".{entry_scope}")

    def set_type(self, field: _Proto, type_name: str, scope: str) -> None:
        if type_name in _SCALAR_TYPES:
            field.add(_FIELD_TYPE, _SCALAR_TYPES[type_name])
        else:
            self.pending.append((field, scope, type_name))

    def resolve(self, field: _Proto, scope: str, type_name: str) -> None:
        parts = scope.split(".")
        while parts:
            candidate = ".".join([*parts, type_name])
            if candidate in self.messages or candidate in self.enums:
                field.add(_FIELD_TYPE, _TYPE_ENUM if candidate in self.enums else _TYPE_MESSAGE)
                field.add(_FIELD_TYPE_NAME, f".{candidate}")
                return
            parts.pop()
        raise SyntaxError(f"schema: unknown type {type_name!r} in {scope}")


@functools.cache
def message_class(name: str, schema: str = SCHEMA) -> Any:
    """Return the protobuf message class for a message of the schema subset.

    Parameters
    ----------
    name : str
        The message's name inside the ``tensorflow`` package, e.g.
        ``"SavedModel"`` or ``"MetaGraphDef.MetaInfoDef"``.
    schema : str, optional
        Another subset in the same ``.proto`` syntax, compiled into a pool of its own
        (so its messages may declare more fields than :data:`SCHEMA`'s of the same
        name); the reader's :data:`SCHEMA` by default.
    """
    return class_of(_pool(schema).FindMessageTypeByName(f"{PACKAGE}.{name}"))


def class_of(descriptor: Any) -> Any:
    """The message class of a descriptor of the schema's pool (a map entry's, say)."""
    upb = _upb()
    if upb is None:
        from google.protobuf import message_factory

        return message_factory.GetMessageClass(descriptor)
    from google.protobuf import message

    # What message_factory.GetMessageClass makes of the descriptor under upb.
    return upb.MessageMeta(
        descriptor.name, (message.Message,), {"DESCRIPTOR": descriptor, "__module__": None}
    )


@functools.cache
def _pool(schema: str = SCHEMA) -> Any:
    return compile_pool(schema)


def compile_pool(schema: str, package: str = PACKAGE, file_name: str = FILE_NAME) -> Any:
    """A new private descriptor pool holding the messages and enums of ``schema``.

    Parameters
    ----------
    schema : str
        Declarations in the ``.proto`` subset :data:`SCHEMA` uses (messages, enums,
        ``repeated``, ``oneof``, ``map<K, V>``; no options, no imports).
    package : str
        The package the declarations go in (their full names start with it).
    file_name : str
        The name of the file descriptor in the pool.
    """
    upb = _upb()
    if upb is None:
        from google.protobuf import descriptor_pool

        pool = descriptor_pool.DescriptorPool()
    else:
        pool = upb.DescriptorPool()  # what descriptor_pool.DescriptorPool() returns under upb
    pool.AddSerializedFile(_Compiler(schema, package, file_name).compile().encode())
    return pool


@functools.cache
def _upb() -> Any:
    """protobuf's upb extension module when it is the implementation in use, else None.

    Under upb, ``descriptor_pool.DescriptorPool`` and ``message_factory.GetMessageClass``
    hand out its pool and message metaclass; taking them from it directly saves
    importing those two modules, which load the pure-Python implementation as well:
    10 ms, most of what ``show`` spends on its own. Private names, so any doubt (another
    implementation, a protobuf that moved them) falls back to the public modules.
    """
    from google.protobuf import descriptor

    module = getattr(descriptor, "_message", None)
    if not getattr(descriptor, "_USE_C_DESCRIPTORS", False) or module is None:
        return None
    if not (hasattr(module, "DescriptorPool") and hasattr(module, "MessageMeta")):
        return None
    return module


def enum_names(enum_name: str) -> dict[int, str]:
    """Return ``{number: name}`` for an enum of the schema subset (e.g. ``"DataType"``)."""
    enum = _pool().FindEnumTypeByName(f"{PACKAGE}.{enum_name}")
    return {value.number: value.name for value in enum.values}
