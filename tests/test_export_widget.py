"""ExportWidget: live models exported by driving the widget through its traits and
``Button.click()``, as a notebook user would, then reloaded with TensorFlow.

Only one test verifies (its worker process imports TensorFlow, about 4 s).
"""

from __future__ import annotations

import numpy as np
import pytest
from live_sources import build_keras_sequential
from numpy.testing import assert_allclose
from widget_helpers import html_text, quiet, served, signature_rows, table_rows

from savedmodel_widgets import ExportResult, export_code, export_widget
from savedmodel_widgets.widgets import ConvertWidget, ExportWidget, InspectWidget
from savedmodel_widgets.widgets.tensor_picker import MAX_SHOWN, PICKED_MARK

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
RNG = np.random.default_rng(11)
IMAGE = RNG.random((3, 8), np.float32)
META = RNG.random((3, 2), np.float32)
X = RNG.random((3, 4), np.float32)


def status_text(widget: ExportWidget) -> str:
    return html_text(widget.status.value)


def test_every_widget_opens_its_comm_so_a_browser_can_show_it(tmp_path):
    # A method that shadows ipywidgets' own (ConvertWidget.open did, once) leaves the
    # widget without a comm: JupyterLab then shows "Error displaying widget".
    for widget in (ExportWidget(namespace={}), ConvertWidget(root=tmp_path, namespace={}),
                   InspectWidget(root=tmp_path)):
        view = widget._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]
        assert view["model_id"] == widget.comm.comm_id


# The main flow --------------------------------------------------------------------


def test_keras_model_exported_with_predict_images_alias_and_layer_output(
        tf, keras_model, tmp_path):
    import keras

    widget = ExportWidget(namespace={"model": keras_model, "notes": "not a model"})
    assert [label for label, _ in widget.model_dropdown.options] == [
        "model  (Keras 3 functional, 2 inputs, 1 output)"]
    assert widget.model_status.value == ""  # described once, in the dropdown
    assert widget.target.directory.value == "export/model"
    editor = widget.signature_list.editors[0]
    assert editor.inputs.picks == (("image", "image"), ("meta", "meta"))
    assert editor.outputs.picks == (("scores", "scores"),)
    assert editor.method_box.disabled  # Keras writes predict signatures only

    editor.name_box.value = "predict_images"
    editor.outputs.alias_box("scores").value = "probabilities"
    editor.outputs.filter.value = "embed"
    assert [value for _, value in editor.outputs.matches.options] == ["embedding"]
    editor.outputs.add_button.click()
    widget.target.directory.value = str(tmp_path / "export" / "model")
    exported: list[ExportResult] = []
    widget.on_export(exported.append)
    seen = []  # (progress value, progress maximum, status) at each status line

    def record(change):
        seen.append((widget.progress.value, widget.progress.max, html_text(change["new"])))

    widget.status.observe(record, "value")

    widget.export_button.click()

    assert widget.error == ""
    assert exported == [widget.result]
    steps = [(value, top, text) for value, top, text in seen if top > 1]
    assert [text for _, _, text in steps][0] == "Checked the export spec"
    assert len({top for _, top, _ in steps}) == 1  # the total is known from the first step
    assert [value for value, _, _ in steps] == sorted(value for value, _, _ in steps)
    [(value, top, _)] = [step for step in steps if step[2].startswith("Verifying")]
    assert value < top  # the bar is not full while verification runs
    assert widget.result.code == export_code(widget.result.spec)
    assert widget.result.path == tmp_path / "export" / "model" / "1"
    got = served(tf, widget.result.path, "predict_images", image=IMAGE, meta=META)
    assert sorted(got) == ["embedding", "probabilities"]
    assert_allclose(got["probabilities"], keras_model([IMAGE, META]).numpy(), **TOLERANCE)
    cut = keras.Model(keras_model.inputs, keras_model.get_layer("embedding").output)
    assert_allclose(got["embedding"], cut([IMAGE, META]).numpy(), **TOLERANCE)

    assert signature_rows(widget) == {
        ("predict_images", "input", "image"), ("predict_images", "input", "meta"),
        ("predict_images", "output", "probabilities"), ("predict_images", "output", "embedding"),
    }
    files = html_text(widget.results.panes["files"].value)
    assert "saved_model.pb" in files and "variables/" in files
    checks = html_text(widget.results.panes["checks"].value)
    assert "TF Serving on the installed TensorFlow" in checks and "EAS" in checks
    code = widget.results.panes["code"].value
    assert "predict_images" in code and "probabilities" in code
    assert widget.report is not None and widget.report.ok
    verification = html_text(widget.results.panes["verification"].value)
    assert "passed" in verification and "probabilities" in verification
    assert table_rows(widget.results.panes["verification"].value)[0] == [
        "signature", "output", "dtype", "shape", "source shape", "max |diff|", "result"]
    status = status_text(widget)
    head = (f"Exported to {widget.result.path} in {widget.result.seconds:.1f} s and verified "
            f"in {widget.report.seconds:.1f} s (")
    assert status.startswith(head), status
    assert status.endswith(f" s in all). Verification: {widget.report.verdict()}"), status
    assert widget.report.verdict().startswith("OK: 1 signature reloaded")
    assert widget.report.summary() == f"Verify {widget.result.path}: {widget.report.verdict()}"
    assert not widget.export_button.disabled and widget.export_button.description == "Export"
    assert widget.progress.layout.display == "none" and not widget.running


