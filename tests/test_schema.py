"""The declared schema subset must agree with TensorFlow's own .proto definitions."""

from __future__ import annotations

import os

import pytest

from savedmodel_widgets.savedmodel import _schema
from savedmodel_widgets.savedmodel.dtypes import dtype_name


@pytest.fixture(scope="module")
def tf_pool(tf):
    """TensorFlow's descriptor pool, holding its generated SavedModel messages."""
    from google.protobuf import descriptor_pool
    from tensorflow.core.protobuf import (  # noqa: F401  (registers the messages)
        saved_model_pb2,
        tensor_bundle_pb2,
    )

    return descriptor_pool.Default()


def _our_messages():
    pool = _schema._pool()
    file = pool.FindFileByName("savedmodel_widgets/savedmodel_subset.proto")
    pending = list(file.message_types_by_name.values())
    while pending:
        message = pending.pop()
        pending.extend(message.nested_types)
        if not message.GetOptions().map_entry:
            yield message


STAND_INS = {"tensorflow.AnyMessage": "google.protobuf.Any"}
"""Messages of other packages that the schema declares in its own package, as the same
wire format: ``{our name: their name}``."""


def test_every_declared_field_matches_tensorflow(tf_pool):
    checked = 0
    for ours in _our_messages():
        theirs = tf_pool.FindMessageTypeByName(STAND_INS.get(ours.full_name, ours.full_name))
        for field in ours.fields:
            their_field = theirs.fields_by_name[field.name]
            assert field.number == their_field.number, f"{ours.full_name}.{field.name}"
            assert field.type == their_field.type, f"{ours.full_name}.{field.name}"
            assert _is_repeated(field) == _is_repeated(their_field), (
                f"{ours.full_name}.{field.name}"
            )
            if field.message_type is not None and not field.message_type.GetOptions().map_entry:
                name = field.message_type.full_name
                assert STAND_INS.get(name, name) == their_field.message_type.full_name
            if field.enum_type is not None:
                assert field.enum_type.full_name == their_field.enum_type.full_name
            checked += 1
    assert checked > 40


def _is_repeated(field) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf 6 and later
        return field.is_repeated
    return field.label == field.LABEL_REPEATED


@pytest.mark.parametrize("enum_name", ["DataType", "TypeSpecProto.TypeSpecClass"])
def test_enums_match_tensorflow(tf_pool, enum_name):
    theirs = tf_pool.FindEnumTypeByName(f"tensorflow.{enum_name}")
    assert _schema.enum_names(enum_name) == {v.number: v.name for v in theirs.values}


def test_dtype_names_match_tensorflow(tf):
    numbers = [n for n in _schema.enum_names("DataType") if n != 0]
    for number in numbers:
        assert dtype_name(number) == tf.as_dtype(number).name
    assert dtype_name(999) == "unknown(999)"


def test_schema_syntax_errors_are_reported():
    with pytest.raises(SyntaxError, match="unknown type 'Missing'"):
        _schema._Compiler("message A { Missing field = 1; }").compile()


@pytest.mark.parametrize("name", ["table_legacy_init_op", "table_module", "builder", "pbtxt"])
def test_collection_node_lists_parse_like_tensorflow(tf, saved_models, name):
    """Node lists (where the init op is named) read as TensorFlow reads them; the other
    kinds of collection (bytes, int64, ...) are skipped, in binary and text format alike."""
    from tensorflow.python.saved_model import loader_impl

    from savedmodel_widgets.savedmodel.layout import locate
    from savedmodel_widgets.savedmodel.reader import _parse_saved_model

    location = locate(saved_models[name])
    ours = _parse_saved_model(os.path.join(location.path, location.model_file))
    theirs = loader_impl.parse_saved_model(saved_models[name])
    kinds = set()
    for our_graph, their_graph in zip(ours.meta_graphs, theirs.meta_graphs, strict=True):
        assert set(our_graph.collection_def) == set(their_graph.collection_def)
        for key, their_collection in their_graph.collection_def.items():
            kind = their_collection.WhichOneof("kind")
            kinds.add(kind)
            our_collection = our_graph.collection_def[key]
            if kind == "node_list":
                assert our_collection.node_list.value == their_collection.node_list.value
            else:
                assert our_collection.WhichOneof("kind") is None, key
    assert "node_list" in kinds
    assert ("bytes_list" in kinds) == (name != "table_module")  # TF1 graphs list variables
