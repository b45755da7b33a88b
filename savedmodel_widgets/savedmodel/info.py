"""Frozen dataclasses that describe a SavedModel read from disk."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import SavedModelError

if TYPE_CHECKING:
    import pandas

    from ..runtimes.catalogue import Runtime
    from .checks import CheckResult, Target

__all__ = [
    "DEFAULT_SIGNATURE",
    "PREDICT_METHOD",
    "SERVE_TAG",
    "SIGNATURE_COLUMNS",
    "format_shape",
    "FileEntry",
    "MetaGraph",
    "SavedModelInfo",
    "Shape",
    "Signature",
    "TensorInfo",
    "VariableInfo",
]

Shape = tuple[int | None, ...] | None
"""A tensor shape: one entry per dimension, ``None`` for an unknown dimension;
``None`` instead of a tuple when even the rank is unknown."""

SERVE_TAG = "serve"
PREDICT_METHOD = "tensorflow/serving/predict"
DEFAULT_SIGNATURE = "serving_default"
SIGNATURE_COLUMNS = ("signature", "method", "direction", "alias", "tensor", "dtype", "shape")
"""The columns of a signature table, in order (``tags`` goes first when there are several
meta graphs)."""


def format_shape(shape: Shape) -> str:
    """Write a shape the way a user reads it: ``(None, 28, 28)``, ``()``, ``<unknown rank>``."""
    if shape is None:
        return "<unknown rank>"
    dims = ", ".join("None" if dim is None else str(dim) for dim in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature.

    Attributes
    ----------
    alias : str
        The key a client uses (``image``, ``scores``).
    name : str
        The graph tensor behind the alias (``x:0``); for a sparse tensor the
        values tensor; empty for a composite tensor.
    dtype : str
        TensorFlow's dtype name (``float32``, ``string``, ``resource``).
    shape : Shape
        Dimensions with ``None`` where unknown; ``None`` for unknown rank.
    encoding : {"dense", "sparse", "composite"}
        How the tensor is encoded in the signature.
    composite_type : str
        For a composite tensor, its type spec (``RAGGED_TENSOR_SPEC`` or a
        registered class name); empty otherwise.
    components : tuple of str
        The graph tensors that make up a sparse or composite tensor.
    """

    alias: str
    name: str
    dtype: str
    shape: Shape
    encoding: Literal["dense", "sparse", "composite"] = "dense"
    composite_type: str = ""
    components: tuple[str, ...] = ()

    @property
    def is_sparse(self) -> bool:
        """True for a ``SparseTensor`` (COO encoding)."""
        return self.encoding == "sparse"

    @property
    def is_composite(self) -> bool:
        """True for a composite tensor (ragged tensor, extension type, ...)."""
        return self.encoding == "composite"

    @property
    def shape_text(self) -> str:
        """The shape as text, e.g. ``(None, 64)``."""
        return format_shape(self.shape)

    @property
    def tensor_text(self) -> str:
        """The graph tensors behind the alias, as text: ``x:0``, ``sparse: v:0, i:0, s:0``."""
        if self.encoding == "dense":
            return self.name
        kind = "sparse" if self.is_sparse else self.composite_type
        return f"{kind}: {', '.join(self.components)}"


@dataclass(frozen=True)
class Signature:
    """A SignatureDef: what a client names in a request, and its tensors.

    Attributes
    ----------
    name : str
        The name a client sends as ``signature_name``.
    method_name : str
        ``tensorflow/serving/predict``, ``.../classify`` or ``.../regress``.
    inputs, outputs : tuple of TensorInfo
        Sorted by alias.
    lookup_tables : tuple of str
        The static lookup tables (their op names) that the outputs are computed from,
        found by walking the graph back from the outputs; the SavedModel's init op must
        fill them before a request can be answered.
    """

    name: str
    method_name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    lookup_tables: tuple[str, ...] = ()

    @property
    def input_aliases(self) -> tuple[str, ...]:
        """The input keys a client sends."""
        return tuple(tensor.alias for tensor in self.inputs)

    @property
    def output_aliases(self) -> tuple[str, ...]:
        """The output keys a client receives."""
        return tuple(tensor.alias for tensor in self.outputs)