def test_export_widget_function_takes_the_model_and_its_name(keras_model, tmp_path):
    widget = export_widget(keras_model, name="classifier", namespace={})
    assert widget.model_dropdown.value == "classifier"
    assert widget.target.directory.value == "export/classifier"
    assert widget.spec.source is keras_model and widget.spec.source_name == "classifier"


def test_spec_trait_follows_every_choice(keras_model, tmp_path):
    widget = quiet(ExportWidget(keras_model, namespace={}), tmp_path / "out")
    seen = []
    widget.observe(lambda change: seen.append(change["new"]), "spec")
    editor = widget.signature_list.editors[0]
    editor.inputs.alias_box("image").value = "pixels"
    widget.target.version_mode.value = "auto"
    widget.target.overwrite.value = True
    spec = widget.spec
    assert spec.signatures[0].inputs == (("pixels", "image"), ("meta", "meta"))
    assert spec.version == "auto" and spec.overwrite
    assert seen[-1] is spec and len(seen) >= 3
    assert "pixels" in export_code(spec)


# Errors: shown in red, choices kept, nothing written -------------------------------


def test_duplicate_alias_is_refused_and_the_choices_stay(keras_model, tmp_path):
    widget = quiet(ExportWidget(keras_model, namespace={}), tmp_path / "dup")
    editor = widget.signature_list.editors[0]
    editor.name_box.value = "predict_images"
    editor.outputs.alias_box("scores").value = "image"
    assert html_text(editor.alias_warning.value) == (
        "'image' is used more than once in this signature: give every input and output its "
        "own alias.")

    widget.export_button.click()

    assert "'image' is used more than once" in widget.error
    assert "savedmodel-widgets-error" in widget.status.value
    assert "used more than once" in status_text(widget)
    assert widget.result is None and not (tmp_path / "dup").exists()
    assert editor.name_box.value == "predict_images"
    assert editor.outputs.alias_box("scores").value == "image"
    assert widget.results.layout.display == "none"
    assert not widget.export_button.disabled

    editor.outputs.alias_box("scores").value = "scores"  # fixed: the error is no longer current
    assert widget.error == "" and widget.status.value == ""
    assert editor.alias_warning.value == ""


