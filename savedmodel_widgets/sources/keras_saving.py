"""Save the traced signature functions of a Keras model, each weight once.

Used by the export of Keras 3 and tf_keras models (functional, Sequential and
subclassed), and by the code generator, which writes the same choice of root.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._source import Progress

__all__ = ["captures_untracked_resources", "save_keras_functions", "variables_by_name"]


def save_keras_functions(model: Any, functions: dict[str, Any], path: Path,
                         progress: Progress) -> None:
    """Save traced signature functions of a Keras model, each weight once.

    The root is a plain ``tf.Module`` holding the variables the functions
    capture, so none of Keras' own saving runs (``model.export`` writes every
    weight twice; ``tf.saved_model.save(model)`` adds the optimizer's state).
    When a layer owns a resource besides variables (a ``StringLookup``'s hash
    table), the root tracks the model's layers instead, which brings those
    resources along and still writes each weight once.
    """
    import tensorflow as tf

    root = tf.Module()
    if captures_untracked_resources(functions.values()):
        root.model_layers = list(model.layers)
        progress("Writing the layers (with their lookup tables) and the graph")
    else:
        root.model_variables = variables_by_name(functions.values())
        progress(f"Writing {len(root.model_variables)} variables and the graph")
    tf.saved_model.save(root, str(path), signatures=functions)


def captures_untracked_resources(functions: Iterable[Any]) -> bool:
    """Whether traced functions capture a resource that is not a variable (a hash table)."""
    import tensorflow as tf

    for function in functions:
        handles = {id(variable.handle) for variable in function.variables}
        for external, _ in function.graph.captures:
            if external.dtype == tf.resource and id(external) not in handles:
                return True
    return False


def variables_by_name(functions: Any) -> dict[str, Any]:
    """The variables the functions capture, each once, keyed by a readable name."""
    by_name: dict[str, Any] = {}
    seen: set[int] = set()
    for function in functions:
        for variable in function.variables:
            if id(variable) in seen:
                continue
            seen.add(id(variable))
            name = variable.name.removesuffix(":0")
            key, number = name, 1
            while key in by_name:
                key = f"{name}_{number}"
                number += 1
            by_name[key] = variable
    return by_name
