"""The op and attribute registry of every TensorFlow release, and what a release cannot load.

The facts come from loading each release's own library (RUNTIME-NOTES.md: what the old
runtimes said about exports of TensorFlow 2.21); the graphs are real ones built by the
installed TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from savedmodel_widgets.runtimes import RELEASES, installed_release
from savedmodel_widgets.runtimes.op_registry import (
    GRAPH_SCHEMA,
    compact_attr_value,
    find_incompatibilities,
    op_registry,
)
from savedmodel_widgets.savedmodel._schema import message_class


@pytest.fixture(scope="module")
def registry():
    return op_registry()


def test_every_release_is_covered_by_its_own_library(registry):
    assert registry.releases == RELEASES
    for release in RELEASES:
        source = registry.sources[release]
        assert source["tf_version"].startswith(f"{release}."), source
        registered = sum(registry.has_op(op, release) for op in registry.ops())
        assert registered > 1000, (release, registered)
    # Counts the libraries of 1.15 and 2.7 reported (RUNTIME-NOTES.md).
    assert sum(registry.has_op(op, "1.15") for op in registry.ops()) == 1392
    assert sum(registry.has_op(op, "2.7") for op in registry.ops()) == 1752


def test_facts_measured_with_the_old_runtimes(registry):
    assert registry.first_release("Einsum") == "1.15"
    assert not registry.has_op("Einsum", "1.14")
    assert registry.attr_first_release("GatherV2", "batch_dims") == "1.14"
    assert registry.attr_first_release("Conv2D", "explicit_paddings") == "1.14"
    assert registry.attr_first_release("ResizeBilinear", "half_pixel_centers") == "1.14"
    assert not registry.has_attr("MatMul", "grad_a", "1.15")
    assert registry.has_attr("MatMul", "grad_a", installed_release())
    assert not registry.has_attr("VarHandleOp", "debug_name", "2.7")
    assert not registry.has_op("DisableCopyOnRead", "2.7")
    assert registry.has_op("DisableCopyOnRead", installed_release())
    assert registry.has_attr("VarHandleOp", "allowed_devices", "2.7")
    assert not registry.has_attr("VarHandleOp", "allowed_devices", "1.15")


def test_an_op_whose_kernel_was_dropped(registry):
    # TF Serving 2.1 serves BoostedTreesBucketize; the installed 2.21 registers the op
    # but has no kernel for it (the corpus' tfx estimator model fails to load here).
    assert registry.has_kernel("BoostedTreesBucketize", "2.1")
    assert registry.has_op("BoostedTreesBucketize", "2.21")
    assert not registry.has_kernel("BoostedTreesBucketize", "2.21")


def test_defaults_in_compact_form(registry):
    assert registry.attr_default("MatMul", "transpose_a") == {"b": False}
    assert registry.attr_default("MatMul", "grad_a") == {"b": False}
    assert registry.attr_default("Conv2D", "data_format") == {"s": "NHWC"}
    assert registry.attr_default("Conv2D", "dilations") == {"list": {"i": [1, 1, 1, 1]}}
    assert registry.attr_default("Conv2D", "explicit_paddings") == {"list": {}}
    assert registry.attr_default("Conv2D", "explicit_paddings", "1.13") is None
    assert registry.attr_default("MatMul", "T") is None


def test_unknown_release_lists_the_covered_ones(registry):
    with pytest.raises(ValueError, match=r"no TensorFlow release '3\.1'.*1\.12, 1\.13"):
        registry.has_op("MatMul", "3.1")
    assert registry.has_op("MatMul", "1.15.0")


def graph_def(tf, build):
    """The serialized GraphDef of what ``build(tf)`` adds to a fresh TF1 graph."""
    graph = tf.Graph()
    with graph.as_default():
        build(tf)
    return graph.as_graph_def().SerializeToString()


def test_compact_form_of_real_node_attributes(tf):
    def build(tf):
        image = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 3], name="image")
        tf.nn.conv2d(image, tf.ones([3, 3, 3, 2]), strides=2, padding="SAME", name="conv")

    parsed = message_class("GraphDef", GRAPH_SCHEMA).FromString(graph_def(tf, build))
    conv = next(node for node in parsed.node if node.name == "conv")
    assert compact_attr_value(conv.attr["strides"]) == {"list": {"i": [1, 2, 2, 1]}}
    assert compact_attr_value(conv.attr["padding"]) == {"s": "SAME"}
    assert compact_attr_value(conv.attr["T"]) == {"type": tf.float32.as_datatype_enum}
    image = next(node for node in parsed.node if node.name == "image")
    assert compact_attr_value(image.attr["shape"]) == {"shape": [-1, 8, 8, 3]}
    ones = next(node for node in parsed.node if node.op == "Const")
    assert set(compact_attr_value(ones.attr["value"])) == {"tensor"}


def matmuls(tf, count=5, grad_a=False):
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    for index in range(count):
        x = tf.raw_ops.MatMul(a=x, b=tf.ones([4, 4]), grad_a=grad_a, name=f"matmul_{index}")


def test_attribute_unknown_to_a_release_whatever_its_value(tf):
    data = graph_def(tf, matmuls)
    found = {(f.op, f.attr): f for f in find_incompatibilities(data, "1.15")}
    grad_a = found["MatMul", "grad_a"]
    assert grad_a.kind == "attr" and grad_a.count == 5
    assert grad_a.nodes == ("matmul_0", "matmul_1", "matmul_2")
    assert grad_a.first_release == "2.16" and grad_a.default_valued
    assert set(found) == {("MatMul", "grad_a"), ("MatMul", "grad_b")}
    assert find_incompatibilities(data, installed_release()) == []
    assert find_incompatibilities(data, "2.16") == []

    changed = find_incompatibilities(graph_def(tf, lambda tf: matmuls(tf, 2, True)), "1.15")
    assert [(f.attr, f.default_valued) for f in changed] == [("grad_a", False), ("grad_b", True)]


def test_op_missing_from_a_release(tf):
    def build(tf):
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        tf.einsum("ij,jk->ik", x, tf.ones([4, 2]), name="product")

    data = graph_def(tf, build)
    (einsum,) = [f for f in find_incompatibilities(data, "1.14") if f.op == "Einsum"]
    assert (einsum.kind, einsum.first_release, einsum.nodes) == ("op", "1.15", ("product/Einsum",))
    assert not [f for f in find_incompatibilities(data, "1.15") if f.kind == "op"]


def test_custom_ops_functions_and_internal_attributes(tf):
    from tensorflow.core.framework import attr_value_pb2, graph_pb2

    graph = graph_pb2.GraphDef()
    function = graph.library.function.add()
    function.signature.name = "scale_by_two"
    inner = function.node_def.add(name="inner", op="Fancy>Op")
    caller = graph.node.add(name="call", op="scale_by_two")
    caller.attr["_read_only_resource_inputs"].CopyFrom(attr_value_pb2.AttrValue(i=1))
    no_op = graph.node.add(name="no_op", op="NoOp")
    no_op.attr["_class"].CopyFrom(attr_value_pb2.AttrValue(s=b"loc:@x"))
    for release in ("1.12", "2.7", installed_release()):
        (custom,) = find_incompatibilities(graph.SerializeToString(), release)
        assert (custom.kind, custom.op, custom.nodes) == (
            "custom-op", inner.op, ("scale_by_two/inner",))
        assert custom.first_release is None


def test_py_function_is_a_custom_op_for_every_release(tf):
    def build(tf):
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        tf.py_function(lambda v: v * 2, [x], tf.float32, name="doubled")
        tf.compat.v1.py_func(lambda v: v * 3, [x], tf.float32, name="tripled")

    data = graph_def(tf, build)
    for release in RELEASES:
        custom = {f.op for f in find_incompatibilities(data, release) if f.kind == "custom-op"}
        assert custom == {"EagerPyFunc", "PyFunc"}, release


def test_the_fast_scan_finds_what_the_full_walk_finds(saved_models):
    """The check's fast path (suspects, then the suspect nodes' bytes) against the walk
    over every attribute of every parsed node, on real exports."""
    from savedmodel_widgets.runtimes.graph_scan import scan_incompatibilities, suspects
    from savedmodel_widgets.runtimes.op_registry import graph_incompatibilities
    from savedmodel_widgets.savedmodel.reader import read_saved_model
    from savedmodel_widgets.savedmodel.runtime_checks import serving_graph

    for name in ("keras3", "module", "simple_save", "builder", "table_simple_save"):
        info = read_saved_model(saved_models[name])
        data = Path(info.path, "saved_model.pb").read_bytes()
        index = info.meta_graphs.index(info.main_meta_graph)
        ops = [op for op, _ in info.main_meta_graph.op_counts]
        full = {release: graph_incompatibilities(serving_graph(info, data), release)
                for release in ("1.12", "1.15", "2.7", "2.16", installed_release())}
        assert full["1.15"], name  # every TensorFlow 2.21 export has something 1.15 lacks
        for release, expected in full.items():
            only = suspects(ops, data, release)
            fast = scan_incompatibilities(data, index, release, only) if only else []
            assert fast == expected, (name, release)


def test_the_fast_scan_reads_long_names_and_function_bodies(tf, tmp_path):
    """Nodes whose names need a two-byte length are parsed; nodes inside functions are
    named ``function/node``: the same findings as the full walk."""
    from savedmodel_widgets.runtimes.graph_scan import scan_incompatibilities, suspects
    from savedmodel_widgets.runtimes.op_registry import graph_incompatibilities
    from savedmodel_widgets.savedmodel.reader import read_saved_model
    from savedmodel_widgets.savedmodel.runtime_checks import serving_graph

    long_name = "a_rather_long_scope/" * 8 + "product"
    assert len(long_name) > 128

    class Products(tf.Module):
        def __init__(self):
            super().__init__()
            self.weights = tf.Variable(tf.ones([4, 4]))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            # tf.saved_model.save strips default attributes: these grad_a are kept.
            product = tf.raw_ops.MatMul(a=x, b=self.weights, grad_a=True, name=long_name)
            return {"y": tf.raw_ops.MatMul(a=product, b=self.weights, grad_a=True)}

    module = Products()
    path = tmp_path / "products"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    info = read_saved_model(path)
    data = (path / "saved_model.pb").read_bytes()
    ops = [op for op, _ in info.main_meta_graph.op_counts]
    full = graph_incompatibilities(serving_graph(info, data), "1.15")
    fast = scan_incompatibilities(data, 0, "1.15", suspects(ops, data, "1.15"))
    assert fast == full
    (grad_a,) = [found for found in fast if found.attr == "grad_a"]
    assert grad_a.count == 2 and not grad_a.default_valued
    assert any(node.endswith("/" + long_name) for node in grad_a.nodes), grad_a.nodes
