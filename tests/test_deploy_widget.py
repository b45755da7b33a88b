"""The Deploy tab of the export and inspect widgets, driven through traits and clicks: the
files are written by the real deploy backend, read back here, and the warm-up requests are
replayed against the real preview server, whose answers are the model's own predictions.

Two tests start a preview server (one replay each); the others run no TensorFlow.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from serving_models import build_keras_classifier, sample_images, write_keras_classifier
from widget_helpers import html_text, quiet

from savedmodel_widgets.deploy.eas_service import service_name_problem
from savedmodel_widgets.deploy.eas_warmup import read_eas_warmup
from savedmodel_widgets.deploy.tfserving_warmup import read_tfserving_warmup
from savedmodel_widgets.runtimes.catalogue import RELEASES, installed_release
from savedmodel_widgets.widgets import ExportWidget, InspectWidget
from savedmodel_widgets.widgets.deploy_panel import default_target, downloads_html
from savedmodel_widgets.widgets.input_choices import SAMPLE

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
ROWS = np.random.default_rng(11).random((4, 8), dtype=np.float32)
EAS_TARGET = "eas:tensorflow_cpu_1.15"


def file_state(paths):
    """Each file's bytes and modification time, to see that nothing was touched."""
    return {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in paths}


def download_links(html: str) -> dict[str, bytes]:
    """``{file name: the bytes its data: link carries}`` of a downloads pane."""
    links = re.findall(r'<a download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', html)
    return {name: base64.b64decode(data) for name, data in links}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """The classifier's versions 1 and 2 under ``classifier/``, and the models."""
    parent = tmp_path_factory.mktemp("deploy") / "classifier"
    return parent, write_keras_classifier(str(parent))


def test_inspect_widget_writes_an_eas_kit_refuses_to_replace_it_then_replaces_it_and_replays_it(
        classifier, tmp_path):
    parent, models = classifier
    widget = InspectWidget(parent, root=parent)
    panel = widget.deploy
    assert widget.view.tabs.titles[-1] == "Deploy"
    assert panel.info is widget.info
    assert panel.target.value == f"tfserving:{installed_release()}"
    widget.runtime.value = EAS_TARGET  # the Runtime the checks are for leads the Deploy tab
    assert panel.target.value == EAS_TARGET
    assert panel.eas_options.layout.display == ""
    assert panel.tfserving_options.layout.display == "none"
    assert list(panel.warmup_signature.options) == [("serving_default", "serving_default")]
    assert panel.warmup_signature.value == "serving_default"  # EAS warms up one signature

    for typed in ("d", "di", "digits", "digits-", "digits-v1", "Digits_v1", "digits_v1"):
        panel.service_name.value = typed  # as each key press sends it
        problem = service_name_problem(typed)
        assert html_text(panel.service_name_note.value) == (problem or "")
        assert panel.write_button.disabled == bool(problem)
    assert problem is None

    panel.namespace = {"rows": ROWS}
    panel.refresh_button.click()
    image = panel.input_choices["serving_default"].dropdowns["image"]
    assert list(image.options) == [SAMPLE, "rows"]
    image.value = "rows"
    panel.out.value = str(tmp_path / "eas")
    panel.write_button.click()
    kit = panel.kit
    assert panel.error == "" and kit is not None, panel.error
    assert kit.target.name == EAS_TARGET and kit.path == widget.info.path
    assert all(path.is_file() for path in kit.files.values())
    assert all(tmp_path / "eas" in path.parents for path in kit.files.values())
    assert panel.kit_view.value == kit._repr_html_()
    assert ("the checks below found no error" in html_text(panel.status.value)) == kit.ready
    shown = html_text(panel.kit_view.value)
    assert kit.findings and all(finding.code in shown for finding in kit.findings)
    assert download_links(panel.downloads.value) == {
        path.name: path.read_bytes() for path in kit.files.values()}
    service_file = kit.files["service"]
    service = json.loads(service_file.read_text())
    assert service["name"] == "digits_v1" and service["processor"] == "tensorflow_cpu_1.15"
    assert service["metadata"]["instance"] == 1
    assert service["model_path"] == f"oss://YOUR-BUCKET/path/to/{kit.files['archive'].name}"
    assert read_eas_warmup(kit.files["eas_warmup"]).signature_name == "serving_default"
    assert_allclose(read_eas_warmup(kit.files["eas_warmup"]).inputs["image"], ROWS)
    assert "model-path-placeholder" in shown

    before = file_state(kit.files.values())
    panel.instances.value = 2
    panel.write_button.click()  # without Replace existing files
    assert "already exist" in panel.error and "Nothing was written" in panel.error
    assert html_text(panel.status.value) == panel.error
    assert "already exist" in html_text(panel.files_note.value)
    assert file_state(kit.files.values()) == before
    assert panel.kit is kit
    assert (panel.service_name.value, panel.instances.value, image.value) == (
        "digits_v1", 2, "rows")

    panel.overwrite.value = True  # a choice changed: the refusal is no longer current
    assert panel.error == "" and panel.status.value == ""
    panel.write_button.click()
    assert panel.error == "" and panel.kit is not kit
    assert json.loads(service_file.read_text())["metadata"]["instance"] == 2

    panel.replay_button.click()
    assert [answer.ok for answer in panel.replayed] == [True] * len(panel.kit.requests), \
        [answer.error for answer in panel.replayed]
    assert {answer.protocol for answer in panel.replayed} == {"eas"}
    assert_allclose(panel.replayed[0].outputs["scores"], np.asarray(models[2](ROWS)),
                    **TOLERANCE)
    assert html_text(panel.status.value) == (
        f"The preview server ({kit.files['archive'].name} unpacked) answered the 1 warm-up "
        "request sent by the EAS protocol.")
    widget.close()


