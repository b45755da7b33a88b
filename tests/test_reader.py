"""The reader against TensorFlow: for every real export, what ``read_saved_model``
reports must equal what TensorFlow itself reports for the same directory.

TensorFlow is imported lazily (through the ``tf`` fixture), so collecting this
module does not load it.
"""

from __future__ import annotations

import collections
import os
import re
import shutil

import pytest

import savedmodel_widgets as smw
from savedmodel_widgets.errors import (
    CorruptSavedModelError,
    NotASavedModelError,
    SavedModelError,
)

MODELS = (
    "keras3",
    "module",
    "simple_save",
    "builder",
    "pbtxt",
    "multi_tag",
    "string_input",
    "sparse_input",
    "ragged_input",
    "fixed_batch",
    "unknown_rank",
    "table_simple_save",
    "table_legacy_init_op",
    "table_unread",
    "table_module",
    "train_serve",
    "gpu_pinned",
    "ref_output",
    "asset_table",
)
"""Every single-directory export of the ``saved_models`` fixture."""

TF2_MODELS = (
    "keras3", "module", "string_input", "fixed_batch", "unknown_rank", "table_module",
    "asset_table",
)
"""Exports written by the TF2 saver, which ``tf.saved_model.load`` can load."""

ENCODINGS = {"name": "dense", "coo_sparse": "sparse", "composite_tensor": "composite"}
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
TABLE_COLUMNS = ["signature", "method", "direction", "alias", "tensor", "dtype", "shape"]


# --- what TensorFlow reports -------------------------------------------------


def tf_parse(path):
    """TensorFlow's own parse of the SavedModel (its generated protos)."""
    from tensorflow.python.saved_model import loader_impl

    return loader_impl.parse_saved_model(path)


def spec_view(spec):
    """``(dtype name, shape)`` of a TensorFlow spec; shape ``None`` for unknown rank."""
    shape = None if spec.shape.rank is None else tuple(spec.shape.as_list())
    return spec.dtype.name, shape


def tf_shape(tf, shape_proto):
    shape = tf.TensorShape(shape_proto)
    return None if shape.rank is None else tuple(shape.as_list())


def tf_composite_spec(composite):
    """Decode a composite tensor's TypeSpec the way TensorFlow's loader does."""
    from tensorflow.core.protobuf import struct_pb2
    from tensorflow.python.saved_model import nested_structure_coder

    return nested_structure_coder.decode_proto(
        struct_pb2.StructuredValue(type_spec_value=composite.type_spec)
    )


def tf_tensor(tf, alias, tensor_info):
    """What TensorFlow's TensorInfo proto says about one signature tensor."""
    encoding = tensor_info.WhichOneof("encoding")
    expected = {"alias": alias, "encoding": ENCODINGS[encoding]}
    if encoding == "composite_tensor":
        composite = tensor_info.composite_tensor
        spec = tf_composite_spec(composite)
        dtype, shape = spec_view(spec)
        return expected | {
            "name": "",
            "dtype": dtype,
            "shape": shape,
            "composite_type": type(spec).__name__,
            "components": tuple(c.name for c in composite.components),
        }
    expected |= {
        "dtype": tf.as_dtype(tensor_info.dtype).name,
        "shape": tf_shape(tf, tensor_info.tensor_shape),
        "composite_type": "",
    }
    if encoding == "coo_sparse":
        sparse = tensor_info.coo_sparse
        return expected | {
            "name": sparse.values_tensor_name,
            "components": (
                sparse.values_tensor_name,
                sparse.indices_tensor_name,
                sparse.dense_shape_tensor_name,
            ),
        }
    return expected | {"name": tensor_info.name, "components": ()}


def our_tensor(tensor):
    return {
        "alias": tensor.alias,
        "encoding": tensor.encoding,
        "name": tensor.name,
        "dtype": tensor.dtype,
        "shape": tensor.shape,
        "composite_type": tensor.composite_type,
        "components": tensor.components,
    }


def public_signatures(meta_graph_proto):
    """TensorFlow's signatures without the internal ``__saved_model_init_op``, by name."""
    return {
        name: signature
        for name, signature in sorted(meta_graph_proto.signature_def.items())
        if not name.startswith("__")
    }