@dataclass(frozen=True)
class MetaGraph:
    """One MetaGraphDef of a SavedModel.

    Attributes
    ----------
    tags : tuple of str
        The tags a server loads it by (``serve``).
    tensorflow_version, tensorflow_git_version : str
        The TensorFlow that wrote it (empty when not recorded).
    signatures : tuple of Signature
        Public signatures, sorted by name; internal ones (``__saved_model_init_op``) are left out.
    op_counts : tuple of (str, int)
        Op types and how often they occur over the graph and its function
        library, most frequent first.
    has_variables : bool
        True when the loader restores variables from ``variables/``: a TF2 graph's
        object graph has variables, or a TF1 graph has variable ops. (A TF2 graph whose
        only state is an asset path has none, though its functions create variables.)
    asset_files : tuple of str
        File names the graph expects under ``assets/``.
    init_op : str
        The op a server runs once after restoring the variables, to fill lookup
        tables and the like (``legacy_init_op``; ``NoOp`` in a TF2 export); empty
        when the SavedModel has none. Found as TensorFlow's loader finds it: the
        ``__saved_model_init_op`` signature, else the ``saved_model_main_op``
        collection, else the ``legacy_init_op`` collection.
    gpu_nodes : tuple of str
        The nodes pinned to a GPU (``device: "/device:GPU:0"``), in the graph and in its
        functions (``function/node``); a server without that GPU fails to load them.
    """

    tags: tuple[str, ...]
    tensorflow_version: str
    tensorflow_git_version: str
    signatures: tuple[Signature, ...]
    op_counts: tuple[tuple[str, int], ...]
    has_variables: bool
    asset_files: tuple[str, ...] = ()
    init_op: str = ""
    gpu_nodes: tuple[str, ...] = ()

    @property
    def signature_names(self) -> tuple[str, ...]:
        """The names of the public signatures."""
        return tuple(signature.name for signature in self.signatures)

    @property
    def op_count(self) -> int:
        """The number of ops over the graph and its function library."""
        return sum(count for _, count in self.op_counts)

    def signature(self, name: str) -> Signature:
        """Return the signature called ``name``.

        Raises
        ------
        SavedModelError
            When there is none; the message lists the names that exist.
        """
        for signature in self.signatures:
            if signature.name == name:
                return signature
        known = ", ".join(repr(n) for n in self.signature_names) or "none"
        raise SavedModelError(
            f"No signature named {name!r} in the meta graph tagged {list(self.tags)}; "
            f"its signatures are: {known}."
        )


@dataclass(frozen=True)
class VariableInfo:
    """A tensor saved under ``variables/``.

    Attributes
    ----------
    name : str
        The variable's name in the model (``dense/kernel``) where the SavedModel
        records it, else the checkpoint key.
    key : str
        The checkpoint key (``variables/0/.ATTRIBUTES/VARIABLE_VALUE`` or ``dense/kernel``).
    dtype : str
        TensorFlow's dtype name.
    shape : tuple of int
        The saved tensor's shape (always fully known).
    nbytes : int
        Bytes the tensor occupies in the data files.
    """

    name: str
    key: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int


