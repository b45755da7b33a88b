"""The interface every kind of source implements for the export layer."""

from __future__ import annotations

import abc
import difflib
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExportSpecError
from ._candidate import Candidate, Kind, clean_alias, unique_aliases

if TYPE_CHECKING:
    import numpy

    from ..exporter import SignatureSpec

Progress = Callable[[str], None]


class Source(abc.ABC):
    """A live object wrapped for listing candidates, exporting and evaluating.

    Subclasses implement one kind each; :func:`~savedmodel_widgets.sources.open_source`
    picks the right one.
    """

    kind: Kind
    supports_methods: tuple[str, ...] = ("predict",)
    supports_tags: bool = False

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
        """Write a SavedModel with these signatures into ``path`` (which does not exist)."""

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


def suggest_aliases(candidates: Sequence[Candidate]) -> dict[str, str]:
    """``{alias: candidate name}`` with each candidate's suggested alias made unique."""
    aliases = unique_aliases(c.alias or clean_alias(c.name) for c in candidates)
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
