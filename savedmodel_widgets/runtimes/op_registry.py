"""Which ops and attributes each TensorFlow release registers, without TensorFlow.

The data (``op_registry.json.gz`` beside this module) holds, for every release in
:data:`~savedmodel_widgets.runtimes.catalogue.RELEASES`, the ``OpList`` that the release's
own library returns from ``TF_GetAllOpList()``, read from its published wheel by
``tools/extract_op_registry.py``: each op with the releases that register it, and each of
its attributes with the releases that know it and its default value, and the releases
whose library has a CPU kernel for the op (``TF_GetAllRegisteredKernels()``). Ops come and
go (2.21 still registers ``BoostedTreesBucketize`` but has no kernel for it any more), so
releases are stored as sets (bit masks over the release list), not as a first release.

:func:`find_incompatibilities` says what in a ``GraphDef`` a release cannot load: ops it
does not register, and attributes present on a node that its op definition lacks.
TensorFlow's loader refuses both (``Op type not registered 'DisableCopyOnRead'``,
``NodeDef mentions attr 'debug_name' not in Op<name=VarHandleOp ...>``), whatever the
attribute's value; an op whose kernel the release dropped fails too ("No OpKernel was
registered to support Op").

Default values are kept in a compact JSON form of ``AttrValue`` (see
:func:`compact_attr_value`), enough to tell whether a node holds an attribute's default.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from ..savedmodel._schema import DATA_TYPE_ENUM, TENSOR_SHAPE, graph_messages, message_class

__all__ = [
    "ALL_RELEASES",
    "DROPS_UNKNOWN_ATTRS_FROM",
    "DATA_FILE",
    "GRAPH_SCHEMA",
    "Incompatibility",
    "IncompatibilityKind",
    "OpRegistry",
    "PYTHON_OPS",
    "SAVED_MODEL_GRAPHS",
    "Tally",
    "compact_attr_value",
    "find_incompatibilities",
    "graph_incompatibilities",
    "incompatibilities",
    "op_registry",
    "tally",
]

DROPS_UNKNOWN_ATTRS_FROM = "2.5"
"""The first release whose loader drops a node attribute its op does not define instead of
refusing the graph. Measured by loading one SavedModel (TF 2.21's ``simple_save``, whose
nodes set ``debug_name``, ``allowed_devices``, ``grad_a`` and others) in every release's
own C API here: 1.12 to 2.4 refuse it with ``NodeDef mentions attr ... not in Op``; 2.5,
2.6 and 2.7 load it. An op a release does not register is refused by every release."""

DATA_FILE = "op_registry.json.gz"
"""The package data file, in this package."""

IncompatibilityKind = Literal["op", "attr", "custom-op"]

PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
"""Ops that every release registers but that call a Python function of the process that
built the graph (``tf.py_function``, ``tf.numpy_function``): no server has that function,
so they count as custom ops."""

EXAMPLE_NODES = 3
"""How many node names an :class:`Incompatibility` keeps."""

SAVED_MODEL_GRAPHS = """
message MetaGraphDef {
  GraphDef graph_def = 2;
}

message SavedModel {
  repeated MetaGraphDef meta_graphs = 2;
}
"""
"""A SavedModel's meta graphs down to their graphs, in the schema syntax (the schema
declares ``GraphDef``)."""

GRAPH_SCHEMA = DATA_TYPE_ENUM + TENSOR_SHAPE + """
message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  bytes tensor_content = 4;
  repeated float float_val = 5;
  repeated double double_val = 6;
  repeated int32 int_val = 7;
  repeated bytes string_val = 8;
  repeated int64 int64_val = 10;
  repeated bool bool_val = 11;
}

message NameAttrList {
  string name = 1;
}

message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3;
    repeated float f = 4;
    repeated bool b = 5;
    repeated DataType type = 6;
    repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
    repeated NameAttrList func = 9;
  }
  oneof value {
    bytes s = 2;
    int64 i = 3;
    float f = 4;
    bool b = 5;
    DataType type = 6;
    TensorShapeProto shape = 7;
    TensorProto tensor = 8;
    ListValue list = 1;
    NameAttrList func = 10;
    string placeholder = 9;
  }
}

message NodeDef {
  string name = 1;
  string op = 2;
  map<string, AttrValue> attr = 5;
}

message OpDef {
  message AttrDef {
    string name = 1;
    AttrValue default_value = 3;
  }
  string name = 1;
  repeated AttrDef attr = 4;
}