@dataclass(frozen=True)
class FileEntry:
    """A file or directory of the SavedModel, relative to its directory.

    ``size`` is in bytes; for a directory, the total of everything under it.
    """

    path: str
    size: int
    is_dir: bool

    @property
    def depth(self) -> int:
        """0 for entries at the top, 1 for their children, and so on."""
        return self.path.count("/")

    @property
    def name(self) -> str:
        """The last component of the path."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class SavedModelInfo:
    """Everything the reader found in a SavedModel directory.

    Build it with :func:`savedmodel_widgets.read_saved_model`. It renders itself
    in a notebook (tree, signature table and serving checks).

    Attributes
    ----------
    path : str
        The directory that holds ``saved_model.pb`` (absolute).
    base_path : str
        The path that was asked for: the same as ``path``, or the parent that
        holds numeric version directories (TF Serving's layout).
    version : int or None
        The version directory's number when the model sits in one.
    other_versions : tuple of int
        The other version directories beside it that hold a SavedModel.
    format : {"pb", "pbtxt"}
        Binary or text protobuf.
    schema_version : int
        ``saved_model_schema_version`` of the file.
    files : tuple of FileEntry
        The tree under ``path``, directories first at every level.
    meta_graphs : tuple of MetaGraph
        In file order.
    variables : tuple of VariableInfo
        The saved tensors, in checkpoint key order.
    variables_error : str
        Why ``variables/`` could not be read; empty when it was read (or is absent).
    versions_without_model : tuple of int
        Numeric directories beside the version that hold no SavedModel (an
        export in progress, or a broken one): TF Serving would try to load them.
    data_file_problems : tuple of str
        What is wrong with the data files ``variables.index`` points into (a shard
        missing, or shorter than the tensors it should hold); empty when all are there.
    """

    path: str
    base_path: str
    version: int | None
    other_versions: tuple[int, ...]
    format: Literal["pb", "pbtxt"]
    schema_version: int
    files: tuple[FileEntry, ...]
    meta_graphs: tuple[MetaGraph, ...]
    variables: tuple[VariableInfo, ...]
    variables_error: str = ""
    versions_without_model: tuple[int, ...] = ()
    data_file_problems: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        """Bytes of every file under ``path``."""
        return sum(entry.size for entry in self.files if entry.depth == 0)

    @property
    def variables_bytes(self) -> int:
        """Bytes of the files under ``variables/`` (0 when there is none)."""
        return next((e.size for e in self.files if e.path == "variables" and e.is_dir), 0)

    @property
    def has_variables_dir(self) -> bool:
        """True when a ``variables/`` directory exists."""
        return any(e.path == "variables" and e.is_dir for e in self.files)

    @property
    def serving_meta_graph(self) -> MetaGraph | None:
        """The meta graph a server started without a tags option loads: the one whose tag
        set is exactly ``{"serve"}`` (TensorFlow's loader matches the whole set), else
        ``None``."""
        return next((mg for mg in self.meta_graphs if set(mg.tags) == {SERVE_TAG}), None)

    @property
    def main_meta_graph(self) -> MetaGraph | None:
        """The serving meta graph, else the first one whose tags include ``serve``, else
        the first one (``None`` only without meta graphs)."""
        tagged = [mg for mg in self.meta_graphs if SERVE_TAG in mg.tags]
        return self.serving_meta_graph or next(iter(tagged or self.meta_graphs), None)

    @property
    def signatures(self) -> tuple[Signature, ...]:
        """The signatures of :attr:`main_meta_graph`."""
        meta_graph = self.main_meta_graph
        return meta_graph.signatures if meta_graph else ()

    def signature(self, name: str = DEFAULT_SIGNATURE) -> Signature:
        """Return a signature of the serving meta graph by name.

        Raises
        ------
        SavedModelError
            When there is none; the message lists the names that exist.
        """
        meta_graph = self.main_meta_graph
        if meta_graph is None:
            raise SavedModelError(f"{self.path} has no meta graph, so no signature {name!r}.")
        return meta_graph.signature(name)

    def signature_rows(self) -> list[dict[str, Any]]:
        """One dict per tensor of every signature of every meta graph.

        Keys: ``tags``, ``signature``, ``method``, ``direction`` (``input`` or
        ``output``), ``alias``, ``tensor``, ``dtype``, ``shape`` (a tuple, or
        ``None`` for unknown rank) and ``encoding``.
        """
        rows = []
        for meta_graph in self.meta_graphs:
            for signature in meta_graph.signatures:
                for direction, tensors in (
                    ("input", signature.inputs),
                    ("output", signature.outputs),
                ):
                    for tensor in tensors:
                        rows.append(
                            {
                                "tags": ",".join(meta_graph.tags),
                                "signature": signature.name,
                                "method": signature.method_name,
                                "direction": direction,
                                "alias": tensor.alias,
                                "tensor": tensor.tensor_text,
                                "dtype": tensor.dtype,
                                "shape": tensor.shape,
                                "encoding": tensor.encoding,
                            }
                        )
        return rows

    def signature_table(self) -> pandas.DataFrame:
        """The signatures as a pandas DataFrame, one row per tensor.

        Columns: signature, method, direction, alias, tensor, dtype, shape; and
        tags when the SavedModel holds more than one meta graph.
        """
        import pandas

        columns = list(SIGNATURE_COLUMNS)
        if len(self.meta_graphs) > 1:
            columns.insert(0, "tags")
        return pandas.DataFrame(self.signature_rows(), columns=columns)

    def tree(self) -> str:
        """The directory tree as text, with sizes."""
        from .text import render_tree

        return render_tree(self)

    def check(
        self, target: Target = "tfserving", runtime: str | Runtime | None = None
    ) -> list[CheckResult]:
        """Serving-readiness checks, against ``runtime`` if given; see
        :func:`savedmodel_widgets.check`."""
        from .checks import check

        return check(self, target, runtime)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of everything (shapes as lists, ``None`` for unknown)."""
        return dataclasses.asdict(self)

    def _repr_html_(self) -> str:
        from .html import render_html

        return render_html(self)
