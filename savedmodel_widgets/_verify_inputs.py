"""The arrays :func:`~savedmodel_widgets.verifier.verify` runs each signature on.

Given values are converted to each input's dtype; missing ones are generated
from its dtype and shape (a seeded generator, so runs repeat).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import VerifyError
from .savedmodel.info import Signature, TensorInfo

if TYPE_CHECKING:
    import numpy

Inputs = Mapping[str, Any]

UNKNOWN_DIM = 3
"""The size generated for an unknown dimension other than the batch dimension."""

_FLOAT_DTYPES = {"float16": "float16", "float32": "float32", "float64": "float64",
                 "bfloat16": "float32"}  # numpy has no bfloat16: the worker casts
_OTHER_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                           "uint64", "complex64", "complex128", "bool"})


@dataclass(frozen=True)
class InputSummary:
    """One input a signature was run on.

    Attributes
    ----------
    alias : str
        The input key.
    dtype : str
        The numpy dtype of the array sent (``float32``, ``bytes24``).
    shape : tuple of int
        The array's shape.
    generated : bool
        True when :func:`verify` made the values up; False when they were given.
    """

    alias: str
    dtype: str
    shape: tuple[int, ...]
    generated: bool



class SkipSignature(Exception):
    """A signature cannot be run; the message is the reason."""


def numpy_dtype(dtype: str) -> Any:
    """The numpy dtype to send for a TensorFlow dtype name, or None when there is none."""
    import numpy as np

    if dtype in _FLOAT_DTYPES:
        return np.dtype(_FLOAT_DTYPES[dtype])
    if dtype in _OTHER_DTYPES:
        return np.dtype(dtype)
    if dtype == "string":
        return np.dtype(bytes)
    return None


def bytes_array(array: numpy.ndarray) -> numpy.ndarray:
    """Strings as a numpy bytes array (``str`` encoded as UTF-8), which ``savez`` keeps
    without pickling. Trailing NUL bytes do not survive numpy's fixed-width bytes."""
    import numpy as np

    if array.dtype.kind == "S":
        return array
    if array.dtype.kind == "U":
        return np.char.encode(array, "utf-8")
    items = [item.encode("utf-8") if isinstance(item, str) else bytes(item)
             for item in array.ravel().tolist()]
    return np.array(items, dtype=bytes).reshape(array.shape)


def given_array(value: Any, tensor: TensorInfo, signature: str) -> numpy.ndarray:
    import numpy as np

    target = numpy_dtype(tensor.dtype)
    try:
        array = np.asarray(value)
        if tensor.dtype == "string":
            array = bytes_array(array)
        elif target is not None and array.dtype != target:
            array = array.astype(target)
    except (TypeError, ValueError, UnicodeError) as error:
        raise VerifyError(
            f"Input {tensor.alias!r} of signature {signature!r} cannot be converted to "
            f"{tensor.dtype}: {error}. Pass a numpy array of that dtype."
        ) from None
    if array.dtype.hasobject:
        raise VerifyError(
            f"Input {tensor.alias!r} of signature {signature!r} is an array of Python objects; "
            f"pass a numpy array of {tensor.dtype}."
        )
    return array


def generated_array(tensor: TensorInfo, batch: int, rng: Any) -> numpy.ndarray:
    import numpy as np

    assert tensor.shape is not None
    shape, batch_used = [], False
    for dim in tensor.shape:
        if dim is None:
            shape.append(UNKNOWN_DIM if batch_used else batch)
            batch_used = True
        else:
            shape.append(dim)
    dtype = numpy_dtype(tensor.dtype)
    if dtype.kind in "fc":
        return np.asarray(rng.random(tuple(shape))).astype(dtype)
    if dtype.kind in "iu":
        return np.asarray(rng.integers(0, 2, size=tuple(shape))).astype(dtype)
    if dtype.kind == "b":
        return np.asarray(rng.integers(0, 2, size=tuple(shape))).astype(bool)
    return np.full(tuple(shape), b"a", dtype="S1")


