"""The fast text-format reader against protobuf's own ``text_format`` parser.

Every text is parsed both ways into the schema subset's ``SavedModel``; the two
messages must be equal, byte for byte once serialized.
"""

from __future__ import annotations

import pytest
from google.protobuf import text_format

import savedmodel_widgets as smw
from savedmodel_widgets.errors import CorruptSavedModelError
from savedmodel_widgets.savedmodel._schema import message_class
from savedmodel_widgets.savedmodel._text_proto import TextFormatError, parse_text


def both_ways(text):
    """``(ours, protobuf's)`` parse of ``text`` into the subset's SavedModel."""
    ours, theirs = message_class("SavedModel")(), message_class("SavedModel")()
    parse_text(text, ours)
    text_format.Parse(text, theirs, allow_unknown_field=True, allow_unknown_extension=True)
    return ours, theirs


def assert_same(text):
    ours, theirs = both_ways(text)
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True)
    return ours


@pytest.mark.parametrize(
    "name", ["keras3", "module", "builder", "sparse_input", "ragged_input", "table_module",
             "gpu_pinned", "asset_table"])
def test_every_export_as_text_parses_as_protobuf_parses_it(tf, saved_models, name):
    from tensorflow.python.saved_model import loader_impl

    proto = loader_impl.parse_saved_model(saved_models[name])
    ours = assert_same(text_format.MessageToString(proto))
    assert ours.meta_graphs


HAND_WRITTEN = """
# a comment
saved_model_schema_version: 1;
meta_graphs <
  meta_info_def: { tags: ['serve', "gpu"] tensorflow_version: "2." "15"
    any_info { [type.googleapis.com/x.Y] { f: 1.5e-05 g: [inf, -nan] } } }
  graph_def {
    node { name: "x y" op: 'Placeholder' device: "/device:GPU:0"
           attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "a\\tb\\"c\\303\\251" op: "Identity", input: ["x y", "^z"] }
    versions { producer: 1 min_consumer: -2 bad_consumers: [1, 2] }
  }
  signature_def { key: "serving_default"
    value { method_name: "tensorflow/serving/predict"
      inputs { key: "x" value { name: "x y:0" dtype: 1
        tensor_shape { dim { size: -1 } dim { size: 0x10 } unknown_rank: false } } } } }
  signature_def [{ key: "b" value { } }, { key: "a" value { method_name: "m" } }]
>
"""


def test_hand_written_text_parses_as_protobuf_parses_it():
    ours = assert_same(HAND_WRITTEN)
    graph = ours.meta_graphs[0].graph_def
    assert [node.name for node in graph.node] == ["x y", 'a\tb"cé']
    assert graph.node[0].device == "/device:GPU:0"
    assert list(ours.meta_graphs[0].meta_info_def.tags) == ["serve", "gpu"]


@pytest.mark.parametrize("tag", ["a  b\t c", "a\x1cb", "non\u00a0breaking", "caf\u00e9 au lait"])
def test_text_written_by_tensorflow_with_spaces_in_strings(tag):
    text = f'meta_graphs {{\n  meta_info_def {{\n    tags: "{tag}"\n  }}\n}}\n'
    assert list(assert_same(text).meta_graphs[0].meta_info_def.tags) == [tag]


@pytest.mark.parametrize(
    "text",
    ["meta_graphs {", "meta_graphs { meta_info_def { tags: } }", "}", "meta_graphs: 3",
     "saved_model_schema_version: x", "meta_graphs { [a.b] { } }", '"name": 1',
     "meta_graphs { meta_info_def { tags: \"\\x\" } }",
     "meta_graphs { meta_info_def { tags: \" } }"],
)
def test_broken_text_is_refused(text):
    with pytest.raises(TextFormatError):
        parse_text(text, message_class("SavedModel")())


def test_some_other_text_proto_says_what_it_holds(tmp_path):
    label_map = 'item {\n  id: 1\n  name: "cat"\n}\nitem {\n  id: 2\n  name: "dog"\n}\n'
    (tmp_path / "saved_model.pbtxt").write_text(label_map)
    with pytest.raises(CorruptSavedModelError) as raised:
        smw.read_saved_model(tmp_path)
    message = str(raised.value)
    assert "not a SavedModel" in message and "item" in message
    assert "cut short" not in message
