"""The runtime check's fast path: what a release cannot load, found in the serialized graph.

Parsing a 20,000-node graph into messages and touching every node from Python costs more
than the 50 ms the runtime check may add. Two steps avoid most of it:

1. :func:`suspects`: from the graph's op types (which the reader has already counted) and
   the registry, the ops a release does not run and the attributes it lacks that some
   release's definition of the op has; each such attribute only if its encoded name occurs
   in the file at all. Usually nothing is left, and nothing is parsed.
2. :func:`scan_incompatibilities`: otherwise the meta graph is parsed with its nodes kept
   as bytes, each node's op is read from the start of its bytes (``name``, field 1, then
   ``op``, field 2, as every protobuf writer orders them; a node laid out otherwise is
   parsed as a message), and only the suspect nodes are searched for the attributes.

An attribute that no release knows is not a suspect: only a graph written by a TensorFlow
newer than the registry, or by hand, sets one, and the caller checks such graphs with
:func:`~savedmodel_widgets.runtimes.op_registry.graph_incompatibilities`, which looks at
every attribute of every node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..savedmodel._schema import graph_messages, message_class
from .op_registry import (
    ALL_RELEASES,
    EXAMPLE_NODES,
    GRAPH_SCHEMA,
    PYTHON_OPS,
    SAVED_MODEL_GRAPHS,
    Incompatibility,
    Tally,
    incompatibilities,
    op_registry,
    tally,
)

__all__ = ["SCAN_SCHEMA", "scan_incompatibilities", "suspects"]

SCAN_SCHEMA = """
message OpDef {
  string name = 1;
}
""" + graph_messages("bytes") + SAVED_MODEL_GRAPHS
"""A SavedModel whose graph nodes stay serialized ``NodeDef`` bytes."""

_NAME_TAG, _OP_TAG, _VALUE_TAG, _ATTR_TAG = 0x0A, 0x12, 0x12, 0x2A


def suspects(ops: Iterable[str], data: bytes, release: str) -> dict[str, tuple[str, ...]]:
    """Which ops of a graph need a look at their nodes for ``release``, found without
    parsing the graph.

    Parameters
    ----------
    ops : iterable of str
        Every op type of the graph and its functions.
    data : bytes
        The serialized graph, or a message that holds it (a ``SavedModel``).
    release : str
        A release of the registry.

    Returns
    -------
    dict
        ``op -> ()`` for an op that ``release`` does not run (or a function's name),
        ``op -> attribute names`` for the attributes that some release's ``op`` has,
        this one's lacks, and whose encoded name occurs in ``data``; empty when nothing
        needs a look.
    """
    registry = op_registry()
    bit = registry.bit(release)
    found: dict[str, tuple[str, ...]] = {}
    for op in ops:
        if op in PYTHON_OPS or not registry.runs_op(op, bit):
            found[op] = ()
            continue
        missing = registry.attr_names(op, ALL_RELEASES) - registry.attr_names(op, bit)
        keys = tuple(sorted(name for name in missing if _key_bytes(name) in data))
        if keys:
            found[op] = keys
    return found


def scan_incompatibilities(
    saved_model: bytes, meta_graph: int, release: str, only: dict[str, tuple[str, ...]]
) -> list[Incompatibility]:
    """The incompatibilities of the suspect nodes of one meta graph of a SavedModel.

    Parameters
    ----------
    saved_model : bytes
        The ``saved_model.pb`` file's bytes.
    meta_graph : int
        The index of the meta graph to check.
    release : str
        A release of the registry.
    only : dict
        What :func:`suspects` returned for the graph.

    Returns
    -------
    list of Incompatibility
        As :func:`~savedmodel_widgets.runtimes.op_registry.find_incompatibilities`.
    """
    proto = message_class("SavedModel", SCAN_SCHEMA).FromString(saved_model)
    graph = proto.meta_graphs[meta_graph].graph_def
    library = graph.library.function
    functions = {function.signature.name for function in library}
    wanted = {op.encode(): op for op in only if op not in functions}
    keys = {op: [(attr, _key_bytes(attr)) for attr in attrs] for op, attrs in only.items()}
    scopes: list[tuple[str, Iterable[bytes]]] = [("", graph.node)]
    scopes += [(f"{function.signature.name}/", function.node_def) for function in library]
    hits: dict[tuple[str, str], list[tuple[str, bytes, bytes | None]]] = {}
    for prefix, nodes in scopes:
        # The op of each node, read in place where the node starts with a short name
        # (tag, length < 128, name, then the op's tag): nearly always; else parsed.
        picked = [
            (node, op) for node in nodes
            if (op := wanted.get(
                node[node[1] + 4:node[1] + 4 + node[node[1] + 3]]
                if node[0] == _NAME_TAG and node[1] < 0x80 and len(node) > node[1] + 3
                and node[node[1] + 2] == _OP_TAG
                else _parsed(node).op.encode()))
        ]
        for node, op in picked:
            if not keys[op]:
                hits.setdefault((op, ""), []).append((prefix, node, None))
            for attr, key in keys[op]:
                value = _attr_value(node, key)
                if value is not None:
                    hits.setdefault((op, attr), []).append((prefix, node, value))
    findings: dict[tuple[str, str], Tally] = {}
    for (op, attr), found in hits.items():
        counted = tally(findings, op, attr)
        counted.count = len(found)
        counted.nodes = [prefix + _name(node) for prefix, node, _ in found[:EXAMPLE_NODES]]
        counted.values = {value for _, _, value in found if value is not None}
    return incompatibilities(findings)


def _key_bytes(name: str) -> bytes:
    """A map entry's key as encoded: field 1 (tag 0x0a), its length, its bytes."""
    encoded = name.encode()
    return bytes([_NAME_TAG, len(encoded)]) + encoded


def _name(node: bytes) -> str:
    if node[0] == _NAME_TAG and node[1] < 0x80:
        return node[2:2 + node[1]].decode("utf-8", "replace")
    return str(_parsed(node).name)


def _parsed(node: bytes) -> Any:
    return message_class("NodeDef", GRAPH_SCHEMA).FromString(node)


def _attr_value(node: bytes, key: bytes) -> bytes | None:
    """The serialized ``AttrValue`` of the attribute whose encoded key is ``key``, or
    ``None`` when the node does not set it.

    The key is searched for after the node's name (which is field 1 too) and must sit at
    the start of an ``attr`` map entry (tag 0x2a, then the entry's length).
    """
    at = node.find(key, 2)
    while at != -1:
        # The entry's tag and a one-byte length just before the key (nearly always).
        end = at + node[at - 1] if node[at - 2] == _ATTR_TAG and node[at - 1] < 0x80 \
            else _entry_end(node, at)
        if end is not None:
            after = at + len(key)
            if after + 1 >= min(end, len(node)) or node[after] != _VALUE_TAG:
                return b""  # an entry without a value: an empty AttrValue
            if node[after + 1] < 0x80:
                return node[after + 2:after + 2 + node[after + 1]]
            length, start = _varint(node, after + 1)
            return node[start:start + length]
        at = node.find(key, at + 1)
    return None


def _entry_end(node: bytes, key_at: int) -> int | None:
    """Where the ``attr`` entry ends if the key at ``key_at`` begins one, else ``None``."""
    for width in (2, 3):
        tag_at = key_at - width - 1
        if tag_at < 0 or node[tag_at] != _ATTR_TAG:
            continue
        varint = node[tag_at + 1:key_at]
        if varint[-1] < 0x80 and all(byte >= 0x80 for byte in varint[:-1]):
            length, start = _varint(node, tag_at + 1)
            return start + length
    return None


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """The varint at ``at``, and where the bytes after it start."""
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7
