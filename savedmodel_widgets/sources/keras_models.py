"""Keras 3 and tf_keras (Keras 2) models: candidates, export and evaluation.

The export never uses ``model.export``: it traces one ``tf.function`` per
signature over a sub-model that shares the model's layers, takes the variables
those functions capture, and saves them once under a plain ``tf.Module``. The
signature keys are exactly the chosen aliases and the batch dimension is
unknown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExportSpecError, SourceError
from ..spec import SignatureSpec
from ._candidate import Candidate, clean_alias, shape_tuple
from ._source import Progress, Source, TracedSource, suggest_aliases
from .framework_internals import (
    keras_history,
    keras_node,
    model_input_structure,
    model_output_structure,
    node_input_tensors,
    node_output_tensors,
)
from .keras_saving import save_keras_functions

__all__ = [
    "keras_source",
    "KerasSource",
]

_GENERATED_INPUT = re.compile(r"(keras_tensor|input_layer|input)(_\d+)?\Z")


@dataclass(frozen=True)
class _GraphTensor:
    name: str
    tensor: Any
    role: str
    detail: str
    alias: str


def _struct_keys(structure: Any, tensors: Sequence[Any]) -> dict[int, str]:
    """Map id(tensor) to its key when a model's inputs or outputs are a dict."""
    if isinstance(structure, Mapping):
        wanted = {id(t) for t in tensors}
        return {id(value): str(key) for key, value in structure.items() if id(value) in wanted}
    return {}


def keras_source(obj: Any, flavour: str) -> Source:
    """The source for a Keras model: its layer graph, or its call for a subclassed model."""
    if not getattr(obj, "built", False):
        raise SourceError(
            f"The Keras model {obj.name!r} has not been built, so it has no inputs "
            "to export. Call it on a batch of data (model(x)), call "
            "model.build(input_shape), or start it with keras.Input(shape=...)."
        )
    try:
        has_graph = bool(obj.inputs) and bool(obj.outputs)
    except (AttributeError, ValueError):
        has_graph = False
    if has_graph:
        return KerasSource(obj, flavour)
    from .keras_subclassed import SubclassedKerasSource

    return SubclassedKerasSource(obj, flavour)