def test_export_widget_passes_its_export_to_the_deploy_tab_which_writes_a_tfserving_kit(
        tmp_path, tf):
    model = build_keras_classifier(seed=5)
    rows = sample_images(3)
    widget = quiet(ExportWidget(namespace={"model": model, "rows": rows}), tmp_path / "model")
    panel = widget.deploy
    assert widget.results.tabs.titles[-1] == "Deploy"
    assert panel.info is None and panel.write_button.disabled
    widget.export_button.click()
    assert widget.result is not None, widget.error
    assert panel.info is widget.result.info
    assert panel.target.value == default_target(widget.result.spec.runtime)
    assert panel.target.value.startswith("tfserving:")
    assert panel.eas_options.layout.display == "none"
    assert panel.tfserving_options.layout.display == ""
    assert panel.warmup_signature.value == ""  # every predict signature

    panel.model_name.value = "digits"
    assert list(panel.version_policy.options)[-1] == ("version 1 only", (1,))
    panel.version_policy.value = (1,)
    panel.out.value = str(tmp_path / "serving")
    for choices in panel.input_choices.values():
        choices.dropdowns["image"].value = "rows"
    panel.rows_per_request.value = 1  # a request per row
    panel.write_button.click()
    kit = panel.kit
    assert panel.error == "" and kit is not None, panel.error
    assert all(path.is_file() for path in kit.files.values())
    warmup = kit.files["tfserving_warmup"]
    assert warmup.parent.parent.resolve() == widget.result.path.resolve()
    records = list(tf.data.TFRecordDataset(str(warmup)).as_numpy_iterator())
    assert len(records) == len(kit.requests) == 3 * len(panel.input_choices)
    assert {request.batch_size for request in kit.requests} == {1}
    assert [request.signature_name for request in read_tfserving_warmup(warmup)] == [
        request.signature_name for request in kit.requests]
    config = kit.files["models_config"]
    assert config.parent == tmp_path / "serving"
    assert 'name: "digits"' in config.read_text()
    assert re.search(r"specific \{\s*versions: 1\s*\}", config.read_text()), config.read_text()
    assert set(download_links(panel.downloads.value)) == {
        path.name for path in kit.files.values()}
    shown = html_text(panel.kit_view.value)
    assert all(finding.code in shown for finding in kit.findings)

    panel.replay_button.click()
    assert [answer.ok for answer in panel.replayed] == [True] * len(kit.requests), \
        [answer.error for answer in panel.replayed]
    assert {answer.protocol for answer in panel.replayed} == {"rest"}
    assert html_text(panel.status.value).endswith(
        " all 3 warm-up requests sent by TF Serving REST.")
    for request, answer in zip(kit.requests, panel.replayed, strict=True):
        assert_allclose(answer.outputs["scores"], np.asarray(model(request.inputs["image"])),
                        **TOLERANCE)

    widget.set_source(None, source_name="model", directory="")
    assert panel.info is None and panel.kit is None and panel.write_button.disabled
    widget.close()


