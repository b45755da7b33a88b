"""The runtime check: does the TensorFlow a server runs register every op and attribute?

TensorFlow's loader refuses a graph with an op its release does not register (``Op type
not registered 'DisableCopyOnRead'``). Up to TensorFlow 2.4 it also refuses a node
attribute its op definition lacks (``NodeDef mentions attr 'debug_name' not in
Op<name=VarHandleOp ...>``), whatever the attribute's value (``ValidateNodeDef``,
tensorflow/core/framework/node_def_util.cc, run by the loader's graph import); from 2.5 on
it drops such an attribute and loads the graph (measured in each release's own library:
:data:`~savedmodel_widgets.runtimes.op_registry.DROPS_UNKNOWN_ATTRS_FROM`), so there an
attribute that holds its default is harmless and one that does not is a warning: the node
runs as that release defines its op. The op registry of each release
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
    release_key,
    runtimes,
)
from ..runtimes.graph_scan import scan_incompatibilities, suspects
from ..runtimes.op_registry import (
    DROPS_UNKNOWN_ATTRS_FROM,
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
           "runtime_that_has_it", "serving_graph"]

RUNTIME_CODES = {"op": "op-not-in-runtime", "attr": "attr-not-in-runtime",
                 "custom-op": "custom-op"}
"""The finding code of each kind of :class:`Incompatibility`."""


def on_runtime(runtime: str | Runtime | None) -> str:
    """`` on eas:tensorflow_cpu_1.15 (TensorFlow 1.15)`` (or `` on the installed TensorFlow
    (2.21)``) for a heading, or ``""``."""
    if not runtime:
        return ""
    chosen = get_runtime(runtime)
    if chosen.is_installed:
        return f" on the installed TensorFlow ({chosen.release})"
    return f" on {chosen.name} (TensorFlow {chosen.release})"


def serving_graph(info: SavedModelInfo, data: bytes) -> Any:
    """The ``GraphDef`` (of :data:`GRAPH_SCHEMA`, attributes included) of the meta graph a
    server loads, :attr:`SavedModelInfo.main_meta_graph`, parsed from ``data``, the model
    file's bytes.

    Raises
    ------
    CorruptSavedModelError
        When the file can no longer be parsed (changed since it was read).
    """
    from google.protobuf.message import DecodeError

    proto = message_class("SavedModel", GRAPH_SCHEMA)()
    try:
        if info.format == "pbtxt":
            from ._text_proto import parse_text

            parse_text(data.decode("utf-8"), proto)
        else:
            proto.ParseFromString(data)
        return proto.meta_graphs[_main_index(info)].graph_def
    except (DecodeError, ValueError, IndexError) as error:
        raise _changed(_model_file(info), error) from error


def runtime_findings(info: SavedModelInfo, runtime: Runtime) -> Iterator[Finding]:
    """The errors of loading the serving graph of ``info`` in ``runtime``: ops it does not
    register, attributes it does not know, and ops no TensorFlow has.

    A binary graph written by a release the registry covers is first searched for what
    could be incompatible, without parsing (:func:`suspects`); only if something is found
    are the suspect nodes looked at (:func:`scan_incompatibilities`). Any other graph is
    parsed and every attribute of every node looked at."""
    main = info.main_meta_graph
    if main is None:
        return
    from google.protobuf.message import DecodeError

    data = _read(_model_file(info))
    if info.format == "pb" and _registry_knows_writer(main.tensorflow_version):
        only = suspects((op for op, _ in main.op_counts), data, runtime.release)
        try:
            found = scan_incompatibilities(data, _main_index(info), runtime.release, only) \
                if only else []
        except (DecodeError, IndexError) as error:
            raise _changed(_model_file(info), error) from error
    else:
        found = graph_incompatibilities(serving_graph(info, data), runtime.release)
    drops_attrs = runtime.key >= release_key(DROPS_UNKNOWN_ATTRS_FROM)
    for each in found:
        if each.kind == "attr" and drops_attrs:
            if not each.default_valued:
                yield _dropped_attr(each, runtime)
            continue
        yield Finding(
            level="error",
            code=RUNTIME_CODES[each.kind],
            message=_message(each, runtime),
            fix=_fix(each, runtime),
        )


def _dropped_attr(found: Incompatibility, runtime: Runtime) -> Finding:
    """The warning for an attribute a release from 2.5 on drops when it loads the graph."""
    return Finding(
        level="warning",
        code="attr-dropped-by-runtime",
        message=(
            f"{count_text(found.count, found.op + ' node')} ({_nodes(found)}) "
            f"{'sets' if found.count == 1 else 'set'} the attribute {found.attr!r} to a "
            f"value other than its default, and {found.op} has no such attribute in "
            f"TensorFlow {runtime.release} ({runtime.name}), which drops it when it loads "
            f"the graph: the node runs as that release defines {found.op}. "
            f"{_known_since(found)}"
        ),
        fix=_fix(found, runtime),
    )


def _main_index(info: SavedModelInfo) -> int:
    main = info.main_meta_graph
    return next(i for i, meta_graph in enumerate(info.meta_graphs) if meta_graph is main)


def _registry_knows_writer(version: str) -> bool:
    """True when the TensorFlow ``version`` that wrote a graph is no newer than the newest
    release of the registry (so every attribute it wrote is one some release knows)."""
    try:
        return release_key(version) <= release_key(op_registry().releases[-1])
    except ValueError:
        return False


def _model_file(info: SavedModelInfo) -> str:
    return os.path.join(info.path, PBTXT_FILE if info.format == "pbtxt" else PB_FILE)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise _changed(path, error) from error


def _changed(path: str, error: Exception) -> CorruptSavedModelError:
    return CorruptSavedModelError(
        f"{path} cannot be read again for the runtime check ({error}); it changed since "
        "it was read. Read the model again."
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
    if runtime.is_older_than(installed_release()):
        steps.append(
            f"export with savedmodel_widgets for this runtime (runtime={runtime.name!r}), "
            "which writes a graph it loads where the model allows"
        )
    alternative = runtime_that_has_it(found, runtime)
    if alternative is not None:
        than = "newer" if alternative.key > runtime.key else "older"
        steps.append(f"choose {alternative.name!r} or {than}, whose TensorFlow "
                     f"{alternative.release} has it")
    if not steps:
        return f"No runtime of this kind has {found.op}; build the model without it."
    text = "; or ".join(steps)
    return f"{text[0].upper()}{text[1:]}."


def runtime_that_has_it(found: Incompatibility, runtime: Runtime) -> Runtime | None:
    """The oldest runtime of the same server kind (a TensorFlow release for the installed
    one) newer than ``runtime`` whose TensorFlow has the op (and attribute), else the
    newest older one that has it."""
    covered = op_registry().releases
    server = "tf" if runtime.is_installed else runtime.server
    having = sorted(
        (r for r in runtimes() if r.server == server and r.gpu == runtime.gpu
         and r.release in covered and _has_it(found, r.release)),
        key=_key,
    )
    newer = [r for r in having if r.key > runtime.key]
    if newer:
        return newer[0]
    return having[-1] if having else None
