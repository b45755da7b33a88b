"""Walking a GraphDef's inputs back from some tensors, without TensorFlow."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

__all__ = [
    "op_name",
    "ops_reached",
    "OpInputs",
]

OpInputs = Mapping[str, tuple[str, Sequence[str]]]
"""Each op's type and inputs as a GraphDef writes them (``op``, ``op:1``, ``^op``)."""


def op_name(tensor_name: str) -> str:
    """``scores:0``, ``scores`` and the control input ``^scores`` all name the op ``scores``."""
    return tensor_name.lstrip("^").split(":", 1)[0]


def ops_reached(
    tensor_names: Iterable[str],
    op_inputs: OpInputs,
    op_types: Collection[str],
    stop_at: Collection[str] = (),
) -> list[str]:
    """The ops of ``op_types`` that the tensors depend on, in the order found.

    The walk follows every input, control inputs too, and does not go past (or
    into) the ops named in ``stop_at``, such as the ops whose outputs are fed.
    """
    found: list[str] = []
    seen: set[str] = set()
    stack = [op_name(name) for name in tensor_names]
    while stack:
        name = stack.pop()
        if name in seen or name in stop_at:
            continue
        seen.add(name)
        op_type, inputs = op_inputs.get(name, ("", ()))
        if op_type in op_types:
            found.append(name)
        stack.extend(op_name(tensor) for tensor in inputs)
    return found
