"""The runtime check: does the TensorFlow a server runs register every op and attribute?

TensorFlow's loader refuses a graph with an op its release does not register (``Op type
not registered 'DisableCopyOnRead'``) or a node attribute its op definition lacks
(``NodeDef mentions attr 'debug_name' not in Op<name=VarHandleOp ...>``), whatever the
attribute's value (``ValidateNodeDef``, tensorflow/core/framework/node_def_util.cc, run by
the loader's graph import). The op registry of each release
(:mod:`savedmodel_widgets.runtimes.op_registry`) tells which those are, without TensorFlow.

The reader skips every node's ``attr`` to stay fast; this check parses the model file again
with a schema that keeps them, only when a runtime is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ..errors import CorruptSavedModelError
from ..runtimes.catalogue import (
    EAS_DOCUMENTATION,
    Runtime,
    get_runtime,
    installed_release,
    runtimes,
)
from ..runtimes.op_registry import (
    GRAPH_SCHEMA,
    Incompatibility,
    graph_incompatibilities,
    op_registry,
)
from ._schema import message_class
from .finding import Finding
from .info import SavedModelInfo
from .layout import PB_FILE, PBTXT_FILE
from .text import count_text

__all__ = ["RUNTIME_CODES", "on_runtime", "runtime_findings", "runtime_not_chosen",
           "serving_graph"]

RUNTIME_CODES = {"op": "op-not-in-runtime", "attr": "attr-not-in-runtime",
                 "custom-op": "custom-op"}
"""The finding code of each kind of :class:`Incompatibility`."""


def on_runtime(runtime: str | Runtime | None) -> str:
    """`` on eas:tensorflow_cpu_1.15 (TensorFlow 1.15)`` for a heading, or ``""``."""
    if not runtime:
        return ""
    chosen = get_runtime(runtime)
    return f" on {chosen.name} (TensorFlow {chosen.release})"


def serving_graph(info: SavedModelInfo) -> Any:
    """The ``GraphDef`` (of :data:`GRAPH_SCHEMA`, attributes included) of the meta graph a
    server loads: :attr:`SavedModelInfo.main_meta_graph`, read again from the model file.

    Raises
    ------
    CorruptSavedModelError
        When the file can no longer be parsed (changed since it was read).
    """
    from google.protobuf.message import DecodeError

    main = info.main_meta_graph
    index = next(i for i, meta_graph in enumerate(info.meta_graphs) if meta_graph is main)
    proto = message_class("SavedModel", GRAPH_SCHEMA)()
    path = os.path.join(info.path, PBTXT_FILE if info.format == "pbtxt" else PB_FILE)
    try:
        with open(path, "rb") as file:
            data = file.read()
        if info.format == "pbtxt":
            from ._text_proto import parse_text

            parse_text(data.decode("utf-8"), proto)
        else:
            proto.ParseFromString(data)
        return proto.meta_graphs[index].graph_def
    except (OSError, DecodeError, ValueError, IndexError) as error:
        raise CorruptSavedModelError(
            f"{path} cannot be read again for the runtime check ({error}); it changed since "
            "it was read. Read the model again."
        ) from error


def runtime_findings(info: SavedModelInfo, runtime: Runtime) -> Iterator[Finding]:
    """The errors of loading the serving graph of ``info`` in ``runtime``: ops it does not
    register, attributes it does not know, and ops no TensorFlow has."""
    if info.main_meta_graph is None:
        return
    for found in graph_incompatibilities(serving_graph(info), runtime.release):
        yield Finding(
            level="error",
            code=RUNTIME_CODES[found.kind],
            message=_message(found, runtime),
            fix=_fix(found, runtime),
        )


def runtime_not_chosen() -> Finding:
    """The warning of an EAS check made without a runtime."""
    processors = [r for r in runtimes() if r.server == "eas" and not r.gpu]
    newest = max(processors, key=lambda r: r.key)
    example = next(r for r in processors if r.release == "1.15")
    return Finding(
        level="warning",
        code="runtime-not-chosen",
        message=(
            f"EAS's TensorFlow processors run TensorFlow {newest.release} or older "
            f"({', '.join(r.name.split(':')[1] for r in sorted(processors, key=_key))}; "
            f"{EAS_DOCUMENTATION}), and this check did not compare the model's ops and "
            f"attributes with one of them: a model written by TensorFlow "
            f"{installed_release()} is usually refused there."
        ),
        fix=(
            f"Check for the processor you deploy to: check(..., runtime={example.name!r}), "
            f"or --runtime {example.name} on the command line; "
            "savedmodel_widgets.runtimes() lists them."
        ),
    )


def _key(runtime: Runtime) -> tuple[int, ...]:
    return runtime.key


def _nodes(found: Incompatibility) -> str:
    named = ", ".join(repr(node) for node in found.nodes)
    more = found.count - len(found.nodes)
    return f"{named} and {more:,} more" if more else named


def _message(found: Incompatibility, runtime: Runtime) -> str:
    where = f"TensorFlow {runtime.release} ({runtime.name})"
    if found.kind == "custom-op":
        return (
            f"Op {found.op} ({count_text(found.count, 'node')}: {_nodes(found)}) is in no "
            "TensorFlow release: it comes from a custom op library or runs Python code "
            "(PyFunc, EagerPyFunc), which no TensorFlow server has, so loading fails with "
            f"\"Op type not registered '{found.op}'\"."
        )
    if found.kind == "op" and op_registry().has_op(found.op, runtime.release):
        return (
            f"Op {found.op} ({count_text(found.count, 'node')}: {_nodes(found)}) has no CPU "
            f"kernel in {where}, though other releases have one: loading fails with \"No "
            f"OpKernel was registered to support Op '{found.op}'\". {_known_since(found)}"
        )
    if found.kind == "op":
        return (
            f"Op {found.op} ({count_text(found.count, 'node')}: {_nodes(found)}) is not "
            f"registered in {where}: loading fails with \"Op type not registered "
            f"'{found.op}'\". {_known_since(found)}"
        )
    return (
        f"{count_text(found.count, found.op + ' node')} ({_nodes(found)}) "
        f"{'sets' if found.count == 1 else 'set'} the attribute {found.attr!r}, which "
        f"{found.op} does not have in {where}: loading fails with \"NodeDef mentions attr "
        f"'{found.attr}' not in Op<name={found.op}...>\". {_known_since(found)}"
    )


def _known_since(found: Incompatibility) -> str:
    what = f"{found.op}.{found.attr}" if found.attr else found.op
    registry = op_registry()
    releases = [release for release in registry.releases if _has_it(found, release)]
    if not releases:
        return f"No TensorFlow release knows {what}."
    if releases[-1] != registry.releases[-1]:
        return f"TensorFlow {releases[0]} to {releases[-1]} {_have(found)} {what}."
    return f"TensorFlow {releases[0]} and newer {_have(found)} {what}."


def _has_it(found: Incompatibility, release: str) -> bool:
    """True when ``release`` loads what ``found`` names: the attribute, or runs the op."""
    registry = op_registry()
    if found.attr:
        return registry.has_attr(found.op, found.attr, release)
    return registry.has_kernel(found.op, release)


def _have(found: Incompatibility) -> str:
    return "know" if found.attr else "run"


def _fix(found: Incompatibility, runtime: Runtime) -> str:
    if found.kind == "custom-op":
        return (
            "Rewrite the model without tf.py_function / tf.numpy_function (or the custom "
            f"op), or serve it with a server built with the library that defines {found.op}."
        )
    steps = []
    if found.kind == "attr" and found.default_valued:
        steps.append(
            f"every such node holds {found.attr}'s default, so an export with "
            "strip_default_attrs=True (the TF1 builder's add_meta_graph_and_variables) drops it"
        )
    if not runtime.is_installed:
        steps.append(
            f"export with savedmodel_widgets for this runtime (runtime={runtime.name!r}), "
            "which writes a graph it loads where the model allows"
        )
    alternative = _runtime_that_has_it(found, runtime)
    if alternative is not None:
        newer = " or newer" if alternative.key > runtime.key else ""
        steps.append(f"choose {alternative.name!r}{newer}, whose TensorFlow "
                     f"{alternative.release} has it")
    if not steps:
        return f"No runtime of this kind has {found.op}; build the model without it."
    text = "; or ".join(steps)
    return f"{text[0].upper()}{text[1:]}."


def _runtime_that_has_it(found: Incompatibility, runtime: Runtime) -> Runtime | None:
    """The oldest runtime of the same server kind newer than ``runtime`` whose TensorFlow
    has the op (and attribute), else the newest older one that has it."""
    covered = op_registry().releases
    having = sorted(
        (r for r in runtimes() if r.server == runtime.server and r.gpu == runtime.gpu
         and r.release in covered and _has_it(found, r.release)),
        key=_key,
    )
    newer = [r for r in having if r.key > runtime.key]
    if newer:
        return newer[0]
    return having[-1] if having else None
