"""``tf.Module`` objects with ``tf.function`` methods: each function is a signature source.

Candidates are called ``function:argument`` for inputs and ``function:key`` for
outputs (``predict:x``, ``predict:scores``). The module itself is the root of
the SavedModel, so its variables are written once; each signature is a thin
function that renames the chosen arguments and outputs to the aliases.
"""

from __future__ import annotations

import inspect
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
    suggest_aliases,
)
from .framework_internals import traced_concrete_functions

__all__ = [
    "module_functions",
    "ModuleSource",
]

def module_functions(module: Any) -> dict[str, Any]:
    """The module's public ``tf.function`` attributes that have a traced signature."""
    import tensorflow as tf

    function_type = tf.types.experimental.PolymorphicFunction
    names: list[str] = []
    for klass in reversed(type(module).__mro__):
        names.extend(n for n, v in vars(klass).items() if isinstance(v, function_type))
    names.extend(n for n, v in vars(module).items() if isinstance(v, function_type))
    functions = {}
    for name in dict.fromkeys(names):
        if name.startswith("_"):
            continue
        function = getattr(module, name)
        if _concrete(function) is not None:
            functions[name] = function
    return functions


def _concrete(function: Any) -> Any:
    """The function's one concrete function: from its input_signature or its only trace."""
    if function.input_signature is not None:
        return function.get_concrete_function()
    traced = traced_concrete_functions(function)
    return traced[0] if len(traced) == 1 else None


def _argument_names(function: Any, count: int) -> list[str]:
    parameters = [
        p.name for p in inspect.signature(function.python_function).parameters.values()
        if p.name != "self"
    ]
    return parameters[:count]


class ModuleSource(TracedSource):
    """A ``tf.Module`` whose ``tf.function`` methods become signatures."""

    kind = "module"

    def __init__(self, obj: Any) -> None:
        super().__init__(obj)
        self.functions = module_functions(obj)
        if not self.functions:
            raise SourceError(
                f"The tf.Module {type(obj).__name__!r} has no tf.function with a known "
                "signature. Decorate a method with "
                "@tf.function(input_signature=[tf.TensorSpec(...)]), or call it once so "
                "that it is traced."
            )

    def describe(self) -> str:
        names = ", ".join(self.functions)
        return f"tf.Module {type(self.obj).__name__}, functions: {names}"

    def function_parts(self, function_name: str) -> tuple[Any, list[str], list[str]]:
        """A function's concrete function, argument names and output keys."""
        function = self.functions[function_name]
        concrete = _concrete(function)
        args, kwargs = concrete.structured_input_signature
        names = _argument_names(function, len(args)) + list(kwargs)
        return concrete, names, output_keys(concrete.structured_outputs)

    def candidates(self) -> list[Candidate]:
        inputs, outputs = [], []
        for function_name in self.functions:
            concrete, arg_names, keys = self.function_parts(function_name)
            args, kwargs = concrete.structured_input_signature
            for arg, spec in zip(arg_names, list(args) + list(kwargs.values()), strict=True):
                inputs.append(_candidate(f"{function_name}:{arg}", spec, "input", arg))
            flat = flat_outputs(concrete.structured_outputs)
            for key, spec in zip(keys, flat, strict=True):
                outputs.append(_candidate(f"{function_name}:{key}", spec, "output", key))
        return inputs + outputs

    def suggest(self) -> tuple[dict[str, str], dict[str, str]]:
        first = next(iter(self.functions))
        chosen = [c for c in self.candidates() if c.name.split(":", 1)[0] == first]
        return (
            suggest_aliases([c for c in chosen if c.role == "input"]),
            suggest_aliases([c for c in chosen if c.role == "output"]),
        )

    def function_of(self, signature: SignatureSpec) -> str:
        """The one tf.function a signature's tensors come from."""
        names = {name.split(":", 1)[0] for _, name in (*signature.inputs, *signature.outputs)}
        if len(names) != 1:
            raise ExportSpecError(
                f"Signature {signature.name!r} mixes tensors of the functions "
                f"{', '.join(sorted(map(repr, names)))}; a signature's inputs and outputs "
                "must all come from one tf.function."
            )
        return names.pop()

    def check_signature(self, signature: SignatureSpec) -> None:
        for _, name in signature.inputs:
            self.input_candidate(name)
        for _, name in signature.outputs:
            self.output_candidate(name)
        function_name = self.function_of(signature)
        _, arg_names, _ = self.function_parts(function_name)
        chosen = {name.split(":", 1)[1] for _, name in signature.inputs}
        missing = [arg for arg in arg_names if arg not in chosen]
        if missing:
            raise ExportSpecError(
                f"Signature {signature.name!r}: the function {function_name!r} needs the "
                f"argument{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}; add "
                f"{'them' if len(missing) > 1 else 'it'} to the inputs."
            )

    def run(self, signature: SignatureSpec, values: Sequence[Any]) -> dict[str, Any]:
        function_name = self.function_of(signature)
        concrete, arg_names, keys = self.function_parts(function_name)
        by_arg = {name.split(":", 1)[1]: v for (_, name), v in zip(signature.inputs, values,
                                                                     strict=True)}
        result = self.functions[function_name](*[by_arg[arg] for arg in arg_names])
        by_key = dict(zip(keys, flat_outputs(result), strict=True))
        return {alias: by_key[name.split(":", 1)[1]] for alias, name in signature.outputs}

    def save(self, functions: dict[str, Any], path: Path, progress: Progress) -> None:
        import tensorflow as tf

        progress("Writing the module's variables and graph")
        tf.saved_model.save(self.obj, str(path), signatures=functions)


def _candidate(name: str, spec: Any, role: str, alias: str) -> Candidate:
    shape = shape_tuple(spec.shape)
    return Candidate(
        name=name,
        dtype=spec.dtype.name,
        role=role,  # type: ignore[arg-type]
        detail="argument" if role == "input" else "output",
        alias_source=clean_alias(alias),
        shape_source=shape,
    )
