"""The data a source hands to the export layer: candidates, model entries, aliases."""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..savedmodel.info import Shape, format_shape

Role = Literal["input", "output", "layer", "tensor"]
"""What a candidate is: a model input (or TF1 placeholder), a model output (or a TF1
tensor nothing consumes), the output of an inner layer, or any other graph tensor."""

Kind = Literal["keras", "tf_keras", "session", "graph", "module"]
"""The kinds of objects the export backend takes."""

KIND_LABELS: dict[str, str] = {
    "keras": "Keras 3",
    "tf_keras": "tf_keras (Keras 2)",
    "session": "tf.compat.v1.Session",
    "graph": "tf.Graph",
    "module": "tf.Module",
}

_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Candidate:
    """A tensor a user can pick as a signature input or output.

    Attributes
    ----------
    name : str
        The key an :class:`~savedmodel_widgets.SignatureSpec` uses for it: a Keras
        input or layer name (``image``, ``embedding``), a graph tensor name
        (``x:0``), or ``function:argument`` for a ``tf.Module``.
    dtype : str
        TensorFlow's dtype name (``float32``, ``string``).
    role : {"input", "output", "layer", "tensor"}
        Model input, model output, inner layer output, or other graph tensor.
    detail : str
        What produces it: a layer class or an op type (``Dense``, ``Softmax``).
    alias_source : str or callable
        The suggested alias, or a function of ``name`` that makes it (computed
        on first use of :attr:`alias`).
    shape_source : Shape or callable
        The shape, or a function that computes it on first use of :attr:`shape`.
    """

    name: str
    dtype: str
    role: Role
    detail: str = ""
    alias_source: str | Callable[[str], str] = field(default="", repr=False, compare=False)
    shape_source: Shape | Callable[[], Shape] = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def alias(self) -> str:
        """The suggested alias: a valid name derived from :attr:`name`."""
        source = self.alias_source
        alias = source(self.name) if callable(source) else source
        return alias or clean_alias(self.name)

    @functools.cached_property
    def shape(self) -> Shape:
        """Dimensions with ``None`` where unknown; ``None`` when the rank is unknown.

        Graph tensors compute it on first use, which keeps listing a graph of
        many thousand ops fast.
        """
        source = self.shape_source
        return source() if callable(source) else source

    @property
    def shape_text(self) -> str:
        """The shape as text, e.g. ``(None, 64)``."""
        return format_shape(self.shape)

    @property
    def label(self) -> str:
        """One line for a picker: ``image  float32 (None, 8)  input``."""
        return f"{self.name}  {self.dtype} {self.shape_text}  {self.role}"


@dataclass(frozen=True)
class ModelEntry:
    """An exportable object found in a namespace.

    Attributes
    ----------
    name : str
        The variable name (``model``, ``sess``).
    kind : {"keras", "tf_keras", "session", "graph", "module"}
        What sort of object it is.
    description : str
        A short description, e.g. ``Keras 3 functional, 3 inputs``.
    obj : object
        The object itself.
    source : Source or None
        The object opened for the export backend, when it was opened to be listed
        (its candidates are then listed once).
    """

    name: str
    kind: Kind
    description: str
    obj: Any = field(repr=False, compare=False)
    source: Any = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        """``model  (Keras 3 functional, 3 inputs)``, for a dropdown."""
        return f"{self.name}  ({self.description})"


def shape_tuple(shape: Any) -> Shape:
    """A tuple of ``int`` or ``None`` from a ``tf.TensorShape``, a Keras shape or a tuple;
    ``None`` when the rank is unknown."""
    if shape is None:
        return None
    if hasattr(shape, "rank"):  # tf.TensorShape
        if shape.rank is None:
            return None
        shape = shape.as_list()
    return tuple(None if dim is None else int(dim) for dim in shape)


def is_valid_alias(alias: str) -> bool:
    """Whether ``alias`` can name a signature input or output.

    A valid alias starts with a letter and holds only letters, digits and
    underscores, and is not a Python keyword (clients pass inputs as keyword
    arguments).
    """
    return bool(_ALIAS.match(alias)) and not keyword.iskeyword(alias)


def clean_alias(name: str, fallback: str = "tensor") -> str:
    """Turn a tensor or layer name into a valid alias.

    ``"dense_1/BiasAdd:0"`` becomes ``"dense_1_biasadd"``; a name with nothing
    usable becomes ``fallback``.
    """
    if name.endswith(":0"):
        name = name[:-2]
    text = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").lower()
    text = re.sub(r"_+", "_", text)
    if not text:
        return fallback
    if not text[0].isalpha():
        text = f"{fallback}_{text}"
    if keyword.iskeyword(text):
        text += "_"
    return text if is_valid_alias(text) else fallback


def unique_aliases(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """Make aliases unique by appending ``_1``, ``_2`` to repeats, in order."""
    seen = set(taken)
    result = []
    for name in names:
        alias, number = name, 1
        while alias in seen:
            alias = f"{name}_{number}"
            number += 1
        seen.add(alias)
        result.append(alias)
    return result
