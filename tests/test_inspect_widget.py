"""InspectWidget: real SavedModels written by TensorFlow, the widget driven through its
traits and ``Button.click()`` as a notebook would, no browser.

Only one test clicks Verify on a real export (its worker process imports TensorFlow,
about 5 s); the failing Verify needs no worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from widget_helpers import TableText

from savedmodel_widgets.runtimes import INSTALLED
from savedmodel_widgets.savedmodel.checks import check, verdict
from savedmodel_widgets.savedmodel.runtime_checks import on_runtime
from savedmodel_widgets.widgets.inspect_widget import InspectWidget

REPO = Path(__file__).resolve().parent.parent
GREEN, RED = "#26a269", "#b00020"


def pane(widget: InspectWidget, section: str) -> TableText:
    return TableText(widget.view.panes[section].value)


@pytest.fixture
def empty_root(tmp_path: Path) -> Path:
    """A root without SavedModels, so the Found dropdown does not scan the checkout."""
    root = tmp_path / "empty"
    root.mkdir()
    return root


@pytest.fixture
def builder_widget(saved_models, empty_root) -> InspectWidget:
    return InspectWidget(saved_models["builder"], root=empty_root)


# --- showing a SavedModel ----------------------------------------------------


def test_signature_tab_shows_the_exports_signature_and_aliases(builder_widget, saved_models):
    rows = pane(builder_widget, "signatures").rows

    assert rows[0] == ["signature", "method", "direction", "alias", "tensor", "dtype", "shape"]
    cells = {(r[0], r[2], r[3], r[5], r[6]) for r in rows[1:]}
    assert cells == {
        ("predict_images", "input", "images", "float32", "(None, 4)"),
        ("predict_images", "output", "scores", "float32", "(None, 3)"),
        ("predict_images", "output", "classes", "string", "(None,)"),
    }
    assert all(r[1] == "tensorflow/serving/predict" for r in rows[1:])
    assert builder_widget.info.path == saved_models["builder"]
    assert builder_widget.path == builder_widget.path_text.value == saved_models["builder"]
    assert builder_widget.error == "" and builder_widget.status.value == ""
    assert builder_widget.view.layout.display == ""
    assert not builder_widget.verify_button.disabled
    assert builder_widget.version.layout.display == "none"


def test_files_checks_variables_and_ops_tabs(builder_widget):
    info = builder_widget.info
    files = pane(builder_widget, "files").text
    assert "saved_model.pb" in files and "variables/" in files
    assert "variables.index" in files

    checks = pane(builder_widget, "checks").text
    assert f"TF Serving{on_runtime(INSTALLED)}: {verdict(check(info, 'tfserving', INSTALLED))}" \
        in checks
    assert f"EAS{on_runtime(INSTALLED)}: {verdict(check(info, 'eas', INSTALLED))}" in checks

    variables = pane(builder_widget, "variables")
    assert {"W", "b"} <= {row[0] for row in variables.rows[1:]}
    ops = pane(builder_widget, "ops")
    assert "meta graph serve" in ops.text
    assert "Placeholder" in {row[0] for row in ops.rows[1:]}
    assert pane(builder_widget, "verification").text == (
        "Not verified yet. Click Verify to reload this SavedModel in a fresh Python process "
        "with TensorFlow and run each signature on generated inputs.")
    assert info.path in TableText(builder_widget.view.header.value).text


def test_setting_path_from_code_reads_it_like_typing(builder_widget, saved_models):
    seen = []
    builder_widget.observe(lambda change: seen.append(change["new"]), "info")

    builder_widget.path = saved_models["simple_save"]

    assert builder_widget.path_text.value == saved_models["simple_save"]
    assert [info.path for info in seen] == [saved_models["simple_save"]]
    aliases = {row[3] for row in pane(builder_widget, "signatures").rows[1:]}
    assert aliases == {"image", "scores"}

    builder_widget.path_text.value = saved_models["pbtxt"]  # typed, then Enter

    assert builder_widget.path == saved_models["pbtxt"]
    assert builder_widget.info.format == "pbtxt"
    assert "saved_model.pbtxt" in pane(builder_widget, "files").text


def test_clearing_the_path_hides_the_view(builder_widget):
    builder_widget.path_text.value = ""

    assert builder_widget.info is None and builder_widget.error == ""
    assert builder_widget.view.layout.display == "none"
    assert builder_widget.verify_button.disabled


# --- found under the root, versions ------------------------------------------


@pytest.fixture
def workdir(saved_models, tmp_path: Path, monkeypatch) -> Path:
    """A working directory with a plain export, a versioned one and a folder of notes."""
    shutil.copytree(saved_models["builder"], tmp_path / "export" / "images")
    shutil.copytree(saved_models["versioned"], tmp_path / "served" / "linear")
    (tmp_path / "notes").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_found_dropdown_lists_exports_and_choosing_one_shows_it(workdir):
    widget = InspectWidget()

    assert widget.found.options == (
        (f"choose one of the 2 SavedModels found in {workdir}", ""),
        ("export/images", "export/images"),
        ("served/linear  (versions 1, 3)", "served/linear"),
    )
    assert widget.info is None and widget.view.layout.display == "none"
    assert widget.verify_button.disabled

    widget.found.value = "export/images"

    assert widget.path == widget.path_text.value == "export/images"
    assert widget.info.path == str(workdir / "export" / "images")
    assert "predict_images" in pane(widget, "signatures").text

    reads = []
    widget.observe(lambda change: reads.append(change["new"]), "info")
    widget.path_text.value = "served/linear/"  # typed: the dropdown follows, the text stays
    assert widget.found.value == "served/linear"
    assert widget.path == widget.path_text.value == "served/linear/"
    assert [info.version for info in reads] == [3]
    widget.path_text.value = "notes"
    assert widget.found.value == ""


def test_the_folder_holding_the_exports_says_to_choose_one_in_found(workdir):
    widget = InspectWidget()

    widget.path_text.value = "."

    assert widget.error == (". is not a SavedModel itself, but it holds 2 SavedModels in its "
                            "subfolders: export/images, served/linear. Choose one in Found.")
    assert widget.info is None and widget.found.value == ""
    widget.path_text.value = "export"
    assert widget.error == ("export is not a SavedModel itself, but it holds a SavedModel in "
                            "a subfolder: export/images. Choose it in Found.")
    widget.found.value = "export/images"
    assert widget.error == "" and widget.info is not None


def test_found_placeholder_names_the_folder_and_says_when_nothing_is_there(
        empty_root, monkeypatch):
    monkeypatch.setenv("HOME", str(empty_root.parent))
    assert InspectWidget(root=empty_root).found.options == (
        ("no SavedModel found in ~/empty; type a path", ""),)
    assert InspectWidget(root=empty_root.parent).found.options[0] == (
        "no SavedModel found in ~; type a path", "")


def test_refresh_finds_new_exports_and_reads_the_path_again(workdir, saved_models):
    widget = InspectWidget(root=workdir, path="later")
    assert widget.error and widget.info is None

    shutil.copytree(saved_models["simple_save"], workdir / "later")
    widget.refresh_button.click()

    assert str(workdir / "later") in [value for _, value in widget.found.options]
    assert widget.found.value == str(workdir / "later")
    assert widget.info is not None and widget.error == ""


def test_versioned_parent_offers_the_versions(saved_models, empty_root):
    widget = InspectWidget(saved_models["versioned"], root=empty_root)

    assert widget.version.layout.display == ""
    assert widget.version.options == (1, 3)
    assert widget.version.value == 3 == widget.info.version
    assert "version 3 (other versions: 1)" in TableText(widget.view.header.value).text

    widget.version.value = 1

    assert widget.info.version == 1
    assert widget.info.path == os.path.join(saved_models["versioned"], "1")
    assert widget.path == saved_models["versioned"]
    assert "version 1 (other versions: 3)" in TableText(widget.view.header.value).text
    assert {"serving_default", "predict_proba"} == {
        row[0] for row in pane(widget, "signatures").rows[1:]}

    widget.refresh_button.click()  # keeps the version chosen
    assert widget.info.version == 1

    widget.path = os.path.join(saved_models["versioned"], "3")  # a version directory itself
    assert widget.info.version == 3
    assert widget.version.layout.display == "none"


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (lambda tmp, copy: str(tmp / "missing"), "does not exist"),
        (lambda tmp, copy: str(tmp), "holds no saved_model.pb"),
        (lambda tmp, copy: truncate(copy("simple_save")), "is damaged or cut short"),
    ],
    ids=["missing", "not-a-saved-model", "damaged"],
)
def test_bad_path_shows_the_error_and_keeps_the_path(
    builder_widget, saved_models, saved_model_copy, tmp_path, make_path, message
):
    bad = make_path(tmp_path, saved_model_copy)

    builder_widget.path_text.value = bad

    assert message in builder_widget.error
    assert builder_widget.path_text.value == builder_widget.path == bad
    assert builder_widget.info is None and builder_widget.report is None
    assert builder_widget.view.layout.display == "none"
    assert builder_widget.verify_button.disabled
    status = builder_widget.status.value
    assert 'class="savedmodel-widgets-error"' in status and RED in status
    assert TableText(builder_widget.error).text in TableText(status).text

    builder_widget.path = saved_models["builder"]  # a later success clears the error
    assert builder_widget.error == "" and builder_widget.status.value == ""
    assert builder_widget.info is not None


def truncate(path: str) -> str:
    model = Path(path) / "saved_model.pb"
    model.write_bytes(model.read_bytes()[:40])
    return path


# --- verify --------------------------------------------------------------------


def test_verify_reloads_the_export_and_shows_the_report(saved_models, empty_root):
    widget = InspectWidget(saved_models["simple_save"], root=empty_root)
    disabled, statuses = [], []
    widget.verify_button.observe(lambda change: disabled.append(change["new"]), "disabled")
    widget.status.observe(lambda change: statuses.append(change["new"]), "value")

    widget.verify_button.click()

    assert disabled == [True, False]
    assert "fresh Python process" in statuses[0]
    report = widget.report
    assert report is not None and report.ok
    assert report.path == saved_models["simple_save"]
    assert [s.name for s in report.signatures] == ["serving_default"]
    verification = pane(widget, "verification")
    assert "passed" in verification.text
    # Not compared with a source: no source shape or max |diff| columns.
    assert verification.rows[0] == ["signature", "output", "dtype", "shape", "result"]
    assert "scores" in {row[1] for row in verification.rows[1:]}
    assert widget.view.tabs.selected_index == list(widget.view.panes).index("verification")
    assert report.summary() in TableText(widget.status.value).text
    assert GREEN in widget.status.value
    assert not widget.verify_button.disabled and widget.error == ""


def test_verify_of_a_deleted_export_says_why(saved_model_copy, empty_root):
    path = saved_model_copy("simple_save")
    widget = InspectWidget(path, root=empty_root)
    shutil.rmtree(path)

    widget.verify_button.click()

    assert widget.report is None
    assert "does not exist" in widget.error
    assert 'class="savedmodel-widgets-error"' in widget.status.value
    assert not widget.verify_button.disabled  # the shown model stays; fix and retry


# --- the widget's shape ------------------------------------------------------


def test_traits_are_documented_and_not_synced():
    traits = InspectWidget.class_own_traits()

    assert set(traits) == {"path", "info", "report", "error"}
    for trait in traits.values():
        assert trait.help
        assert not trait.metadata.get("sync")


def test_module_import_loads_no_tensorflow():
    code = (
        "import json, sys\n"
        "import savedmodel_widgets.widgets.inspect_widget\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('tensorflow', 'keras'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_runtime_dropdown_checks_and_verifies_for_that_runtime(tf, old_runtimes, tmp_path):
    from model_files import build_small_keras

    from savedmodel_widgets import export, suggest_spec

    path = export(suggest_spec(build_small_keras(), tmp_path / "default")).path
    widget = InspectWidget(path, root=tmp_path)
    assert "will not serve" not in pane(widget, "checks").text
    widget.runtime.value = "eas:tensorflow_cpu_1.15"
    checks = pane(widget, "checks").text
    assert "EAS on eas:tensorflow_cpu_1.15 (TensorFlow 1.15): will not serve" in checks
    assert "attr-not-in-runtime" in checks and "debug_name" in checks

    widget.verify_button.click()
    assert widget.report is not None and not widget.report.ok
    assert "debug_name" in widget.report.summary()
    assert "TensorFlow 1.15" in widget.report.runtime
