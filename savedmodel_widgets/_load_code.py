"""The plain TensorFlow code that loads a model file the way :mod:`~savedmodel_widgets.convert`
does; :func:`~savedmodel_widgets.codegen.export_code` puts it before the export code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._codeformat import Group, call, statement, string_literal

__all__ = [
    "checkpoint_read_code",
    "keras_load_code",
    "meta_graph_load_code",
    "saver_restore_code",
    "weights_load_code",
]


def _code(imports: str, comment: str, statements: list[str]) -> str:
    head = f"{imports}\n\n" if imports else ""
    comment_line = f"# {comment}\n" if comment else ""
    return head + comment_line + "\n".join(statements) + "\n"


def keras_load_code(module: str, path: str, custom_objects: Mapping[str, Any],
                    safe_mode_off: bool) -> str:
    """``model = keras.models.load_model(path, compile=False)`` (or ``tf_keras``)."""
    kwargs: dict[str, str | Group] = {}
    if custom_objects:
        items = tuple((f"{string_literal(name)}: ", getattr(obj, "__name__", name))
                      for name, obj in custom_objects.items())
        kwargs["custom_objects"] = Group("{", items, "}")
    kwargs["compile"] = "False"
    if safe_mode_off:
        kwargs["safe_mode"] = "False"
    load = call(f"{module}.models.load_model", string_literal(path), **kwargs)
    return _code(f"import {module}", "", statement(load, target="model"))


def weights_load_code(path: str) -> str:
    """``model.load_weights(path)`` into the model the user built."""
    return _code("", "model: the built model given as model=",
                 statement(call("model.load_weights", string_literal(path))))


def meta_graph_load_code(meta: str, prefix: str, tables: bool) -> str:
    """The reference's flow: ``import_meta_graph`` into a new graph, ``Saver.restore``."""
    lines = [
        "graph = tf.Graph()",
        "with graph.as_default():",
        *statement(call("tf.compat.v1.train.import_meta_graph", string_literal(meta),
                          clear_devices="True"), indent=4, target="saver"),
        "    sess = tf.compat.v1.Session(graph=graph)",
        *statement(call("saver.restore", "sess", string_literal(prefix)), indent=4),
    ]
    if tables:
        lines.append("sess.run(graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS))")
    return _code("import tensorflow as tf", "", lines)


def saver_restore_code(prefix: str) -> str:
    """``Saver.restore`` into the session whose graph the user rebuilt."""
    lines = [
        "with sess.graph.as_default():",
        "    saver = tf.compat.v1.train.Saver()",
        *statement(call("saver.restore", "sess", string_literal(prefix)), indent=4),
    ]
    return _code("import tensorflow as tf",
                 "sess: the session given as model=, its graph rebuilt by your code", lines)


def checkpoint_read_code(child: str | None, prefix: str) -> str:
    """``tf.train.Checkpoint(model=model).read(prefix).expect_partial()``."""
    checkpoint = call("tf.train.Checkpoint", "model") if child is None else Group(
        "tf.train.Checkpoint(", ((f"{child}=", "model"),), ")")
    lines = [*statement(checkpoint, target="checkpoint"),
             *statement(call("checkpoint.read", string_literal(prefix)), target="status"),
             "status.expect_partial()  # optimizer slots and counters are not needed to serve"]
    return _code("import tensorflow as tf", "model: the built model given as model=", lines)