message OpList {
  repeated OpDef op = 1;
}
""" + graph_messages("NodeDef") + SAVED_MODEL_GRAPHS
"""The messages the runtime check reads: the reader's subset plus every node's ``attr``
and the ``OpList`` of a release, compiled into a pool of their own so that plain reading
(which skips ``attr``) stays as fast as it is."""


def compact_attr_value(value: Any) -> Any:
    """An ``AttrValue`` message as compact JSON data, equal for equal values.

    Parameters
    ----------
    value : AttrValue message
        From :data:`GRAPH_SCHEMA` (or TensorFlow's own ``attr_value_pb2``).

    Returns
    -------
    dict
        One key, the kind of value: ``{"s": "NHWC"}``, ``{"i": 1}``, ``{"f": 0.5}``,
        ``{"b": False}``, ``{"type": 1}`` (a ``DataType`` number), ``{"shape": [2, -1]}``
        (``None`` for unknown rank), ``{"list": {"i": [1, 1, 1, 1]}}`` (only the kinds
        present; ``{}`` for an empty list), ``{"func": "name"}``,
        ``{"placeholder": "T"}``, ``{"tensor": "<hex of the tensor's bytes>"}``, or
        ``{}`` for a value that is not set.
    """
    kind = value.WhichOneof("value")
    if kind is None:
        return {}
    if kind == "list":
        listed = value.list
        return {"list": {name: [_compact_scalar(name, item) for item in items]
                         for name in ("s", "i", "f", "b", "type", "shape", "tensor", "func")
                         if (items := getattr(listed, name))}}
    return {kind: _compact_scalar(kind, getattr(value, kind))}


def _compact_scalar(kind: str, item: Any) -> Any:
    if kind == "s":
        return item.decode("utf-8", "backslashreplace")
    if kind == "shape":
        return None if item.unknown_rank else [dim.size for dim in item.dim]
    if kind == "tensor":
        return item.SerializeToString(deterministic=True).hex()
    if kind == "func":
        return item.name
    return item


@dataclass(frozen=True)
class Incompatibility:
    """Something in a graph that a TensorFlow release cannot load.

    Attributes
    ----------
    kind : {"op", "attr", "custom-op"}
        ``op``: the release does not register the op; ``attr``: a node sets an attribute
        that the release's definition of its op lacks; ``custom-op``: no release
        registers the op (a custom op's library, ``PyFunc``, ``EagerPyFunc``): no stock
        TensorFlow server has it.
    op : str
        The op type.
    attr : str
        The attribute's name (``""`` for ``op`` and ``custom-op``).
    nodes : tuple of str
        Up to three nodes that use it (``function_name/node`` inside functions).
    count : int
        How many nodes use it.
    first_release : str or None
        The oldest release that knows the op (or the op's attribute); ``None`` when none
        does.
    default_valued : bool
        For ``attr``: every such node holds the attribute's default value, so exporting
        with ``strip_default_attrs=True`` removes it. False otherwise.
    """

    kind: IncompatibilityKind
    op: str
    attr: str
    nodes: tuple[str, ...]
    count: int
    first_release: str | None
    default_valued: bool = False


ALL_RELEASES = -1
"""A mask with every release's bit set: ``attr_names(op, ALL_RELEASES)`` is every
attribute some release's ``op`` has."""


class OpRegistry:
    """The ops and attributes of every TensorFlow release (see :func:`op_registry`).

    Parameters
    ----------
    data : dict
        The decoded package data: ``releases``, ``sources`` and ``ops``, where
        ``ops[name] = [mask, {attr: [[mask, default?], ...]}]`` and bit ``i`` of a mask
        stands for ``releases[i]``.

    Attributes
    ----------
    releases : tuple of str
        The releases covered, oldest first (``"1.12"`` ... ``"2.21"``).
    sources : dict
        For each release, the wheel its registry was read from and the version that
        its library reported.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.releases: tuple[str, ...] = tuple(data["releases"])
        self.sources: dict[str, dict[str, str]] = dict(data["sources"])
        self._ops: dict[str, list[Any]] = data["ops"]
        self._kernel_releases: int = data.get("kernel_releases", 0)
        self._bits = {release: 1 << index for index, release in enumerate(self.releases)}
        self._known_attrs: dict[tuple[str, int], frozenset[str]] = {}

    def bit(self, release: str) -> int:
        """The mask bit of ``release`` (``"1.15"`` or ``"1.15.0"``).

        Raises
        ------
        ValueError
            For a release the registry does not cover; the message lists those it does.
        """
        short = ".".join(str(release).split(".")[:2])
        if short not in self._bits:
            raise ValueError(
                f"The op registry has no TensorFlow release {release!r}; it covers "
                f"{', '.join(self.releases)}."
            )
        return self._bits[short]

    def _releases_of(self, mask: int) -> tuple[str, ...]:
        return tuple(release for release, bit in self._bits.items() if mask & bit)

    def ops(self) -> tuple[str, ...]:
        """Every op that some release registers, sorted by name."""
        return tuple(self._ops)

    def has_op(self, op: str, release: str) -> bool:
        """True when ``release`` registers ``op``."""
        entry = self._ops.get(op)
        return entry is not None and bool(entry[0] & self.bit(release))

    def op_releases(self, op: str) -> tuple[str, ...]:
        """The releases that register ``op``, oldest first (empty for a custom op)."""
        entry = self._ops.get(op)
        return self._releases_of(entry[0]) if entry else ()

    def first_release(self, op: str) -> str | None:
        """The oldest release that registers ``op``, or ``None``."""
        return next(iter(self.op_releases(op)), None)

    def attrs(self, op: str, release: str) -> frozenset[str]:
        """The attributes that ``release``'s definition of ``op`` has (empty when the
        release does not register it)."""
        return self.attr_names(op, self.bit(release))

    def attr_names(self, op: str, bit: int) -> frozenset[str]:
        """:meth:`attrs` for a release given by its mask bit (see :meth:`bit`)."""
        known = self._known_attrs.get((op, bit))
        if known is None:
            entry = self._ops.get(op)
            known = frozenset() if entry is None or not entry[0] & bit else frozenset(
                name for name, forms in entry[1].items() if any(form[0] & bit for form in forms))
            self._known_attrs[op, bit] = known
        return known

    def has_kernel(self, op: str, release: str) -> bool:
        """True when ``release`` can run ``op`` on a CPU: it registers the op and, where
        some release has a CPU kernel for it, has one too (``BoostedTreesBucketize`` is
        registered in 2.21 but its kernel is gone: the loader fails with "No OpKernel was
        registered to support Op"). Ops that no release has a CPU kernel for (functions,
        ops a graph rewrite replaces) count as runnable wherever registered."""
        return self.runs_op(op, self.bit(release))

    def runs_op(self, op: str, bit: int) -> bool:
        """:meth:`has_kernel` for a release given by its mask bit (see :meth:`bit`)."""
        entry = self._ops.get(op)
        if entry is None or not entry[0] & bit:
            return False
        kernels = entry[2]
        return not (kernels and self._kernel_releases & bit) or bool(kernels & bit)

    def has_attr(self, op: str, attr: str, release: str) -> bool:
        """True when ``release``'s definition of ``op`` has the attribute ``attr``."""
        return attr in self.attrs(op, release)

    def attr_releases(self, op: str, attr: str) -> tuple[str, ...]:
        """The releases whose definition of ``op`` has ``attr``, oldest first."""
        forms = self._attr_forms(op, attr)
        mask = 0
        for form in forms:
            mask |= form[0]
        return self._releases_of(mask)

    def attr_first_release(self, op: str, attr: str) -> str | None:
        """The oldest release whose definition of ``op`` has ``attr``, or ``None``."""
        return next(iter(self.attr_releases(op, attr)), None)

    def attr_default(self, op: str, attr: str, release: str | None = None) -> Any:
        """The default of ``op``'s attribute ``attr`` in compact form (see
        :func:`compact_attr_value`), or ``None`` when it has none.

        ``release`` picks the release whose definition is asked; by default the newest
        release that has the attribute (the definition an export made today strips
        against).
        """
        forms = self._attr_forms(op, attr)
        if release is not None:
            bit = self.bit(release)
            forms = [form for form in forms if form[0] & bit]
        newest = max(forms, key=lambda form: form[0].bit_length(), default=None)
        return newest[1] if newest is not None and len(newest) > 1 else None

    def _attr_forms(self, op: str, attr: str) -> list[list[Any]]:
        entry = self._ops.get(op)
        return entry[1].get(attr, []) if entry else []


@functools.cache
def op_registry() -> OpRegistry:
    """The registry of every release in the package data (read once, then cached).

    Examples
    --------
    >>> op_registry().first_release("Einsum")
    '1.15'
    >>> op_registry().has_attr("MatMul", "grad_a", "1.15")
    False
    """
    data = resources.files(__package__).joinpath(DATA_FILE).read_bytes()
    return OpRegistry(json.loads(gzip.decompress(data)))


def find_incompatibilities(graph_def: bytes, release: str) -> list[Incompatibility]:
    """What in a serialized ``GraphDef`` the TensorFlow ``release`` cannot load.

    Parameters
    ----------
    graph_def : bytes
        A serialized TensorFlow ``GraphDef``: its nodes and its function library.
    release : str
        A release of the registry, major.minor (``"1.15"``).

    Returns
    -------
    list of Incompatibility
        Custom ops first, then ops the release lacks, then attributes it does not
        know, each sorted by op and attribute; empty when the release loads every node.
        An op named after a function of the library is a call of it, and fine;
        attributes whose names start with ``_`` are internal and ignored, as the
        loader ignores them.

    Raises
    ------
    ValueError
        For a release the registry does not cover.
    """
    graph = message_class("GraphDef", GRAPH_SCHEMA).FromString(graph_def)
    return graph_incompatibilities(graph, release)


def graph_incompatibilities(graph: Any, release: str) -> list[Incompatibility]:
    """:func:`find_incompatibilities` for a parsed ``GraphDef`` of :data:`GRAPH_SCHEMA`."""
    registry = op_registry()
    bit = registry.bit(release)
    library = graph.library.function
    functions = {function.signature.name for function in library}
    findings: dict[tuple[str, str], Tally] = {}
    scopes: list[tuple[str, Iterable[Any]]] = [("", graph.node)]
    scopes += [(f"{function.signature.name}/", function.node_def) for function in library]
    known_attrs: dict[str, frozenset[str] | None] = {}
    for prefix, nodes in scopes:
        for node in nodes:
            op = node.op
            if op in known_attrs:
                known = known_attrs[op]
            elif op in functions:  # a call of a function of the library
                continue
            else:
                runs = op not in PYTHON_OPS and registry.runs_op(op, bit)
                known = known_attrs[op] = registry.attr_names(op, bit) if runs else None
            if known is None:
                tally(findings, op, "").add(prefix + node.name, None)
                continue
            attrs = node.attr
            for name in attrs:
                if name not in known and name[0] != "_":
                    value = attrs[name].SerializeToString(deterministic=True)
                    tally(findings, op, name).add(prefix + node.name, value)
    return incompatibilities(findings)


class Tally:
    """The nodes found using one op or attribute: how many, the first few, and the
    distinct serialized values of the attribute they hold."""

    __slots__ = ("count", "nodes", "values")

    def __init__(self) -> None:
        self.count = 0
        self.nodes: list[str] = []
        self.values: set[bytes] = set()

    def add(self, node: str, value: bytes | None) -> None:
        """Count ``node``, whose attribute holds the serialized ``AttrValue`` ``value``
        (``None`` for an op)."""
        self.count += 1
        if len(self.nodes) < EXAMPLE_NODES:
            self.nodes.append(node)
        if value is not None:
            self.values.add(value)

    def result(self, registry: OpRegistry, op: str, attr: str) -> Incompatibility:
        """The finding for ``op`` (and ``attr``, unless empty)."""
        if not attr:
            first = None if op in PYTHON_OPS else registry.first_release(op)
            kind: IncompatibilityKind = "op" if first else "custom-op"
            return Incompatibility(kind, op, "", tuple(self.nodes), self.count, first)
        default = registry.attr_default(op, attr)
        parse = message_class("AttrValue", GRAPH_SCHEMA).FromString
        default_valued = default is not None and all(
            compact_attr_value(parse(value)) == default for value in self.values)
        return Incompatibility("attr", op, attr, tuple(self.nodes), self.count,
                               registry.attr_first_release(op, attr), default_valued)


def tally(findings: dict[tuple[str, str], Tally], op: str, attr: str) -> Tally:
    """The tally of ``op`` and ``attr`` (``""`` for the op itself), new if need be."""
    found = findings.get((op, attr))
    if found is None:
        found = findings[op, attr] = Tally()
    return found


def incompatibilities(findings: dict[tuple[str, str], Tally]) -> list[Incompatibility]:
    """The tallies as findings: custom ops, then missing ops, then attributes, each by name."""
    registry = op_registry()
    return sorted((found.result(registry, op, attr) for (op, attr), found in findings.items()),
                  key=_order)


_KIND_ORDER = {"custom-op": 0, "op": 1, "attr": 2}


def _order(found: Incompatibility) -> tuple[int, str, str]:
    return (_KIND_ORDER[found.kind], found.op, found.attr)
