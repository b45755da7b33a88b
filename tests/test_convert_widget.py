"""ConvertWidget: real model files opened and exported by driving the widget through its
traits and ``Button.click()``, then reloaded with TensorFlow and compared with the
predictions of the model that wrote each file (see ``model_files.py``).

Only one test verifies (its worker process imports TensorFlow, about 4 s).
"""

from __future__ import annotations

import numpy as np
import pytest
from model_files import build_scale_layer, build_small_keras
from numpy.testing import assert_allclose
from widget_helpers import html_text, quiet, served, signature_rows

from savedmodel_widgets.widgets import ConvertWidget
from savedmodel_widgets.widgets.convert_widget import NO_MODEL

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def assert_refused(widget: ConvertWidget) -> str:
    """The widget shows an error in red, holds no model and hides the editor; the message."""
    assert widget.error
    assert "savedmodel-widgets-error" in widget.file_status.value
    assert " ".join(widget.error.split()) == html_text(widget.file_status.value)
    assert widget.model_file is None
    assert widget.spec is None
    assert widget.editor.layout.display == "none"  # with the Export button in it
    return widget.error


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run in ``tmp_path``, so a default relative target like ``export/...`` stays there."""
    monkeypatch.chdir(tmp_path)


# The main flow ----------------------------------------------------------------------


def test_found_keras2_h5_is_opened_renamed_and_exported(tf, model_files, tmp_path):
    root = model_files.root
    widget = ConvertWidget(root=root, namespace={})
    options = dict((value, label) for label, value in widget.file_dropdown.options)
    found = len(widget.file_dropdown.options) - 1
    assert widget.file_dropdown.options[0] == (
        f"choose one of the {found} model files found in {root}", "")
    assert widget.file_dropdown.value == ""  # the placeholder is shown, not a blank
    assert widget.weights_into.value == "" and widget.weights_into.label == NO_MODEL
    assert {str(root / name) for name in ("keras2.h5", "keras3.keras", "lambda.h5",
                                          "small.weights.h5", "custom.keras", "tf1_run",
                                          "tf2_run")} <= set(options)
    assert options[str(root / "keras2.h5")].startswith(f"{root / 'keras2.h5'}  (")
    assert "Keras model by Keras 2" in options[str(root / "keras2.h5")]
    assert "needs trust" in options[str(root / "lambda.h5")]
    assert "needs the model's code" in options[str(root / "small.weights.h5")]
    assert widget.model_file is None and widget.editor.layout.display == "none"

    widget.file_dropdown.value = str(root / "keras2.h5")

    assert widget.path_box.value == str(root / "keras2.h5")
    opened = widget.model_file
    assert opened is not None and opened.path == root / "keras2.h5"
    assert opened.format == "keras-h5"
    status = html_text(widget.file_status.value)
    assert opened.describe() in status and "Written by Keras 2" in status
    assert widget.error == "" and widget.editor.layout.display == ""
    assert widget.target.directory.value == "export/keras2"
    assert widget.spec.source is opened.model
    editor = widget.signature_list.editors[0]
    assert editor.inputs.picks == (("pixels", "pixels"),)
    assert editor.outputs.picks == (("probabilities", "probabilities"),)

    # The reference: inputs={"image": model.input}, outputs={"scores": model.output}.
    editor.name_box.value = "predict_images"
    editor.inputs.alias_box("pixels").value = "image"
    editor.outputs.alias_box("probabilities").value = "scores"
    quiet(widget, tmp_path / "export" / "mnist")
    widget.export_button.click()

    assert widget.error == ""
    assert widget.result.path == tmp_path / "export" / "mnist" / "1"
    got = served(tf, widget.result.path, "predict_images", image=model_files.PIXELS)
    assert list(got) == ["scores"]
    assert_allclose(got["scores"], model_files.predictions["keras2"], **TOLERANCE)
    assert signature_rows(widget) == {("predict_images", "input", "image"),
                                      ("predict_images", "output", "scores")}
    code = html_text(widget.results.panes["code"].value)
    assert "load_model(" in code and "predict_images" in code and "scores" in code
    assert code.index("load_model(") < code.index("predict_images")
    assert widget.report is None
    assert "Not verified" in html_text(widget.results.panes["verification"].value)


def test_lambda_file_is_refused_until_trust_is_ticked(tf, model_files, tmp_path):
    path = str(model_files.root / "lambda.h5")
    widget = ConvertWidget(root=model_files.root, namespace={})
    widget.path_box.value = path

    message = assert_refused(widget)
    assert "'double' (Lambda layer)" in message
    assert "tick Trust code in this file" in message
    assert widget.path_box.value == path  # the user's choice is kept
    assert list(tmp_path.iterdir()) == []  # nothing written

    widget.trust.value = True  # re-opens the file

    assert widget.error == "" and widget.file_status.value.count("savedmodel-widgets-error") == 0
    assert widget.model_file.path == model_files.root / "lambda.h5"
    assert "safe_mode=False" in widget.model_file.load_code
    assert widget.editor.layout.display == ""
    quiet(widget, tmp_path / "out")
    widget.export_button.click()
    assert widget.error == ""
    got = served(tf, widget.result.path, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["lambda"], **TOLERANCE)


def test_tf1_checkpoint_folder_exported_as_predict_images_and_verified(tf, model_files,
                                                                      tmp_path):
    widget = ConvertWidget(root=model_files.root, namespace={})
    widget.path_box.value = str(model_files.root / "tf1_run")

    assert widget.error == ""
    opened = widget.model_file
    assert opened.format == "tf1-checkpoint" and opened.path.name == "model.ckpt-1000"
    assert opened.source_name == "sess"
    assert widget.target.directory.value == "export/tf1_run"  # named after the folder
    assert widget.file_dropdown.value == str(model_files.root / "tf1_run")  # typed = found
    assert "Other checkpoints beside it: model.ckpt-500." in html_text(widget.file_status.value)
    assert not widget.target.tags.disabled  # TF1 graphs may carry other tags
    editor = widget.signature_list.editors[0]
    assert not editor.method_box.disabled
    assert set(editor.method_box.options) == {"predict", "classify", "regress"}
    # Placeholders first, then the rest of the graph's tensors.
    roles = [candidate.role for candidate in editor.inputs.candidates]
    placeholders = roles.count("input")
    assert placeholders == 3 and roles[:placeholders] == ["input"] * placeholders
    assert [value for _, value in editor.inputs.matches.options[:3]] == [
        "x:0", "temperature:0", "labels:0"]
    assert {c.detail for c in editor.inputs.candidates[:3]} == {"Placeholder"}
    assert editor.inputs.picks == (("x", "x:0"), ("temperature", "temperature:0"))

    # The reference: inputs={"image": x}, outputs={"scores": y}, as predict_images.
    editor.name_box.value = "predict_images"
    editor.inputs.alias_box("x:0").value = "image"
    editor.inputs.remove("temperature:0")
    editor.outputs.remove("scaled:0")
    editor.outputs.filter.value = "scores"
    assert "scores:0" in [value for _, value in editor.outputs.matches.options]
    editor.outputs.matches.value = "scores:0"
    editor.outputs.add_button.click()
    assert editor.outputs.picks == (("classes", "classes:0"), ("scores", "scores:0"))
    widget.target.directory.value = str(tmp_path / "lr")
    assert widget.target.verify.value  # the one test that verifies

    widget.export_button.click()

    assert widget.error == "", widget.error
    assert widget.report is not None and widget.report.ok, widget.report
    assert "passed" in html_text(widget.results.panes["verification"].value)
    got = served(tf, widget.result.path, "predict_images", image=model_files.X)
    assert_allclose(got["scores"], model_files.predictions["tf1_1000"], **TOLERANCE)
    assert list(got["classes"]) == list(model_files.predictions["tf1_classes"])
    assert signature_rows(widget) == {("predict_images", "input", "image"),
                                      ("predict_images", "output", "scores"),
                                      ("predict_images", "output", "classes")}
    code = html_text(widget.results.panes["code"].value)
    assert code.index("import_meta_graph") < code.index("predict_images")


@pytest.mark.parametrize(("name", "prediction", "file_format"), [
    ("small.weights.h5", "small", "keras-weights"),
    ("tf2_run", "tf2", "tf2-checkpoint"),
])
def test_values_only_file_goes_into_a_notebook_model(tf, model_files, tmp_path, name,
                                                     prediction, file_format):
    namespace: dict = {}
    widget = ConvertWidget(root=model_files.root, namespace=namespace)
    widget.path_box.value = str(model_files.root / name)

    message = assert_refused(widget)
    assert "build the model in the notebook" in message and "Weights into" in message
    assert widget.weights_into.options == ((NO_MODEL, ""),)

    model = build_small_keras()  # the same code; zeroed, so the values must come from the file
    model.set_weights([np.zeros_like(weights) for weights in model.get_weights()])
    assert not np.allclose(model.predict(model_files.WIDE, verbose=0),
                           model_files.predictions[prediction])
    namespace["small"] = model
    widget.refresh_button.click()
    assert [value for _, value in widget.weights_into.options] == ["", "small"]
    widget.weights_into.value = "small"
    widget.open_button.click()

    assert widget.error == ""
    assert widget.model_file.format == file_format and widget.model_file.model is model
    assert widget.editor.layout.display == ""
    quiet(widget, tmp_path / "out")
    widget.export_button.click()
    assert widget.error == ""
    got = served(tf, widget.result.path, features=model_files.WIDE)
    assert_allclose(got["out"], model_files.predictions[prediction], **TOLERANCE)


def test_custom_layer_class_is_taken_from_the_namespace(tf, model_files, tmp_path):
    path = model_files.root / "custom.keras"
    refused = ConvertWidget(path, root=model_files.root, namespace={"notes": "text"})
    message = assert_refused(refused)
    assert "'Scale'" in message and "define or import the class in the notebook" in message

    widget = ConvertWidget(path, root=model_files.root,
                           namespace={"Scale": build_scale_layer()})
    assert widget.error == "" and widget.custom_objects == {}
    assert widget.path_box.value == str(path)
    assert widget.model_file.path == path
    assert 'custom_objects={"Scale": Scale}' in widget.model_file.load_code
    quiet(widget, tmp_path / "custom")
    widget.export_button.click()
    assert widget.error == ""
    got = served(tf, widget.result.path, features=model_files.WIDE)
    assert_allclose(next(iter(got.values())), model_files.predictions["custom"], **TOLERANCE)


def test_missing_path_is_shown_in_red_and_the_widget_goes_on(model_files, tmp_path):
    widget = ConvertWidget(root=model_files.root, namespace={})
    widget.open_button.click()  # nothing typed yet
    assert "Choose a file above or type its path." in html_text(widget.file_status.value)
    assert widget.error == "" and widget.model_file is None

    widget.file_dropdown.value = str(model_files.root / "keras3.keras")
    assert widget.model_file is not None
    missing = str(tmp_path / "missing.h5")
    widget.path_box.value = missing

    message = assert_refused(widget)  # the file opened before is no longer offered
    assert "missing.h5" in message and "No such file" in message
    assert widget.path_box.value == missing
    assert widget.file_dropdown.value == ""  # not found there: the placeholder again
    assert widget.export_button.disabled
    assert widget.run_export() is None and widget.result is None
    assert list(tmp_path.iterdir()) == []
    assert len(widget.file_dropdown.options) > 1

    widget.file_dropdown.value = str(model_files.root / "keras2.h5")
    assert widget.error == "" and "savedmodel-widgets-error" not in widget.file_status.value
    assert widget.model_file.path == model_files.root / "keras2.h5"
    assert widget.editor.layout.display == "" and not widget.export_button.disabled