def tf_checkpoint(tf, path):
    """``{key: (shape, dtype name)}`` and the reader of ``variables/``, or ``({}, None)``."""
    prefix = os.path.join(path, "variables", "variables")
    if not os.path.isfile(prefix + ".index"):
        return {}, None
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    return {
        key: (tuple(shape), dtypes[key].name) for key, shape in tf.train.list_variables(prefix)
    }, reader


def tf_variable_names(path, reader):
    """``{checkpoint key: variable name}`` from TensorFlow's own object graphs.

    The checkpoint's object graph maps node ids to checkpoint keys; the
    SavedModel's object graph (same node ids) holds each variable's name.
    TF1 exports have neither, and their variables are named by their keys.
    """
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    if reader is None or not reader.has_tensor(OBJECT_GRAPH_KEY):
        return {}
    checkpoint_graph = trackable_object_graph_pb2.TrackableObjectGraph.FromString(
        reader.get_tensor(OBJECT_GRAPH_KEY)
    )
    saved_graph = tf_parse(path).meta_graphs[0].object_graph_def
    names = {}
    for node_id, node in enumerate(checkpoint_graph.nodes):
        for attribute in node.attributes:
            if attribute.name == "VARIABLE_VALUE":
                names[attribute.checkpoint_key] = saved_graph.nodes[node_id].variable.name
    return names


# --- signatures, meta graphs, ops --------------------------------------------


def test_every_export_is_compared(saved_models):
    assert set(MODELS) == set(saved_models) - {"versioned"}


@pytest.mark.parametrize("name", MODELS)
def test_meta_graphs_match_tensorflow(tf, saved_models, name):
    info = smw.read_saved_model(saved_models[name])
    theirs = tf_parse(saved_models[name])
    assert info.schema_version == theirs.saved_model_schema_version
    assert len(info.meta_graphs) == len(theirs.meta_graphs)
    for ours, proto in zip(info.meta_graphs, theirs.meta_graphs, strict=True):
        assert ours.tags == tuple(proto.meta_info_def.tags)
        assert ours.tensorflow_version == proto.meta_info_def.tensorflow_version
        assert ours.tensorflow_git_version == proto.meta_info_def.tensorflow_git_version
        assert ours.asset_files == tuple(a.filename for a in proto.asset_file_def)
        signatures = public_signatures(proto)
        assert ours.signature_names == tuple(signatures)
        for signature in ours.signatures:
            assert signature.method_name == signatures[signature.name].method_name


@pytest.mark.parametrize("name", MODELS)
def test_signature_tensors_match_tensorflow(tf, saved_models, name):
    info = smw.read_saved_model(saved_models[name])
    for ours, proto in zip(info.meta_graphs, tf_parse(saved_models[name]).meta_graphs, strict=True):
        for signature in ours.signatures:
            signature_def = proto.signature_def[signature.name]
            for tensors, tf_tensors in (
                (signature.inputs, signature_def.inputs),
                (signature.outputs, signature_def.outputs),
            ):
                assert [our_tensor(t) for t in tensors] == [
                    tf_tensor(tf, alias, tf_tensors[alias]) for alias in sorted(tf_tensors)
                ]


@pytest.mark.parametrize("name", TF2_MODELS)
def test_signatures_match_the_tf2_loader(tf, saved_models, name):
    loaded = tf.saved_model.load(saved_models[name])
    info = smw.read_saved_model(saved_models[name])
    assert set(info.meta_graphs[0].signature_names) == set(loaded.signatures)
    for signature in info.meta_graphs[0].signatures:
        function = loaded.signatures[signature.name]
        args, kwargs = function.structured_input_signature
        assert args == ()
        for ours, specs in (
            (signature.inputs, kwargs),
            (signature.outputs, function.structured_outputs),
        ):
            assert {t.alias: (t.dtype, t.shape) for t in ours} == {
                alias: spec_view(spec) for alias, spec in specs.items()
            }