def signature_inputs(
    signature: Signature, given: Mapping[str, Any], batch_size: int
) -> tuple[dict[str, numpy.ndarray], tuple[InputSummary, ...]]:
    """The arrays to run ``signature`` on: the given ones, the others generated.

    Raises
    ------
    SkipSignature
        When an input cannot be fed or generated.
    """
    import numpy as np

    for tensor in signature.inputs:
        if tensor.encoding != "dense":
            raise SkipSignature(
                f"input {tensor.alias!r} is a {tensor.encoding} tensor; verify feeds dense "
                "arrays only and does not support sparse or composite inputs"
            )
    arrays = {t.alias: given_array(given[t.alias], t, signature.name)
              for t in signature.inputs if t.alias in given}
    batch = next((arrays[t.alias].shape[0] for t in signature.inputs
                  if t.alias in arrays and t.shape and t.shape[0] is None
                  and arrays[t.alias].ndim), batch_size)
    rng = np.random.default_rng(0)
    for tensor in signature.inputs:
        if tensor.alias in arrays:
            continue
        if tensor.shape is None:
            raise SkipSignature(f"input {tensor.alias!r} has unknown rank, so its values cannot be "
                        "generated; pass them with inputs=")
        if numpy_dtype(tensor.dtype) is None:
            raise SkipSignature(
                f"input {tensor.alias!r} has dtype {tensor.dtype}, whose values cannot be "
                "generated"
            )
        arrays[tensor.alias] = generated_array(tensor, batch, rng)
    summaries = tuple(
        InputSummary(t.alias, dtype_text(arrays[t.alias]), tuple(arrays[t.alias].shape),
                     t.alias not in given)
        for t in signature.inputs
    )
    return {t.alias: arrays[t.alias] for t in signature.inputs}, summaries


def dtype_text(array: numpy.ndarray) -> str:
    return "bytes" if array.dtype.kind == "S" else str(array.dtype)


def split_inputs(
    inputs: Inputs | None, signatures: list[Signature]
) -> dict[str, dict[str, Any]]:
    """``{signature name: {alias: value}}`` from either form of ``inputs``."""
    per_signature: dict[str, dict[str, Any]] = {s.name: {} for s in signatures}
    if inputs is None:
        return per_signature
    if not isinstance(inputs, Mapping):
        raise VerifyError(
            "inputs must be a dict {alias: array} or {signature name: {alias: array}}, not "
            f"{type(inputs).__name__}."
        )
    names = [s.name for s in signatures]
    nested = [key for key, value in inputs.items() if isinstance(value, Mapping)]
    if nested and len(nested) != len(inputs):
        raise VerifyError(
            "inputs mixes {alias: array} and {signature name: {alias: array}} entries; use "
            "one form."
        )
    if nested:
        for name, values in inputs.items():
            if name not in per_signature:
                raise VerifyError(
                    f"inputs names the signature {name!r}, which is not among the signatures "
                    f"run; the signatures are {', '.join(map(repr, names)) or 'none'}."
                )
            signature = next(s for s in signatures if s.name == name)
            _refuse_unknown_aliases(values, signature.input_aliases, f"signature {name!r}")
            per_signature[name] = dict(values)
        return per_signature
    aliases = list(dict.fromkeys(a for s in signatures for a in s.input_aliases))
    _refuse_unknown_aliases(inputs, aliases, "any signature run")
    for signature in signatures:
        per_signature[signature.name] = {alias: value for alias, value in inputs.items()
                                         if alias in signature.input_aliases}
    return per_signature


def _refuse_unknown_aliases(values: Mapping[str, Any], aliases: Any, where: str) -> None:
    unknown = [alias for alias in values if alias not in aliases]
    if unknown:
        raise VerifyError(
            f"inputs has {unknown[0]!r}, which is no input alias of {where}; the input "
            f"aliases are {', '.join(map(repr, aliases)) or 'none'}."
        )
