"""TF1-style graphs and sessions: candidates, the placeholder check, export, evaluation.

The export is the reference's ``SavedModelBuilder`` flow: one
``build_signature_def`` per signature in one ``signature_def_map``, table
initializers grouped as the main op. ``simple_save`` is the same flow with a
single ``serving_default`` signature. TensorFlow records the main op in a graph
collection and refuses a second one, so the collection is set aside for the
export and put back afterwards: the same session exports again.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExportSpecError, SourceError
from ..savedmodel.graph_walk import op_name, ops_reached
from ..spec import SignatureSpec
from ._candidate import Candidate, clean_alias, shape_tuple
from ._source import Progress, Source, choices_text, quiet_tensorflow_log, suggest_aliases
from .framework_internals import session_closed

if TYPE_CHECKING:
    import numpy

__all__ = [
    "METHOD_NAMES",
    "graph_alias",
    "GraphSource",
]

METHOD_NAMES = {
    "predict": "tensorflow/serving/predict",
    "classify": "tensorflow/serving/classify",
    "regress": "tensorflow/serving/regress",
}

_METHOD_RULES = {
    "classify": {"inputs": {"inputs": "string"},
                 "outputs": {"classes": "string", "scores": "float32"}},
    "regress": {"inputs": {"inputs": "string"}, "outputs": {"outputs": "float32"}},
}
"""The keys and dtypes TF Serving's Classify and Regress APIs require (serialized
``tf.Example`` protos in, classes and scores or regression values out)."""

_INPUT_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})
_PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2"})
"""Inputs without a default: an output that depends on one cannot run unless it is fed."""
_SKIPPED_OPS = frozenset(
    {
        "Const", "NoOp", "VariableV2", "Variable", "VarHandleOp", "VarIsInitializedOp",
        "IsVariableInitialized", "ReadVariableOp", "AssignVariableOp", "AssignAddVariableOp",
        "AssignSubVariableOp", "Assign", "AssignAdd", "AssignSub", "SaveV2", "RestoreV2",
        "Save", "SaveSlices", "Restore", "RestoreSlice", "MergeV2Checkpoints",
        "ShardedFilename", "ShardedFilespec", "HashTableV2", "HashTable", "MutableHashTableV2",
        "MutableHashTableOfTensorsV2", "MutableDenseHashTableV2", "InitializeTableV2",
        "InitializeTable", "InitializeTableFromTextFileV2", "LookupTableImportV2",
        "LookupTableExportV2", "TensorSummary", "TensorSummaryV2", "ScalarSummary",
        "HistogramSummary", "ImageSummary", "AudioSummary", "MergeSummary", "Assert",
        "Print", "PrintV2",
    }
)
_SKIPPED_OP_PREFIXES = ("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply")
_TRAINING_SCOPES = (
    "gradients", "save", "init", "init_all_tables", "report_uninitialized_variables",
    "legacy_init_op", "train", "optimizer", "Adam", "GradientDescent", "Momentum", "RMSProp",
    "Adagrad", "AdagradDA", "Adadelta", "Ftrl", "ProximalAdagrad", "ProximalGradientDescent",
    "beta1_power", "beta2_power", "global_step", "summaries",
)
_OPTIMIZERS = ("Adam", "Momentum", "RMSProp", "Adagrad", "Ftrl")
_TRAINING_NAME = re.compile(
    rf"\A(?:{'|'.join(_TRAINING_SCOPES)})(?:_\d+)?(?:/|\Z)"
    r"|/Initializer/"
    rf"|/(?:{'|'.join(_OPTIMIZERS)})"
    r"|/(?:read|Assign|initial_value|IsVariableInitialized)\Z"
)
"""Names of training, saving and initializing ops and of optimizer slots."""
_SKIPPED_DTYPES = frozenset({"resource", "variant"})
_SHAPE_OPS = frozenset({"Shape", "ShapeN", "Size", "Rank", "BroadcastGradientArgs"})
_AUTO_NAME = re.compile(r"[A-Z][A-Za-z0-9]*(_\d+)?\Z")
_MAIN_OP_KEYS = ("saved_model_main_op", "legacy_init_op")


def _is_training_op(name: str, op_type: str) -> bool:
    if op_type in _SKIPPED_OPS or op_type.startswith(_SKIPPED_OP_PREFIXES):
        return True
    return _TRAINING_NAME.search(name) is not None


def graph_alias(tensor_name: str) -> str:
    """A suggested alias for a graph tensor: its last name part that a user chose.

    ``classes/LookupTableFindV2:0`` -> ``classes``; ``dense_1/BiasAdd:0`` ->
    ``dense_1``; ``MatMul:0`` -> ``matmul``; a second output adds ``_1``.
    """
    op_name, _, index = tensor_name.partition(":")
    parts = op_name.split("/")
    chosen = next((p for p in reversed(parts) if not _AUTO_NAME.match(p)), parts[-1])
    suffix = f"_{index}" if index not in ("", "0") else ""
    return clean_alias(chosen + suffix)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small objects are made.

    A TF graph keeps thousands of Python objects alive, and every automatic
    collection walks them all; listing a 20,000-op graph spends half its time
    there otherwise.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _shape_loader(tensor: Any) -> Any:
    def load() -> tuple[int | None, ...] | None:
        return shape_tuple(tensor.shape)

    return load


class GraphSource(Source):
    """A ``tf.compat.v1.Session`` (with its trained values) or a ``tf.Graph``."""

    supports_methods = tuple(METHOD_NAMES)
    supports_tags = True
    feeds_any_tensor = True

    def __init__(self, obj: Any, kind: str) -> None:
        super().__init__(obj)
        self.kind = kind  # type: ignore[assignment]
        if kind == "session":
            if session_closed(obj):
                raise SourceError(
                    "The session is closed, so the trained values are gone. Export inside "
                    "the `with tf.compat.v1.Session() as sess:` block, or keep the session open."
                )
            self.graph = obj.graph
        else:
            self.graph = obj
            if obj.get_collection("variables"):
                raise SourceError(
                    "This tf.Graph holds variables, and a graph alone has no values for them. "
                    "Export the tf.compat.v1.Session that trained or restored them instead."
                )
        self._listing: tuple[int, list[Candidate]] | None = None
        self._op_inputs: dict[str, tuple[str, list[str]]] | None = None

    def describe(self) -> str:
        ops = len(self.graph.get_operations())
        n_inputs = sum(1 for c in self.candidates() if c.role == "input")
        what = "TF1 session" if self.kind == "session" else "TF1 graph"
        return f"{what}, {ops} ops, {n_inputs} placeholder{'s' * (n_inputs != 1)}"

    # Listing --------------------------------------------------------------------

    def _list(self) -> list[Candidate]:
        """The candidates, cached until the graph grows."""
        version = self.graph.version
        if self._listing is not None and self._listing[0] == version:
            return self._listing[1]
        with _gc_paused():
            candidates = self._list_uncached()
        self._listing = (version, candidates)
        self.__dict__.pop("_by_role", None)
        return candidates

    def _list_uncached(self) -> list[Candidate]:
        consumed: set[str] = set()  # input strings as written: "op", "op:1", "^op"
        op_inputs: dict[str, tuple[str, list[str]]] = {}
        for node in self.graph.as_graph_def().node:
            consumed.update(node.input)
            op_inputs[node.name] = (node.op, node.input)
        self._op_inputs = op_inputs
        placeholders: list[Candidate] = []
        unconsumed: list[Candidate] = []
        others: list[Candidate] = []
        for op in self.graph.get_operations():
            op_type, op_name = op.type, op.name
            is_input = op_type in _INPUT_OPS
            if (_TRAINING_NAME.search(op_name) if is_input else _is_training_op(op_name, op_type)):
                continue  # a saver's filename placeholder is not a model input
            for index, tensor in enumerate(op.outputs):
                dtype = tensor.dtype.name
                if dtype.endswith("_ref") or dtype in _SKIPPED_DTYPES:
                    continue
                name = f"{op_name}:{index}"
                if is_input:
                    group, role = placeholders, "input"
                elif name in consumed or (index == 0 and op_name in consumed) or (
                    op_type in _SHAPE_OPS
                ):
                    group, role = others, "tensor"
                else:
                    group, role = unconsumed, "output"
                group.append(
                    Candidate(
                        name=name,
                        dtype=dtype,
                        role=role,  # type: ignore[arg-type]
                        detail=op_type,
                        alias_source=graph_alias,
                        shape_source=_shape_loader(tensor),
                    )
                )
        return placeholders + unconsumed + others

    def _inputs_of_ops(self) -> dict[str, tuple[str, list[str]]]:
        """Each op's type and inputs as the graph writes them (``op``, ``op:1``, ``^op``),
        read with the listing."""
        self._list()
        return self._op_inputs or {}

    def candidates(self) -> list[Candidate]:
        return self._list()

    def _placeholders_needed(self, tensor_names: Sequence[str], fed: set[str]) -> list[str]:
        """Placeholders the tensors depend on, stopping at ops whose outputs are fed."""
        fed_ops = {op_name(name) for name in fed}
        placeholders = ops_reached(tensor_names, self._inputs_of_ops(), _PLACEHOLDER_OPS, fed_ops)
        return [f"{name}:0" for name in placeholders]

    def suggest(self) -> tuple[dict[str, str], dict[str, str]]:
        candidates = self.candidates()
        outputs = [c for c in candidates if c.role == "output" and c.shape != ()]
        if not outputs:
            named = [
                c for c in candidates
                if c.role == "tensor" and "/" not in c.name and c.shape != ()
                and not _AUTO_NAME.match(op_name(c.name))
            ]
            outputs = named[-1:]
        if not outputs:
            outputs = [c for c in candidates if c.role == "output"]
        needed = set(self._placeholders_needed([c.name for c in outputs], set()))
        inputs = [c for c in candidates if c.role == "input" and (c.name in needed or not needed)]
        return suggest_aliases(inputs), suggest_aliases(outputs)

    def input_candidate(self, name: str) -> Candidate:
        """Any tensor of the graph can be fed: placeholders first, then the rest."""
        for candidate in self.candidates():
            if candidate.name == name:
                return candidate
        return super().input_candidate(name)

    # Checks and export ----------------------------------------------------------

    def check_signature(self, signature: SignatureSpec) -> None:
        for _, name in signature.inputs:
            self.input_candidate(name)
        for _, name in signature.outputs:
            self.output_candidate(name)
        if signature.method != "predict":
            self._check_method_keys(signature)
        fed = {name for _, name in signature.inputs}
        for alias, name in signature.outputs:
            missing = [p for p in self._placeholders_needed([name], fed) if p not in fed]
            if missing:
                inputs = choices_text(sorted(fed)) or "none"
                raise ExportSpecError(
                    f"Signature {signature.name!r}: output {alias!r} ({name}) depends on the "
                    f"placeholder{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}, "
                    f"which {'are' if len(missing) > 1 else 'is'} not among the chosen inputs "
                    f"({inputs}). A client could not feed "
                    f"{'them' if len(missing) > 1 else 'it'}: add "
                    f"{'them' if len(missing) > 1 else 'it'} as an input, or choose another "
                    "output."
                )

    def _check_method_keys(self, signature: SignatureSpec) -> None:
        """Classify and regress signatures have fixed keys and dtypes (TF Serving's rules)."""
        rules = _METHOD_RULES[signature.method]
        wrong = []
        for what, pairs in (("inputs", signature.inputs), ("outputs", signature.outputs)):
            allowed = rules[what]
            for alias, name in pairs:
                candidate = (self.input_candidate if what == "inputs" else
                             self.output_candidate)(name)
                if allowed.get(alias) != candidate.dtype:
                    wrong.append(f"{what[:-1]} {alias!r} ({candidate.dtype})")
        if wrong or not signature.inputs:
            expected = "; ".join(
                f"{what}: " + ", ".join(f"{alias!r} ({dtype})" for alias, dtype in keys.items())
                for what, keys in rules.items()
            )
            raise ExportSpecError(
                f"Signature {signature.name!r} uses method {signature.method!r}, whose keys and "
                f"dtypes are fixed ({expected}), but it has {', '.join(wrong)}. Rename the "
                "aliases, or use method 'predict', which takes any."
            )

    def session(self) -> Any:
        """The session to run the graph in: the source session, or a new one on a graph
        without variables (the caller closes a new one)."""
        import tensorflow as tf

        if self.kind == "session":
            return self.obj
        return tf.compat.v1.Session(graph=self.graph)

    def write(
        self,
        signatures: Sequence[SignatureSpec],
        tags: Sequence[str],
        path: Path,
        progress: Progress,
    ) -> None:
        import tensorflow as tf

        tf1 = tf.compat.v1
        graph = self.graph
        if graph.finalized:
            raise SourceError(
                "The graph is finalized (a MonitoredSession or Supervisor does that), so the "
                "export cannot add its save and init ops. Restore the checkpoint into a new "
                "tf.compat.v1.Session and export that."
            )
        session = self.session()
        set_aside = {key: list(graph.get_collection(key)) for key in _MAIN_OP_KEYS}
        try:
            with graph.as_default():
                for key in _MAIN_OP_KEYS:
                    graph.clear_collection(key)
                signature_def_map = {
                    signature.name: self._signature_def(signature) for signature in signatures
                }
                main_op = None
                if graph.get_collection(tf1.GraphKeys.TABLE_INITIALIZERS):
                    main_op = tf.group(tf1.tables_initializer(), name="legacy_init_op")
                progress("Writing the graph and variables (SavedModelBuilder)")
                builder = tf1.saved_model.Builder(str(path))
                builder.add_meta_graph_and_variables(
                    session,
                    list(tags),
                    signature_def_map=signature_def_map,
                    main_op=main_op,
                    strip_default_attrs=True,
                    clear_devices=True,
                )
                builder.save()
        finally:
            for key, values in set_aside.items():
                graph.clear_collection(key)
                for value in values:
                    graph.add_to_collection(key, value)
            if session is not self.obj:
                session.close()

    def write_steps(self, signatures: Sequence[SignatureSpec]) -> int:
        return 1

    def _signature_def(self, signature: SignatureSpec) -> Any:
        import tensorflow as tf

        utils = tf.compat.v1.saved_model
        tensor = self.graph.get_tensor_by_name
        with quiet_tensorflow_log():  # TF1 export is the point: no "deprecated" log lines
            return utils.build_signature_def(
                inputs={alias: utils.build_tensor_info(tensor(name)) for alias, name in
                        signature.inputs},
                outputs={alias: utils.build_tensor_info(tensor(name)) for alias, name in
                         signature.outputs},
                method_name=METHOD_NAMES[signature.method],
            )

    def evaluate(
        self, signature: SignatureSpec, inputs: Mapping[str, numpy.ndarray]
    ) -> dict[str, numpy.ndarray]:
        tensor = self.graph.get_tensor_by_name
        feed = {tensor(name): inputs[alias] for alias, name in signature.inputs}
        fetches = {alias: tensor(name) for alias, name in signature.outputs}
        session = self.session()
        try:
            return session.run(fetches, feed_dict=feed)
        finally:
            if session is not self.obj:
                session.close()