def test_existing_target_needs_overwrite_or_the_next_version(tf, keras_model, tmp_path):
    widget = quiet(ExportWidget(keras_model, namespace={}), tmp_path / "served")
    widget.export_button.click()
    first = widget.result
    assert first.path == tmp_path / "served" / "1"
    written = {p.name: p.stat().st_mtime_ns for p in first.path.rglob("*")}
    assert "which already holds files" in html_text(widget.target_note.value)

    widget.export_button.click()

    assert "already holds files" in widget.error
    assert "tick Overwrite, set Version to auto" in status_text(widget)
    assert widget.result is first
    # the tabs still show the last good export, which is still on disk
    assert widget.results.layout.display == ""
    assert str(first.path) in html_text(widget.results.header.value)
    assert "saved_model.pb" in html_text(widget.results.panes["files"].value)
    assert {p.name: p.stat().st_mtime_ns for p in first.path.rglob("*")} == written

    widget.target.overwrite.value = True  # the refusal's fix clears it
    assert widget.error == "" and widget.status.value == ""
    assert html_text(widget.target_note.value) == f"Replaces {first.path}."
    widget.target.overwrite.value = False
    widget.target.version_mode.value = "auto"
    widget.export_button.click()
    assert widget.error == "" and widget.result.path == tmp_path / "served" / "2"
    assert f"{tmp_path / 'served' / '2'}" in widget.results.panes["code"].value
    assert widget.spec.version == "auto"  # the next click writes 3
    widget.target.version_mode.value = "number"
    widget.target.overwrite.value = True
    widget.export_button.click()
    assert widget.error == "" and widget.result.path == first.path
    got = served(tf, first.path, "serving_default", image=IMAGE, meta=META)
    assert_allclose(got["scores"], keras_model([IMAGE, META]).numpy(), **TOLERANCE)


def test_invalid_alias_is_flagged_while_typing_and_refused_on_export(keras_model, tmp_path):
    widget = quiet(ExportWidget(keras_model, namespace={}), tmp_path / "bad")
    picker = widget.signature_list.editors[0].inputs
    picker.alias_box("meta").value = "2meta"
    assert "Not a valid alias: '2meta'" in html_text(picker.message.value)
    widget.export_button.click()
    assert "'2meta' is not a valid alias" in widget.error
    assert not (tmp_path / "bad").exists()
    picker.alias_box("meta").value = "meta_2"
    assert picker.message.value == ""


def test_an_object_that_cannot_be_exported_is_explained(tf):
    unbuilt = build_keras_sequential().__class__()  # an empty, unbuilt Sequential
    widget = ExportWidget(unbuilt, namespace={})
    assert "savedmodel-widgets-error" in widget.model_status.value
    assert widget.editor.layout.display == "none" and widget.spec is None


def test_no_model_in_the_notebook_says_what_to_do_and_refresh_finds_one(keras_model, tmp_path):
    namespace: dict = {}
    widget = ExportWidget(namespace=namespace)
    assert "No model to export" in html_text(widget.model_status.value)
    assert widget.editor.layout.display == "none" and widget.export_button.disabled

    namespace["net"] = keras_model
    widget.refresh_button.click()
    assert widget.model_dropdown.value == "net"
    assert widget.editor.layout.display == "" and not widget.export_button.disabled
    assert widget.target.directory.value == "export/net"


# Several models, several signatures ---------------------------------------------------


def test_choosing_another_model_rebuilds_the_signature_and_keeps_a_typed_directory(
        keras_model, tf_keras_model, tf_module):
    namespace = {"model": keras_model, "legacy": tf_keras_model, "module": tf_module}
    widget = ExportWidget(namespace=namespace)
    assert [value for _, value in widget.model_dropdown.options] == ["model", "legacy", "module"]
    widget.model_dropdown.value = "legacy"
    assert widget.target.directory.value == "export/legacy"
    assert widget.signature_list.editors[0].inputs.picks == (("pixels", "pixels"),)
    widget.target.directory.value = "mine"
    widget.model_dropdown.value = "module"
    assert widget.target.directory.value == "mine"
    assert widget.spec.source is tf_module and widget.spec.source_name == "module"
    namespace.pop("model")
    widget.refresh_button.click()
    assert widget.model_dropdown.value == "module"
    assert [value for _, value in widget.model_dropdown.options] == ["legacy", "module"]