def test_a_notebook_array_gone_before_write_is_said_and_nothing_is_written(classifier,
                                                                           tmp_path):
    parent, _ = classifier
    widget = InspectWidget(parent, root=parent)
    panel = widget.deploy
    namespace = {"rows": ROWS}
    panel.namespace = namespace
    panel.refresh_inputs()
    panel.input_choices["serving_default"].dropdowns["image"].value = "rows"
    panel.out.value = str(tmp_path / "kit")
    del namespace["rows"]
    assert panel.write() is None
    assert "no variable 'rows'" in panel.error and panel.kit is None
    assert not (tmp_path / "kit").exists()
    assert not (Path(widget.info.path) / "assets.extra").exists()
    widget.close()


def test_the_default_target_follows_the_runtime_the_export_was_made_for():
    assert default_target("eas:tensorflow_gpu_2.7") == "eas:tensorflow_gpu_2.7"
    assert default_target("tfserving:2.7") == "tfserving:2.7"
    assert default_target("tf:2.4") == "tfserving:2.4"
    assert default_target("tf:1.12") == f"tfserving:{RELEASES[-1]}"  # no TF Serving 1.12
    assert default_target(None) == default_target("installed") == (
        f"tfserving:{installed_release()}")


def test_a_file_over_the_download_limit_is_named_by_its_path(tmp_path):
    small, large = tmp_path / "service.json", tmp_path / "model.tar.gz"
    small.write_text('{"name": "digits"}')
    large.write_bytes(bytes(2000))
    html = downloads_html({"service": small, "archive": large}, limit=1000)
    assert download_links(html) == {"service.json": b'{"name": "digits"}'}
    assert f"{large} (too large to download here" in html_text(html)


def test_an_export_outside_a_version_folder_is_refused_for_tf_serving_before_writing(
        classifier, tmp_path):
    parent, _ = classifier
    flat = tmp_path / "flat_export"
    shutil.copytree(parent / "1", flat)
    widget = InspectWidget(flat, root=tmp_path)
    panel = widget.deploy
    assert panel.target.value.startswith("tfserving:")
    note = html_text(panel.files_note.value)
    assert "version" in note and panel.write_button.disabled, note
    assert list(panel.version_policy.options) == [("the latest version", "latest"),
                                                  ("all versions", "all")]

    panel.target.value = EAS_TARGET  # EAS takes an archive of any SavedModel folder
    assert not panel.write_button.disabled
    assert html_text(panel.files_note.value).startswith("Writes ")
    assert re.findall(r"<code>([^<]+)</code>", panel.files_note.value) == [
        "model.tar.gz", "service.json", "warm_up.bin", str(tmp_path / "flat_export.eas")]
    assert panel.out.placeholder == str(tmp_path / "flat_export.eas")
    panel.archive_format.value = "zip"
    assert "model.zip" in html_text(panel.files_note.value)
    assert list(tmp_path.iterdir()) == [flat]  # nothing written by looking
    widget.close()
