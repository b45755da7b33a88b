"""find_saved_models(): real SavedModels (copies of the session's exports) in a folder tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from savedmodel_widgets.savedmodel.layout import FoundSavedModel, find_saved_models


@pytest.fixture
def tree(saved_models, tmp_path: Path) -> Path:
    """A working folder with exports at several depths, and folders that must be skipped.

    ::

        export/digits/{1,2}        versioned parent (and digits/tmp-export, in progress)
        export/plain               a SavedModel with another copy inside it
        a/b/c/d/deep               a SavedModel five levels down
        a/b/c/versioned/{7}        a versioned parent four levels down
        .hidden/model, __pycache__/model, node_modules/model   skipped folders
        notes/                     no SavedModel
    """
    def copy(name: str, destination: str) -> None:
        shutil.copytree(saved_models[name], tmp_path / destination)

    copy("simple_save", "export/digits/1")
    copy("simple_save", "export/digits/2")
    copy("simple_save", "export/digits/tmp-export")
    copy("builder", "export/plain")
    copy("builder", "export/plain/inner")
    copy("pbtxt", "a/b/c/d/deep")
    copy("module", "a/b/c/versioned/7")
    for skipped in (".hidden", "__pycache__", "node_modules"):
        copy("module", f"{skipped}/model")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not a model")
    return tmp_path


def test_lists_plain_and_versioned_saved_models_sorted_by_path(tree: Path):
    found = find_saved_models(tree, max_depth=5)

    assert found == [
        FoundSavedModel(tree / "a/b/c/d/deep"),
        FoundSavedModel(tree / "a/b/c/versioned", (7,)),
        FoundSavedModel(tree / "export/digits", (1, 2)),
        FoundSavedModel(tree / "export/plain"),
    ]


def test_depth_limit_leaves_out_deeper_saved_models(tree: Path):
    paths = [item.path for item in find_saved_models(tree)]  # max_depth=4 by default

    # versioned/ (level 4) is looked into, so its versions are seen; d/deep (5) is not.
    assert paths == [tree / "a/b/c/versioned", tree / "export/digits", tree / "export/plain"]
    assert [item.path for item in find_saved_models(tree, max_depth=1)] == []
    assert [item.path for item in find_saved_models(tree / "export", max_depth=1)] == [
        tree / "export/digits", tree / "export/plain"]


def test_relative_root_gives_relative_paths_and_labels(tree: Path, monkeypatch):
    monkeypatch.chdir(tree / "export")

    found = find_saved_models()

    assert [item.label for item in found] == ["digits  (versions 1, 2)", "plain"]
    assert found[0].path == Path("digits")
    assert FoundSavedModel(Path("m"), (3,)).label == "m  (version 3)"


def test_root_that_is_a_saved_model_is_listed_alone(tree: Path):
    assert find_saved_models(tree / "export/plain") == [FoundSavedModel(tree / "export/plain")]
    assert find_saved_models(tree / "export/digits") == [
        FoundSavedModel(tree / "export/digits", (1, 2))]


def test_limit_keeps_the_nearest(tree: Path):
    found = find_saved_models(tree, max_depth=5, limit=2)

    assert [item.path for item in found] == [tree / "export/digits", tree / "export/plain"]


def test_empty_or_missing_root_finds_nothing(tmp_path: Path):
    assert find_saved_models(tmp_path) == []
    assert find_saved_models(tmp_path / "missing") == []
