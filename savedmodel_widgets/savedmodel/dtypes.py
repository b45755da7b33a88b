"""TensorFlow dtype names from ``DataType`` enum numbers, without TensorFlow."""

from __future__ import annotations

import functools

from ._schema import enum_names

__all__ = [
    "EAS_SENDABLE",
    "JSON_SENDABLE",
    "base_dtype",
    "dtype_name",
]

_RENAMED = {"FLOAT": "float32", "DOUBLE": "float64", "HALF": "float16"}

JSON_SENDABLE = frozenset(
    {
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool",
        "string",
        "complex64",
        "complex128",
    }
)
"""Dtypes a TF Serving REST/gRPC client can send as plain values."""

EAS_SENDABLE = frozenset(
    {"float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string"}
)
"""Dtypes the EAS TensorFlow processor's request format has value fields for."""


@functools.cache
def dtype_name(number: int) -> str:
    """TensorFlow's name for a ``DataType`` number: 1 -> ``float32``, 7 -> ``string``.

    Reference types keep TensorFlow's ``_ref`` suffix (``float32_ref``); a
    number this schema does not know gives ``unknown(N)``.
    """
    enum_name = enum_names("DataType").get(number)
    if enum_name is None:
        return f"unknown({number})"
    base = enum_name.removeprefix("DT_")
    is_ref = base.endswith("_REF")
    base = base.removesuffix("_REF")
    name = _RENAMED.get(base, base.lower())
    return f"{name}_ref" if is_ref else name


def base_dtype(name: str) -> str:
    """The dtype a reference dtype stands for: ``float32_ref`` -> ``float32``.

    A client sends and receives the base dtype (TF Serving answers a ``float32_ref``
    output with ``DT_FLOAT``), so every check uses it.
    """
    return name.removesuffix("_ref")