def test_two_signatures_added_and_one_removed(tf, keras_model, tmp_path):
    widget = quiet(ExportWidget(keras_model, namespace={}), tmp_path / "two")
    signatures = widget.signature_list
    assert signatures.editors[0].remove_button.disabled
    signatures.add_button.click()
    signatures.add_button.click()
    assert [e.name_box.value for e in signatures.editors] == [
        "serving_default", "predict", "predict_images"]
    signatures.editors[1].remove_button.click()
    second = signatures.editors[1]
    second.outputs.remove("scores")
    second.outputs.filter.value = "embedding"
    second.outputs.add_button.click()

    widget.export_button.click()

    assert widget.error == ""
    assert {row[0] for row in signature_rows(widget)} == {"serving_default", "predict_images"}
    got = served(tf, widget.result.path, "predict_images", image=IMAGE, meta=META)
    assert list(got) == ["embedding"]
    default = served(tf, widget.result.path, "serving_default", image=IMAGE, meta=META)
    assert_allclose(default["scores"], keras_model([IMAGE, META]).numpy(), **TOLERANCE)


def test_tf1_session_as_in_the_reference_with_method_and_tags(tf, tf1, tmp_path):
    widget = quiet(ExportWidget(tf1.session, name="sess", namespace={}), tmp_path / "tf1")
    editor = widget.signature_list.editors[0]
    inputs = [value for _, value in editor.inputs.matches.options]
    assert inputs[:3] == ["x:0", "temperature:0", "labels:0"]
    assert not editor.method_box.disabled and not widget.target.tags.disabled
    editor.name_box.value = "predict_images"
    editor.inputs.set_picks([("images", "x:0")])
    editor.outputs.set_picks([])
    editor.outputs.filter.value = "scores:0"
    editor.outputs.add_button.click()
    editor.outputs.filter.value = "classes"
    editor.outputs.add_button.click()
    editor.outputs.add("scores:0")
    assert "already picked as 'scores'" in html_text(editor.outputs.message.value)

    widget.export_button.click()

    assert widget.error == "", widget.error
    got = served(tf, widget.result.path, "predict_images", images=X)
    expected_scores, expected_classes = tf1.session.run([tf1.scores, tf1.classes], {tf1.x: X})
    assert_allclose(got["scores"], expected_scores, **TOLERANCE)
    np.testing.assert_array_equal(got["classes"], expected_classes)
    assert "builder.save()" in html_text(widget.results.panes["code"].value)


def test_tf1_tags_other_than_serve_are_written(tf, tf1, tmp_path):
    widget = quiet(ExportWidget(tf1.session, namespace={}), tmp_path / "tagged")
    widget.target.tags.value = "serve, gpu"
    widget.export_button.click()
    assert widget.error == ""
    assert widget.result.info.meta_graphs[0].tags == ("serve", "gpu")


def open_widget_count() -> int:
    """How many widgets hold an open comm (ipywidgets 8 keeps them in ``_instances``)."""
    from ipywidgets.widgets.widget import _instances

    return len(_instances)


def test_replaced_parts_are_closed_so_open_widgets_do_not_pile_up(
        keras_model, tf_keras_model, tf_module):
    widget = ExportWidget(namespace={"model": keras_model, "legacy": tf_keras_model,
                                     "module": tf_module})

    def choose_add_and_remove() -> None:
        for name in ("legacy", "module", "model"):
            widget.model_dropdown.value = name
        signatures = widget.signature_list
        signatures.add_button.click()
        signatures.editors[-1].remove_button.click()
        picker = signatures.editors[0].outputs
        picker.remove("scores")
        picker.add("scores")
        picker.set_picks([("probabilities", "scores")])

    choose_add_and_remove()
    before = open_widget_count()
    replaced = widget.signature_list
    alias_box = replaced.editors[0].outputs.alias_box("scores")
    for _ in range(3):
        choose_add_and_remove()

    assert open_widget_count() == before
    assert replaced.comm is None and replaced.layout.comm is None
    assert alias_box.comm is None and alias_box.layout.comm is None
    assert alias_box.style.comm is None
    assert widget.signature_list.editors[0].outputs.alias_box("scores").comm is not None