class KerasSource(TracedSource):
    """A built functional or Sequential Keras 3 or tf_keras model: its layer graph."""

    batch_unknown = True

    def __init__(self, obj: Any, flavour: str) -> None:
        super().__init__(obj)
        self.kind = flavour  # type: ignore[assignment]

    def describe(self) -> str:
        model = self.obj
        style = {"Functional": "functional", "Sequential": "Sequential"}.get(
            type(model).__name__, type(model).__name__
        )
        flavour = "Keras 3" if self.kind == "keras" else "tf_keras"
        n_in, n_out = len(model.inputs), len(model.outputs)
        parts = [f"{flavour} {style}"]
        parts.append(f"{n_in} input{'s' * (n_in != 1)}")
        parts.append(f"{n_out} output{'s' * (n_out != 1)}")
        return ", ".join(parts)

    @functools.cached_property
    def _graph_tensors(self) -> list[_GraphTensor]:
        """Every tensor of the model's graph in creation order, named for users."""
        model = self.obj
        input_ids = {id(t) for t in model.inputs}
        output_ids = {id(t) for t in model.outputs}
        input_keys = _struct_keys(model_input_structure(model), model.inputs)
        output_keys = _struct_keys(model_output_structure(model), model.outputs)
        order: list[Any] = []
        seen: set[int] = set()
        stack: list[tuple[Any, bool]] = [(t, False) for t in reversed(model.outputs)]
        while stack:
            tensor, expanded = stack.pop()
            if expanded:
                order.append(tensor)
                continue
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            stack.append((tensor, True))
            if id(tensor) not in input_ids:
                operation, node_index, _ = keras_history(tensor)
                node = keras_node(operation, node_index)
                stack.extend((t, False) for t in reversed(node_input_tensors(node)))
        for tensor in model.inputs:  # unused inputs still count
            if id(tensor) not in seen:
                order.insert(0, tensor)
        nodes_per_op: dict[int, set[int]] = {}
        for tensor in order:
            operation, node_index, _ = keras_history(tensor)
            nodes_per_op.setdefault(id(operation), set()).add(node_index)
        result = []
        for tensor in order:
            operation, node_index, tensor_index = keras_history(tensor)
            if id(tensor) in input_ids:
                name = input_keys.get(id(tensor)) or tensor.name
                alias = name if not _GENERATED_INPUT.match(name) else "input"
                result.append(_GraphTensor(name, tensor, "input", "Input", clean_alias(alias)))
                continue
            name = operation.name
            if len(nodes_per_op[id(operation)]) > 1:
                name += f"_{node_index}"
            node = keras_node(operation, node_index)
            if len(node_output_tensors(node)) > 1:
                name += f":{tensor_index}"
            role = "output" if id(tensor) in output_ids else "layer"
            alias = output_keys.get(id(tensor), name)
            detail = type(operation).__name__
            result.append(_GraphTensor(name, tensor, role, detail, clean_alias(alias, "output")))
        return result

    def candidates(self) -> list[Candidate]:
        rank = {"input": 0, "output": 1, "layer": 2}
        entries = sorted(self._graph_tensors, key=lambda entry: rank[entry.role])
        return [
            Candidate(
                name=entry.name,
                dtype=_dtype_name(entry.tensor.dtype),
                role=entry.role,  # type: ignore[arg-type]
                detail=entry.detail,
                alias_source=entry.alias,
                shape_source=shape_tuple(entry.tensor.shape),
            )
            for entry in entries
        ]

    def suggest(self) -> tuple[dict[str, str], dict[str, str]]:
        candidates = self.candidates()
        inputs = [c for c in candidates if c.role == "input"]
        outputs = [c for c in candidates if c.role == "output"]
        return suggest_aliases(inputs), suggest_aliases(outputs)

    def tensor(self, name: str) -> Any:
        """The Keras tensor behind a candidate name."""
        for entry in self._graph_tensors:
            if entry.name == name:
                return entry.tensor
        raise KeyError(name)

    def check_signature(self, signature: SignatureSpec) -> None:
        for _, name in signature.inputs:
            self.input_candidate(name)
        for _, name in signature.outputs:
            self.output_candidate(name)
        chosen = {id(self.tensor(name)) for _, name in signature.inputs}
        model_inputs = {
            id(entry.tensor): entry.name for entry in self._graph_tensors if entry.role == "input"
        }
        for alias, name in signature.outputs:
            needed = self._inputs_needed(self.tensor(name), set(model_inputs))
            missing = [model_inputs[i] for i in needed if i not in chosen]
            if missing:
                raise ExportSpecError(
                    f"Signature {signature.name!r}: output {alias!r} ({name}) needs the model "
                    f"input{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}, which "
                    "the signature does not have. Add "
                    f"{'them' if len(missing) > 1 else 'it'} to the inputs, or choose "
                    "another output."
                )

    @staticmethod
    def _inputs_needed(tensor: Any, input_ids: set[int]) -> set[int]:
        needed, seen, stack = set(), set(), [tensor]
        while stack:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if id(current) in input_ids:
                needed.add(id(current))
                continue
            operation, node_index, _ = keras_history(current)
            stack.extend(node_input_tensors(keras_node(operation, node_index)))
        return needed

    # Export ---------------------------------------------------------------------

    def _submodel(self, signature: SignatureSpec) -> Any:
        """A model from the chosen inputs to the chosen outputs, sharing the layers."""
        model_class = _model_class(self.kind)
        inputs = [self.tensor(name) for _, name in signature.inputs]
        outputs = [self.tensor(name) for _, name in signature.outputs]
        return model_class(inputs=inputs, outputs=outputs, name=f"{self.obj.name}_export")

    def run(self, signature: SignatureSpec, values: Sequence[Any]) -> dict[str, Any]:
        import tensorflow as tf

        submodel = self._submodel(signature)
        result = submodel(list(values), training=False)  # inputs=[...]: a list, even of one
        flat = tf.nest.flatten(result)
        return dict(zip(signature.output_aliases, flat, strict=True))

    def save(self, functions: dict[str, Any], path: Path, progress: Progress) -> None:
        save_keras_functions(self.obj, functions, path, progress)


def _model_class(flavour: str) -> Any:
    if flavour == "keras":
        import keras

        return keras.Model
    import tf_keras

    return tf_keras.Model


def _dtype_name(dtype: Any) -> str:
    return dtype if isinstance(dtype, str) else dtype.name