@pytest.mark.parametrize("name", MODELS)
def test_op_counts_match_tensorflow(saved_models, name):
    info = smw.read_saved_model(saved_models[name])
    for ours, proto in zip(info.meta_graphs, tf_parse(saved_models[name]).meta_graphs, strict=True):
        expected = collections.Counter(node.op for node in proto.graph_def.node)
        for function in proto.graph_def.library.function:
            expected.update(node.op for node in function.node_def)
        assert dict(ours.op_counts) == dict(expected)
        assert ours.op_count == expected.total()
        counts = [count for _, count in ours.op_counts]
        assert counts == sorted(counts, reverse=True), "most frequent op types first"


def tf_init_ops(tf, path):
    """The init op of each meta graph as TensorFlow's Python loader finds it after
    importing the graph (``loader_impl.get_init_op``); empty when there is none."""
    from tensorflow.python.saved_model import loader_impl

    loader = loader_impl.SavedModelLoader(path)
    names = []
    for meta_graph in loader.saved_model.meta_graphs:
        graph = tf.Graph()
        loader.load_graph(graph, meta_graph.meta_info_def.tags)
        with graph.as_default():
            init_op = loader_impl.get_init_op(meta_graph)
        names.append("" if init_op is None else init_op.name)
    return names


@pytest.mark.parametrize("name", MODELS)
def test_init_op_matches_tensorflow(tf, saved_models, name):
    info = smw.read_saved_model(saved_models[name])
    assert [mg.init_op for mg in info.meta_graphs] == tf_init_ops(tf, saved_models[name])


def test_init_op_of_each_kind_of_export(saved_models):
    def init_op(name):
        return smw.read_saved_model(saved_models[name]).serving_meta_graph.init_op

    assert init_op("table_simple_save") == init_op("simple_save") == ""  # simple_save writes none
    assert init_op("table_legacy_init_op") == "legacy_init_op"  # the saved_model_main_op list
    assert init_op("builder") == init_op("pbtxt") == "init_all_tables"  # the builder's main_op
    assert init_op("table_module") == init_op("module") != ""  # the __saved_model_init_op output


@pytest.mark.parametrize("name", ["table_simple_save", "table_legacy_init_op", "table_module"])
def test_text_format_reads_the_same_as_binary(tf, saved_model_copy, name):
    """The same SavedModel written as text by TensorFlow's own protobuf classes."""
    from google.protobuf import text_format

    path = saved_model_copy(name)
    binary = smw.read_saved_model(path)
    text = text_format.MessageToString(tf_parse(path))
    os.remove(os.path.join(path, "saved_model.pb"))
    with open(os.path.join(path, "saved_model.pbtxt"), "w", encoding="utf-8") as file:
        file.write(text)
    info = smw.read_saved_model(path)
    assert info.format == "pbtxt"
    assert info.meta_graphs == binary.meta_graphs


# --- variables ---------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_variables_match_the_checkpoint(tf, saved_models, name):
    path = saved_models[name]
    info = smw.read_saved_model(path)
    expected, reader = tf_checkpoint(tf, path)
    expected.pop(OBJECT_GRAPH_KEY, None)
    assert info.variables_error == ""
    assert [v.key for v in info.variables] == sorted(expected)
    assert {v.key: (v.shape, v.dtype) for v in info.variables} == expected
    for variable in info.variables:
        if variable.dtype != "string":
            assert variable.nbytes == reader.get_tensor(variable.key).nbytes, variable.key
    names = tf_variable_names(path, reader)
    assert {v.key: v.name for v in info.variables} == {key: names.get(key, key) for key in expected}
    assert any(mg.has_variables for mg in info.meta_graphs) == bool(expected)


@pytest.mark.parametrize("name", ["module", "builder"])
def test_snappy_compressed_index_blocks(tf, saved_model_copy, name):
    """TensorFlow 1.13 to 2.14 often wrote the index's blocks compressed (block type 1)."""
    from pathlib import Path

    from checkpoint_tables import compress_index

    path = saved_model_copy(name)
    plain = smw.read_saved_model(path)
    index = Path(path, "variables", "variables.index")
    compress_index(index)
    assert index.read_bytes() != b"" and plain.variables
    # TensorFlow reads the rewritten file: the fixture is a real compressed table.
    reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    assert set(reader.get_variable_to_shape_map()) - {OBJECT_GRAPH_KEY} == {
        v.key for v in plain.variables}
    if name == "module":
        tf.saved_model.load(path)
    compressed = smw.read_saved_model(path)
    assert compressed.variables_error == ""
    assert compressed.variables == plain.variables
    assert smw.check(compressed) == smw.check(plain)