def marked(picker) -> set[str]:
    """The names of the listed candidates marked as already picked."""
    return {value for label, value in picker.matches.options if label.startswith(PICKED_MARK)}


def test_candidates_already_picked_are_marked_in_the_list(keras_model):
    outputs = ExportWidget(keras_model, namespace={}).signature_list.editors[0].outputs
    assert marked(outputs) == {"scores"}
    plain = {candidate.name: candidate.label for candidate in outputs.candidates}
    labels = {value: label for label, value in outputs.matches.options}
    assert labels == {**plain, "scores": PICKED_MARK + plain["scores"]}

    outputs.matches.value = "embedding"
    outputs.add_button.click()
    assert marked(outputs) == {"scores", "embedding"}
    assert outputs.matches.value == "embedding"  # the selection stays where it was
    outputs.remove("scores")
    assert marked(outputs) == {"embedding"}
    outputs.filter.value = "embed"
    assert marked(outputs) == {"embedding"}
    outputs.set_picks([])
    assert marked(outputs) == set()


# Large graphs stay usable ---------------------------------------------------------------


@pytest.fixture(scope="module")
def long_graph(tf):
    """A TF1 session whose graph has about 3,000 ops."""
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        hidden = tf1.placeholder(tf.float32, [None, 4], name="features")
        for _ in range(1000):
            hidden = tf.nn.relu(hidden * 1.01)
        tf.nn.softmax(hidden, name="probabilities")
    session = tf1.Session(graph=graph)
    yield session
    session.close()


def test_filter_box_narrows_a_large_graph_and_lists_a_bounded_number(tf, long_graph, tmp_path):
    widget = quiet(ExportWidget(long_graph, namespace={}), tmp_path / "long")
    picker = widget.signature_list.editors[0].outputs
    assert len(picker.candidates) > 2000
    assert len(picker.matches.options) == MAX_SHOWN
    assert "type to narrow" in html_text(picker.count.value)
    assert picker.picks == (("probabilities", "probabilities:0"),)

    picker.filter.value = "relu_99"
    names = [value for _, value in picker.matches.options]
    assert names and all("relu_99" in name.lower() for name in names)
    assert len(names) == len([c for c in picker.candidates if "relu_99" in c.name.lower()])
    picker.filter.value = "relu_999 float32"
    assert [value for _, value in picker.matches.options] == ["Relu_999:0"]
    assert "1 of" in html_text(picker.count.value)
    picker.add_button.click()
    assert picker.picks[-1] == ("relu_999", "Relu_999:0")
    picker.filter.value = "no such tensor"
    assert picker.matches.options == () and picker.add_button.disabled

    widget.export_button.click()
    assert widget.error == ""
    assert {row[2] for row in signature_rows(widget)} == {"features", "probabilities",
                                                          "relu_999"}


# The runtime ----------------------------------------------------------------------


def test_runtime_dropdown_exports_for_an_eas_processor_verified_in_its_tensorflow(
        tf, old_runtimes, keras_model, tmp_path):
    widget = ExportWidget(keras_model, directory=str(tmp_path / "eas"))
    labels = [label for label, _ in widget.target.runtime.options]
    assert labels[0] == "EAS tensorflow_cpu_2.7 (TensorFlow 2.7)"
    assert widget.target.runtime.value == "installed"
    widget.target.runtime.value = "eas:tensorflow_cpu_1.15"
    assert widget.spec.runtime == "eas:tensorflow_cpu_1.15"
    widget.export_button.click()

    assert widget.error == "", widget.error
    assert widget.result.runtime == "eas:tensorflow_cpu_1.15"
    assert widget.report.ok and "TensorFlow 1.15" in widget.report.runtime
    assert "TensorFlow 1.15" in status_text(widget)
    checks = html_text(widget.results.panes["checks"].value)
    assert "EAS on eas:tensorflow_cpu_1.15 (TensorFlow 1.15): ready to serve" in checks
    got = served(tf, widget.result.path, image=IMAGE, meta=META)
    assert_allclose(got["scores"], keras_model([IMAGE, META]).numpy(), **TOLERANCE)
