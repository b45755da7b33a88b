"""Pick tensors for one side of a signature: a filter box over the candidates, and the
picked tensors with an alias box each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from html import escape

import ipywidgets as widgets
import traitlets

from ..savedmodel.text import count_text
from ..sources import Candidate, is_valid_alias, unique_aliases
from ._close import close_tree
from ._status import warning_html

__all__ = [
    "MAX_SHOWN",
    "PICKED_MARK",
    "TensorPicker",
]

MAX_SHOWN = 100
"""Candidates listed at most; typing in the filter box narrows the rest."""

PICKED_MARK = "✓ "
"""Marks a listed candidate that is already picked."""


class TensorPicker(widgets.VBox):
    """Pick the input (or output) tensors of a signature and give each an alias.

    A filter box narrows the candidates as you type (every word must appear in
    the name, dtype, role or op); the list shows at most :data:`MAX_SHOWN` of
    them, so a graph of 20,000 tensors stays quick, and marks those already
    picked with :data:`PICKED_MARK`. "Add" picks the selected candidate; each
    picked tensor gets a row with its alias box and a remove button.

    Parameters
    ----------
    title : str
        ``Inputs`` or ``Outputs``.
    candidates : sequence of Candidate
        What can be picked, in display order.
    picks : iterable of (alias, candidate name)
        The tensors picked at the start.
    taken : callable, optional
        Returns aliases used elsewhere in the signature, so a new pick's
        suggested alias does not repeat them.
    """

    picks = traitlets.Tuple(help="The picked tensors as (alias, candidate name) pairs, in order.")

    def __init__(
        self,
        title: str,
        candidates: Sequence[Candidate],
        picks: Iterable[tuple[str, str]] = (),
        taken: Callable[[], Iterable[str]] | None = None,
        **kwargs: object,
    ) -> None:
        self.candidates = list(candidates)
        self._by_name = {candidate.name: candidate for candidate in self.candidates}
        self._keys = [f"{c.name} {c.dtype} {c.role} {c.detail}".lower() for c in self.candidates]
        self._taken = taken or (lambda: ())
        self.title = widgets.HTML(f"<b>{escape(title)}</b>")
        self.filter = widgets.Text(
            placeholder="Filter by name, dtype or op",
            continuous_update=True,
            layout=widgets.Layout(width="32em"),
        )
        self.matches = widgets.Select(rows=6, layout=widgets.Layout(width="32em"))
        self.count = widgets.HTML()
        self.add_button = widgets.Button(description="Add", icon="plus",
                                         tooltip=f"Add the selected tensor to the {title.lower()}",
                                         layout=widgets.Layout(width="6em"))
        self.rows = widgets.VBox()
        self.message = widgets.HTML()
        super().__init__(
            [
                self.title,
                widgets.HBox([self.filter, self.count]),
                widgets.HBox([self.matches, self.add_button]),
                self.rows,
                self.message,
            ],
            **kwargs,
        )
        self.layout.margin = "0 1em 0 0"
        self._rows: dict[str, tuple[widgets.Text, widgets.HBox]] = {}
        self._shown: list[Candidate] = []
        self._wire()
        self.set_picks(picks)
        self._apply_filter()

    def _wire(self) -> None:
        self.filter.observe(lambda change: self._apply_filter(), "value")
        self.add_button.on_click(lambda button: self.add(self.matches.value))

    # Filtering -------------------------------------------------------------------

    def matching(self, text: str) -> list[Candidate]:
        """The candidates whose name, dtype, role or op contain every word of ``text``."""
        words = text.lower().split()
        if not words:
            return self.candidates
        return [candidate for candidate, key in zip(self.candidates, self._keys, strict=True)
                if all(word in key for word in words)]

    def _apply_filter(self) -> None:
        found = self.matching(self.filter.value)
        shown = found[:MAX_SHOWN]
        self._shown = shown
        self._list_shown()
        if shown:
            self.matches.value = shown[0].name
        total = len(self.candidates)
        if len(found) > len(shown):
            text = (f"{len(found):,} of {total:,} match; the first {len(shown)} are listed, "
                    "type to narrow")
        elif self.filter.value.strip():
            text = f"{len(found):,} of {total:,} match"
        else:
            text = count_text(total, "tensor")
        self.count.value = f"<small>{escape(text)}</small>"
        self.add_button.disabled = not shown

    def _list_shown(self) -> None:
        """List the shown candidates, the picked ones marked; the selection stays."""
        selected = self.matches.value
        self.matches.options = [
            (f"{PICKED_MARK}{candidate.label}" if candidate.name in self._rows
             else candidate.label, candidate.name)
            for candidate in self._shown
        ]
        if any(candidate.name == selected for candidate in self._shown):
            self.matches.value = selected

    # Picks -----------------------------------------------------------------------

    def add(self, name: str | None, alias: str | None = None) -> None:
        """Pick the candidate called ``name``, with ``alias`` or its suggested alias.

        A candidate that is already picked is not added again; the message says so.
        """
        if not name:
            return
        candidate = self._by_name.get(name)
        if candidate is None:
            self.message.value = warning_html(f"There is no tensor called {name!r} here.")
            return
        if name in self._rows:
            alias_now = self._rows[name][0].value
            self.message.value = warning_html(f"{name} is already picked as {alias_now!r}.")
            return
        if alias is None:
            taken = [*self._taken(), *(a for a, _ in self.picks)]
            alias = unique_aliases([candidate.alias], taken)[0]
        self.message.value = ""
        self._add_row(alias, candidate)
        self._show_rows()

    def remove(self, name: str) -> None:
        """Unpick the candidate called ``name``."""
        removed = self._rows.pop(name, None)
        if removed is not None:
            self._show_rows()
            close_tree(removed[1])

    def set_picks(self, picks: Iterable[tuple[str, str]]) -> None:
        """Replace the picked tensors with ``(alias, candidate name)`` pairs."""
        replaced = [row for _, row in self._rows.values()]
        self._rows = {}
        for alias, name in picks:
            candidate = self._by_name.get(name)
            if candidate is not None and name not in self._rows:
                self._add_row(alias, candidate)
        self._show_rows()
        for row in replaced:
            close_tree(row)

    def alias_box(self, name: str) -> widgets.Text:
        """The alias box of the picked candidate called ``name``."""
        if name not in self._rows:
            raise KeyError(f"{name!r} is not picked; picked: {list(self._rows)}")
        return self._rows[name][0]

    def _add_row(self, alias: str, candidate: Candidate) -> None:
        text = widgets.Text(value=alias, layout=widgets.Layout(width="14em"),
                            tooltip=f"The alias a client uses for {candidate.name}")
        label = widgets.HTML(
            f"<code>{escape(candidate.name)}</code> <small>{escape(candidate.dtype)} "
            f"{escape(candidate.shape_text)} · {escape(candidate.role)}"
            f"{' · ' + escape(candidate.detail) if candidate.detail else ''}</small>"
        )
        remove = widgets.Button(icon="times", tooltip=f"Remove {candidate.name}",
                                layout=widgets.Layout(width="2.5em"))
        text.observe(lambda change: self._sync(), "value")
        remove.on_click(lambda button: self.remove(candidate.name))
        self._rows[candidate.name] = (text, widgets.HBox([text, label, remove]))

    def _show_rows(self) -> None:
        self.rows.children = [row for _, row in self._rows.values()]
        self._list_shown()
        self._sync()

    def _sync(self) -> None:
        self.picks = tuple((text.value.strip(), name) for name, (text, _) in self._rows.items())
        bad = [alias for alias, _ in self.picks if not is_valid_alias(alias)]
        if bad:
            self.message.value = warning_html(
                f"Not a valid alias: {', '.join(map(repr, bad))}. Use letters, digits and "
                "underscores, starting with a letter."
            )
        elif self.message.value and "valid alias" in self.message.value:
            self.message.value = ""
