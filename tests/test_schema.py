"""The declared schema subset must agree with TensorFlow's own .proto definitions."""

from __future__ import annotations

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


def test_every_declared_field_matches_tensorflow(tf_pool):
    checked = 0
    for ours in _our_messages():
        theirs = tf_pool.FindMessageTypeByName(ours.full_name)
        for field in ours.fields:
            their_field = theirs.fields_by_name[field.name]
            assert field.number == their_field.number, f"{ours.full_name}.{field.name}"
            assert field.type == their_field.type, f"{ours.full_name}.{field.name}"
            assert _is_repeated(field) == _is_repeated(their_field), (
                f"{ours.full_name}.{field.name}"
            )
            if field.message_type is not None and not field.message_type.GetOptions().map_entry:
                assert field.message_type.full_name == their_field.message_type.full_name
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
