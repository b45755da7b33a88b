"""The interface every kind of source implements for the export layer."""

from __future__ import annotations

import abc
import contextlib
import difflib
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExportSpecError
from ..savedmodel.info import Shape
from ..spec import SignatureSpec
from ._candidate import Candidate, Kind, clean_alias, unique_aliases

if TYPE_CHECKING:
    import numpy

__all__ = [
    "Progress",
    "Source",
    "TracedSource",
    "choices_text",
    "flat_outputs",
    "output_keys",
    "quiet_tensorflow_log",
    "structure_kind",
    "suggest_aliases",
]

Progress = Callable[[str], None]
"""Called with a short message at each step a source takes."""


class Source(abc.ABC):
    """A live object wrapped for listing candidates, exporting and evaluating.

    Subclasses implement one kind each; :func:`~savedmodel_widgets.sources.open_source`
    picks the right one.
    """

    kind: Kind
    supports_methods: tuple[str, ...] = ("predict",)
    supports_tags: bool = False
    feeds_any_tensor: bool = False
    """Whether any candidate can be a signature input (a TF1 graph can feed any tensor),
    not only the model's inputs."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    @abc.abstractmethod
    def describe(self) -> str:
        """A short description, e.g. ``Keras 3 functional, 2 inputs``."""

    @abc.abstractmethod
    def candidates(self) -> list[Candidate]:
        """Every tensor the user can pick, inputs first."""

    @abc.abstractmethod
    def suggest(self) -> tuple[dict[str, str], dict[str, str]]:
        """Default ``{alias: candidate}`` maps for inputs and for outputs."""

    @abc.abstractmethod
    def check_signature(self, signature: SignatureSpec) -> None:
        """Raise :class:`ExportSpecError` if the signature cannot be built from this source."""

    @abc.abstractmethod
    def write(
        self,
        signatures: Sequence[SignatureSpec],
        tags: Sequence[str],
        path: Path,
        progress: Progress,
    ) -> None:
        """Write a SavedModel with these signatures into ``path`` (which does not exist),
        calling ``progress`` exactly :meth:`write_steps` times."""

    @abc.abstractmethod
    def write_steps(self, signatures: Sequence[SignatureSpec]) -> int:
        """How many times :meth:`write` calls ``progress`` for these signatures."""

    @abc.abstractmethod
    def evaluate(
        self, signature: SignatureSpec, inputs: Mapping[str, numpy.ndarray]
    ) -> dict[str, numpy.ndarray]:
        """Run the live object on ``{alias: array}`` and return ``{alias: array}``."""

    # Shared helpers -------------------------------------------------------------

    @functools.cached_property
    def _by_role(self) -> dict[str, dict[str, Candidate]]:
        groups: dict[str, dict[str, Candidate]] = {"input": {}, "output": {}}
        for candidate in self.candidates():
            group = "input" if candidate.role == "input" else "output"
            groups[group].setdefault(candidate.name, candidate)
        return groups

    def input_candidate(self, name: str) -> Candidate:
        """The input candidate called ``name``, or an error naming the valid ones."""
        return _pick(self._by_role["input"], name, "input")

    def output_candidate(self, name: str) -> Candidate:
        """The output candidate called ``name``, or an error naming the valid ones."""
        return _pick(self._by_role["output"], name, "output")


class TracedSource(Source):
    """A TF2 source: each signature is a ``tf.function`` traced over :meth:`run`, and the
    functions are saved with ``tf.saved_model.save`` by :meth:`save`."""

    batch_unknown = False
    """Whether the first dimension of every input is made unknown in the signature."""

    @abc.abstractmethod
    def run(self, signature: SignatureSpec, values: Sequence[Any]) -> dict[str, Any]:
        """Call the model on the input values (in the signature's order): ``{alias: tensor}``."""

    @abc.abstractmethod
    def save(self, functions: dict[str, Any], path: Path, progress: Progress) -> None:
        """Save the traced signature functions into ``path``."""

    def input_specs(self, signature: SignatureSpec) -> list[tuple[str, Shape, str]]:
        """``(alias, shape, dtype)`` of each signature input, as the signature declares it."""
        specs = []
        for alias, name in signature.inputs:
            candidate = self.input_candidate(name)
            shape = candidate.shape
            if shape and self.batch_unknown:
                shape = (None, *shape[1:])
            specs.append((alias, shape, candidate.dtype))
        return specs

    @functools.cached_property
    def _traced(self) -> dict[SignatureSpec, Any]:
        return {}

    def concrete_function(self, signature: SignatureSpec) -> Any:
        """The traced serving function of one signature, keyed by the aliases (traced once
        per signature, so the export and its generated code share the trace)."""
        if signature not in self._traced:
            self._traced[signature] = self._trace(signature)
        return self._traced[signature]

    def _trace(self, signature: SignatureSpec) -> Any:
        import tensorflow as tf

        specs = [tf.TensorSpec(shape, dtype, name=alias)
                 for alias, shape, dtype in self.input_specs(signature)]

        def serve(*args: Any) -> dict[str, Any]:
            return self.run(signature, args)

        return tf.function(serve, input_signature=specs).get_concrete_function()

    def write(
        self,
        signatures: Sequence[SignatureSpec],
        tags: Sequence[str],
        path: Path,
        progress: Progress,
    ) -> None:
        functions = {}
        for signature in signatures:
            progress(f"Tracing signature {signature.name!r}")
            functions[signature.name] = self.concrete_function(signature)
        self.save(functions, path, progress)

    def write_steps(self, signatures: Sequence[SignatureSpec]) -> int:
        return len(signatures) + 1  # a trace per signature, then the save

    def evaluate(
        self, signature: SignatureSpec, inputs: Mapping[str, numpy.ndarray]
    ) -> dict[str, numpy.ndarray]:
        import numpy as np

        values = [inputs[alias] for alias, _ in signature.inputs]
        return {
            alias: np.asarray(t.numpy() if hasattr(t, "numpy") else t)
            for alias, t in self.run(signature, values).items()
        }


def output_keys(structure: Any) -> list[str]:
    """Names for a function's outputs: dict keys, ``output_0``... for a sequence, ``output``."""
    if isinstance(structure, Mapping):
        return [str(key) for key in structure]
    if isinstance(structure, (list, tuple)):
        return [f"output_{i}" for i in range(len(structure))]
    return ["output"]


def structure_kind(structure: Any) -> str:
    """``dict``, ``sequence`` or ``single``: the shape of a function's outputs."""
    if isinstance(structure, Mapping):
        return "dict"
    return "sequence" if isinstance(structure, (list, tuple)) else "single"


def flat_outputs(structure: Any) -> list[Any]:
    """A function's outputs in the order of :func:`output_keys`."""
    if isinstance(structure, Mapping):
        return list(structure.values())
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


@contextlib.contextmanager
def quiet_tensorflow_log() -> Iterator[None]:
    """Hold back TensorFlow's warnings (such as "deprecated" notices of the TF1 API, which
    the reference export uses on purpose) while the block runs."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def suggest_aliases(candidates: Sequence[Candidate], taken: Iterable[str] = ()) -> dict[str, str]:
    """``{alias: candidate name}`` with each candidate's suggested alias made unique
    (also against the aliases ``taken``)."""
    aliases = unique_aliases((c.alias or clean_alias(c.name) for c in candidates), taken)
    return dict(zip(aliases, (c.name for c in candidates), strict=True))


def choices_text(names: Sequence[str], wanted: str = "", limit: int = 12) -> str:
    """The valid names for a message: close matches first, at most ``limit``."""
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6) if wanted else []
    ordered = close + [name for name in names if name not in close]
    shown = ", ".join(repr(name) for name in ordered[:limit])
    more = len(ordered) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _pick(group: Mapping[str, Candidate], name: str, what: str) -> Candidate:
    try:
        return group[name]
    except KeyError:
        names = list(group)
        hint = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ExportSpecError(
            f"There is no {what} tensor called {name!r}.{did_you_mean} "
            f"Valid {what}s: {choices_text(names, name)}."
        ) from None
