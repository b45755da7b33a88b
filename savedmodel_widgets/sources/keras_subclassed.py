"""Subclassed Keras 3 and tf_keras models: no layer graph, so the call is the signature.

Such a model has no ``inputs`` to list; the shapes of its first call are
recorded by Keras (read through :mod:`.framework_internals`). Inputs are named
after the call's arguments (``input``), outputs after the keys of a dict result
(``logits``), ``output_0``... for a sequence, or ``output``. Inner layers cannot
be picked: there is no graph to cut.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ExportSpecError, SourceError
from ..spec import SignatureSpec
from ._candidate import Candidate, clean_alias, shape_tuple
from ._source import (
    Progress,
    TracedSource,
    flat_outputs,
    output_keys,
    structure_kind,
    suggest_aliases,
)
from .framework_internals import recorded_build_shapes, recorded_input_spec
from .keras_saving import save_keras_functions

__all__ = [
    "recorded_inputs",
    "SubclassedKerasSource",
]

def recorded_inputs(model: Any, flavour: str) -> list[tuple[str, str, tuple[int | None, ...]]]:
    """``(name, dtype, shape)`` of each input of the model's first call, batch unknown;
    empty before the first call."""
    import tensorflow as tf

    if flavour == "keras":
        shapes = recorded_build_shapes(model)
        if not shapes:
            return []
        if not all(isinstance(s, (tuple, list)) and all(isinstance(d, (int, type(None)))
                                                        for d in s) for s in shapes.values()):
            return []
        names = [name.removesuffix("_shape") for name in shapes]
        dtype = model.input_dtype
        return [(name, dtype, (None, *shape[1:])) for name, shape in zip(names, shapes.values(),
                                                                        strict=True)]
    spec = recorded_input_spec(model)
    if spec is None:
        return []
    flat = tf.nest.flatten(spec)
    names = ["input"] if len(flat) == 1 else [f"input_{i}" for i in range(len(flat))]
    return [(name, s.dtype.name, (None, *s.shape.as_list()[1:])) for name, s in zip(names, flat,
                                                                                  strict=True)]


class SubclassedKerasSource(TracedSource):
    """A built subclassed Keras model, exported through its ``call``."""

    def __init__(self, obj: Any, flavour: str) -> None:
        super().__init__(obj)
        self.kind = flavour  # type: ignore[assignment]
        self.inputs = recorded_inputs(obj, flavour)
        if not self.inputs:
            raise SourceError(
                f"The subclassed Keras model {obj.name!r} records no input shapes, so its "
                "inputs cannot be listed. Call it once on a batch of data (model(x)), or "
                "rebuild it as a functional model (keras.Input -> layers -> keras.Model)."
            )

    def describe(self) -> str:
        flavour = "Keras 3" if self.kind == "keras" else "tf_keras"
        count = len(self.inputs)
        return f"{flavour} subclassed {type(self.obj).__name__}, {count} input{'s' * (count != 1)}"

    def _call(self, values: Sequence[Any]) -> Any:
        return self.obj(values[0] if len(values) == 1 else list(values), training=False)

    @functools.cached_property
    def _output_structure(self) -> Any:
        """The call's output structure of TensorSpecs, from one trace."""
        import tensorflow as tf

        specs = [tf.TensorSpec(shape, dtype) for _, dtype, shape in self.inputs]
        traced = tf.function(lambda *args: self._call(args)).get_concrete_function(*specs)
        return traced.structured_outputs

    @property
    def output_specs(self) -> list[tuple[str, Any]]:
        """``(key, TensorSpec)`` of each output of the call."""
        structure = self._output_structure
        return list(zip(output_keys(structure), flat_outputs(structure), strict=True))

    @property
    def output_structure(self) -> str:
        """``dict``, ``sequence`` or ``single``: what the call returns."""
        return structure_kind(self._output_structure)

    def candidates(self) -> list[Candidate]:
        inputs = [
            Candidate(name, dtype, "input", "argument", clean_alias(name, "input"), shape)
            for name, dtype, shape in self.inputs
        ]
        outputs = [
            Candidate(key, spec.dtype.name, "output", "output", clean_alias(key, "output"),
                      shape_tuple(spec.shape))
            for key, spec in self.output_specs
        ]
        return inputs + outputs

    def suggest(self) -> tuple[dict[str, str], dict[str, str]]:
        candidates = self.candidates()
        return (
            suggest_aliases([c for c in candidates if c.role == "input"]),
            suggest_aliases([c for c in candidates if c.role == "output"]),
        )

    def check_signature(self, signature: SignatureSpec) -> None:
        for _, name in signature.inputs:
            self.input_candidate(name)
        for _, name in signature.outputs:
            self.output_candidate(name)
        chosen = {name for _, name in signature.inputs}
        missing = [name for name, _, _ in self.inputs if name not in chosen]
        if missing:
            raise ExportSpecError(
                f"Signature {signature.name!r}: the model's call needs the input"
                f"{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}; add "
                f"{'them' if len(missing) > 1 else 'it'} to the inputs (a subclassed model "
                "runs whole)."
            )

    def run(self, signature: SignatureSpec, values: Sequence[Any]) -> dict[str, Any]:
        by_name = {name: value for (_, name), value in zip(signature.inputs, values,
                                                           strict=True)}
        result = self._call([by_name[name] for name, _, _ in self.inputs])
        by_key = dict(zip(output_keys(result), flat_outputs(result), strict=True))
        return {alias: by_key[name] for alias, name in signature.outputs}

    def save(self, functions: dict[str, Any], path: Path, progress: Progress) -> None:
        save_keras_functions(self.obj, functions, path, progress)