def test_compressed_index_without_cramjam_says_what_to_install(saved_model_copy, monkeypatch):
    import sys
    from pathlib import Path

    from checkpoint_tables import compress_index

    path = saved_model_copy("module")
    compress_index(Path(path, "variables", "variables.index"))
    monkeypatch.setitem(sys.modules, "cramjam", None)  # as if it were not installed
    info = smw.read_saved_model(path)
    assert "pip install cramjam" in info.variables_error


@pytest.mark.parametrize("name", ["keras3", "module"])
def test_variable_names_are_those_of_the_live_model(tf, saved_models, live_models, name):
    """Each saved tensor is matched to the live variable holding the same value."""
    live = [v if isinstance(v, tf.Variable) else v.value for v in live_models[name].variables]
    _, reader = tf_checkpoint(tf, saved_models[name])
    info = smw.read_saved_model(saved_models[name])
    assert info.variables
    for variable in info.variables:
        saved = reader.get_tensor(variable.key)
        (match,) = [v for v in live if tuple(v.shape) == saved.shape and (v.numpy() == saved).all()]
        assert variable.name == match.name.removesuffix(":0")


# --- files and format --------------------------------------------------------


def walk(root):
    """``({file: size}, {directory})`` relative to ``root``, posix-style."""
    files, dirs = {}, set()
    for here, subdirs, names in os.walk(root):
        relative = os.path.relpath(here, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        dirs.update(prefix + d for d in subdirs)
        for file in names:
            files[prefix + file] = os.path.getsize(os.path.join(here, file))
    return files, dirs


@pytest.mark.parametrize("name", MODELS)
def test_files_sizes_and_order(saved_models, name):
    path = saved_models[name]
    info = smw.read_saved_model(path)
    files, dirs = walk(path)
    assert info.format == ("pbtxt" if name == "pbtxt" else "pb")
    assert f"saved_model.{info.format}" in files and "variables" in dirs
    assert {e.path: e.size for e in info.files if not e.is_dir} == files
    assert {e.path for e in info.files if e.is_dir} == dirs
    for entry in info.files:
        if entry.is_dir:
            inside = entry.path + "/"
            assert entry.size == sum(s for f, s in files.items() if f.startswith(inside))
    assert info.total_bytes == sum(files.values())
    # Pre-order: a directory before its contents, directories before files at each level.
    seen = set()
    for entry in info.files:
        parent = entry.path.rpartition("/")[0]
        assert parent == "" or parent in seen, entry.path
        seen.add(entry.path)
    by_parent = collections.defaultdict(list)
    for entry in info.files:
        by_parent[entry.path.rpartition("/")[0]].append(entry.is_dir)
    for parent, kinds in by_parent.items():
        assert kinds == sorted(kinds, reverse=True), f"files before a directory in {parent!r}"


def test_the_saved_model_file_itself_reads_its_directory(saved_models):
    for name in ("builder", "pbtxt"):
        directory = saved_models[name]
        model_file = next(f for f in os.listdir(directory) if f.startswith("saved_model."))
        by_file = smw.read_saved_model(os.path.join(directory, model_file))
        assert by_file.path == directory
        assert by_file == smw.read_saved_model(directory)


# --- presentation ------------------------------------------------------------


def tensor_text(tensor):
    """The table's ``tensor`` cell: the graph tensor, or ``<kind>: <components>`` (documented
    by ``TensorInfo.tensor_text``) for a sparse or composite tensor."""
    if tensor["encoding"] == "dense":
        return tensor["name"]
    kind = "sparse" if tensor["encoding"] == "sparse" else tensor["composite_type"]
    return f"{kind}: {', '.join(tensor['components'])}"


def tf_table_rows(tf, path):
    """The signature table TensorFlow's protos imply, in the reader's documented order."""
    meta_graphs = tf_parse(path).meta_graphs
    rows = []
    for proto in meta_graphs:
        for name, signature in public_signatures(proto).items():
            for direction, tensors in (("input", signature.inputs), ("output", signature.outputs)):
                for alias in sorted(tensors):
                    tensor = tf_tensor(tf, alias, tensors[alias])
                    row = {
                        "signature": name,
                        "method": signature.method_name,
                        "direction": direction,
                        "alias": alias,
                        "tensor": tensor_text(tensor),
                        "dtype": tensor["dtype"],
                        "shape": tensor["shape"],
                    }
                    if len(meta_graphs) > 1:
                        row = {"tags": ",".join(proto.meta_info_def.tags)} | row
                    rows.append(row)
    return rows


@pytest.mark.parametrize("name", MODELS)
def test_signature_table_matches_tensorflow(tf, saved_models, name):
    table = smw.read_saved_model(saved_models[name]).signature_table()
    expected = tf_table_rows(tf, saved_models[name])
    assert list(table.columns) == list(expected[0])
    assert table.to_dict("records") == expected


def test_simple_save_table_is_the_reference_example(saved_models):
    table = smw.read_saved_model(saved_models["simple_save"]).signature_table()
    assert list(table.columns) == TABLE_COLUMNS
    assert list(zip(table["signature"], table["direction"], table["alias"], strict=True)) == [
        ("serving_default", "input", "image"),
        ("serving_default", "output", "scores"),
    ]


def test_unknown_signature_lists_the_names(saved_models):
    info = smw.read_saved_model(saved_models["module"])
    with pytest.raises(SavedModelError) as raised:
        info.signature("nope")
    message = str(raised.value)
    assert "nope" in message
    assert info.meta_graphs[0].signature_names
    for name in info.meta_graphs[0].signature_names:
        assert name in message


# --- TF Serving's versioned layout --------------------------------------------


def test_versioned_parent_picks_the_highest_version(saved_models):
    parent = saved_models["versioned"]
    info = smw.read_saved_model(parent)
    assert (info.version, info.other_versions) == (3, (1,))
    assert info.path == os.path.join(parent, "3") and info.base_path == parent
    assert info.meta_graphs == smw.read_saved_model(saved_models["module"]).meta_graphs


def test_versioned_parent_with_a_chosen_version(saved_models):
    parent = saved_models["versioned"]
    info = smw.read_saved_model(parent, version=1)
    assert (info.version, info.other_versions) == (1, (3,))
    assert info.path == os.path.join(parent, "1") and info.base_path == parent


def test_a_version_directory_knows_its_siblings(saved_models):
    info = smw.read_saved_model(os.path.join(saved_models["versioned"], "1"))
    assert (info.version, info.other_versions) == (1, (3,))
    assert info.path == os.path.join(saved_models["versioned"], "1")


def test_a_missing_version_lists_those_that_exist(saved_models):
    parent = saved_models["versioned"]
    with pytest.raises(SavedModelError) as raised:
        smw.read_saved_model(parent, version=2)
    message = str(raised.value)
    assert parent in message
    numbers = {int(n) for n in re.findall(r"\d+", message.replace(parent, ""))}
    assert {1, 2, 3} <= numbers and "tmp-foo" not in message


def test_versioned_parent_whose_versions_hold_no_model_says_so(tmp_path):
    parent = tmp_path / "mnist"
    (parent / "1").mkdir(parents=True)
    (parent / "2" / "variables").mkdir(parents=True)
    with pytest.raises(NotASavedModelError) as raised:
        smw.read_saved_model(parent)
    message = str(raised.value)
    assert "highest version directory, 2, holds no saved_model.pb" in message
    assert "it holds variables" in message and "(1)" in message


# --- errors ------------------------------------------------------------------


def missing_dir(tmp_path):
    return str(tmp_path / "no_such_model")


def empty_dir(tmp_path):
    (tmp_path / "empty").mkdir()
    return str(tmp_path / "empty")


def keras_h5_dir(tmp_path):
    directory = tmp_path / "h5_model"
    directory.mkdir()
    (directory / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    return str(directory)


def checkpoint_dir(tmp_path):
    directory = tmp_path / "ckpt"
    directory.mkdir()
    for file in ("checkpoint", "model.ckpt.index", "model.ckpt.meta"):
        (directory / file).write_bytes(b"\0")
    return str(directory)


@pytest.mark.parametrize(
    ("make", "hint"),
    [
        (missing_dir, r"does not exist"),
        (empty_dir, r"(?i)\bempty\b"),
        (keras_h5_dir, r"(?i)keras"),
        (checkpoint_dir, r"(?i)checkpoint"),
    ],
)
def test_not_a_saved_model_says_what_is_there(tmp_path, make, hint):
    path = make(tmp_path)
    with pytest.raises(NotASavedModelError) as raised:
        smw.read_saved_model(path)
    message = str(raised.value)
    assert path in message
    assert re.search(hint, message.replace(path, "")), message


def test_truncated_saved_model_pb_is_corrupt(saved_model_copy):
    path = saved_model_copy("builder")
    model_file = os.path.join(path, "saved_model.pb")
    with open(model_file, "rb") as file:
        data = file.read()
    with open(model_file, "wb") as file:
        file.write(data[: len(data) // 2])
    with pytest.raises(CorruptSavedModelError) as raised:
        smw.read_saved_model(path)
    message = str(raised.value)
    assert path in message
    assert re.search(r"(?i)export .*again", message.replace(path, "")), message


def test_a_meta_graph_def_written_as_saved_model_pb_is_refused(tf, saved_model_copy):
    """Its fields have other wire types than a SavedModel's: TensorFlow refuses it, and
    so must the reader, instead of showing a meta graph made of garbage."""
    path = saved_model_copy("builder")
    model_file = os.path.join(path, "saved_model.pb")
    meta_graph = tf_parse(path).meta_graphs[0]
    with open(model_file, "wb") as file:
        file.write(meta_graph.SerializeToString())
    with pytest.raises(OSError, match="Cannot parse"):  # the DecodeError, wrapped
        tf_parse(path)
    with pytest.raises(OSError, match="Cannot parse"):
        tf.saved_model.load(path)
    with pytest.raises(CorruptSavedModelError) as raised:
        smw.read_saved_model(path)
    assert model_file in str(raised.value)
    # Its first field alone (meta_info_def, length-delimited) is where a SavedModel has
    # saved_model_schema_version, a varint: the wire type alone refuses it.
    del meta_graph.signature_def["predict_images"]
    meta_graph.ClearField("graph_def")
    meta_graph.ClearField("collection_def")
    meta_graph.ClearField("saver_def")
    with open(model_file, "wb") as file:
        file.write(meta_graph.SerializeToString())
    with pytest.raises(CorruptSavedModelError, match="SavedModel.saved_model_schema_version"):
        smw.read_saved_model(path)


def test_unknown_fields_are_still_skipped(tf, saved_model_copy):
    """Fields the schema subset does not declare (a newer TensorFlow's) stay harmless."""
    path = saved_model_copy("builder")
    proto = tf_parse(path)
    proto.meta_graphs[0].meta_info_def.stripped_default_attrs = True
    proto.meta_graphs[0].meta_info_def.any_info.type_url = "type.example/extra"
    with open(os.path.join(path, "saved_model.pb"), "wb") as file:
        file.write(proto.SerializeToString())
    assert smw.read_saved_model(path).signature("predict_images").outputs


def test_garbage_variables_index_is_reported_not_raised(saved_model_copy):
    path = saved_model_copy("builder")
    index = os.path.join(path, "variables", "variables.index")
    with open(index, "wb") as file:
        file.write(b"this is not a tensor bundle index" * 3)
    info = smw.read_saved_model(path)
    assert info.variables_error and index in info.variables_error
    assert info.variables == ()
    assert info.signature("predict_images").outputs


def test_missing_variables_dir_is_no_error(saved_model_copy):
    path = saved_model_copy("simple_save")
    shutil.rmtree(os.path.join(path, "variables"))
    info = smw.read_saved_model(path)
    assert (info.variables, info.variables_error) == ((), "")
    assert not info.has_variables_dir
