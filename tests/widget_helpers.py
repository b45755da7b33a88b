"""Drive and read the widgets in tests: the text of an HTML pane, the cells of its tables,
the rows of the Signatures tab, and the SavedModel a click wrote."""

from __future__ import annotations

from html.parser import HTMLParser


class TableText(HTMLParser):
    """The text of an HTML fragment, and the cell texts of each table row."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.chunks: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append("")

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data

    @property
    def text(self) -> str:
        """All text, whitespace collapsed."""
        return " ".join(" ".join(self.chunks).split())


def html_text(html: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return TableText(html).text


def table_rows(html: str) -> list[list[str]]:
    """The cell texts of every table row (the header row first)."""
    return TableText(html).rows


def served(tf, path, signature="serving_default", **inputs):
    """Reload a SavedModel with TensorFlow and run one signature: ``{alias: array}``."""
    loaded = tf.saved_model.load(str(path))
    return {key: value.numpy() for key, value in loaded.signatures[signature](**inputs).items()}


def quiet(widget, directory):
    """Point an export or convert widget at ``directory`` and switch verification off."""
    widget.target.directory.value = str(directory)
    widget.target.verify.value = False
    return widget


def signature_rows(widget) -> set[tuple[str, ...]]:
    """(signature, direction, alias) of every row of the widget's Signatures tab."""
    rows = table_rows(widget.results.panes["signatures"].value)
    assert rows[0][:4] == ["signature", "method", "direction", "alias"]
    return {(row[0], row[2], row[3]) for row in rows[1:]}
