"""Text and HTML rendering of real SavedModels."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser

import pytest

import savedmodel_widgets as smw
from savedmodel_widgets.savedmodel.text import format_bytes

VOID_TAGS = {"br", "hr", "img", "meta", "input", "link"}


class TagBalance(HTMLParser):
    """Records tags, and fails on a closing tag that does not match the open one."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(tag)
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (98_200, "98.2 kB"),
        (51_300_000, "51.3 MB"),
        (2 * 10**12, "2.0 TB"),
        (7 * 10**15, "7000.0 TB"),
    ],
)
def test_format_bytes(size, text):
    assert format_bytes(size) == text


def test_text_tree_lists_every_file_with_its_size(saved_models):
    info = smw.read_saved_model(saved_models["module"])
    lines = info.tree().splitlines()
    assert lines[0].startswith(info.path)
    for entry in info.files:
        label = f"{entry.name}{'/' if entry.is_dir else ''}  ({format_bytes(entry.size)})"
        matching = [line for line in lines if line.endswith(label)]
        assert matching, label
        indent = matching[0].index(entry.name)
        assert indent == 4 * (entry.depth + 1)
    first_dir = next(n for n, line in enumerate(lines) if "variables/" in line)
    first_file = next(n for n, line in enumerate(lines) if "saved_model.pb" in line)
    assert first_dir < first_file


@pytest.mark.parametrize("name", ["keras3", "builder", "sparse_input", "multi_tag"])
def test_html_is_well_formed_and_shows_everything(saved_models, name):
    info = smw.read_saved_model(saved_models[name])
    page = info._repr_html_()
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert "script" not in parser.seen and "details" in parser.seen
    for row in info.signature_rows():
        assert row["alias"] in page and row["signature"] in page
    for entry in info.files:
        assert entry.name in page
    for target in ("tfserving", "eas"):
        for result in info.check(target):
            assert result.code in page


def test_html_escapes_names(saved_model_copy):
    path = saved_model_copy("simple_save")
    weird = path + "_<b>"
    shutil.move(path, weird)
    page = smw.inspect(weird)._repr_html_()
    assert "_&lt;b&gt;" in page and "_<b>" not in page


def test_signature_table_columns(saved_models):
    table = smw.read_saved_model(saved_models["multi_tag"]).signature_table()
    assert list(table.columns) == [
        "tags",
        "signature",
        "method",
        "direction",
        "alias",
        "tensor",
        "dtype",
        "shape",
    ]
    single = smw.read_saved_model(saved_models["simple_save"]).signature_table()
    assert "tags" not in single.columns
    assert set(single["direction"]) == {"input", "output"}
    signature = smw.read_saved_model(saved_models["simple_save"]).signature()
    assert (signature.input_aliases, signature.output_aliases) == (("image",), ("scores",))


@pytest.mark.parametrize(
    ("name", "shown"),
    [("table_legacy_init_op", "legacy_init_op"), ("table_simple_save", None)],
)
def test_init_op_is_shown_in_text_and_html(saved_models, name, shown):
    from savedmodel_widgets.savedmodel.text import render_summary

    info = smw.read_saved_model(saved_models[name])
    assert info.serving_meta_graph.init_op == (shown or "")
    assert f"  init op: {shown or 'none'}\n" in render_summary(info)
    html = "<code>legacy_init_op</code>" if shown else "none"
    assert f"<div>init op: {html}</div>" in info._repr_html_()
