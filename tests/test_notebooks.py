"""The tutorial notebooks: shipped clean, linked from the README, and each one executed as
it ships, in a fresh kernel and a scratch directory, keeping what its text promises."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

from notebook_runner import (  # noqa: E402  (after the skips above)
    BINDER_MEMORY,
    CLICK_MARKER,
    NOTEBOOK_DIR,
    REPO,
    PeakMemory,
    execute,
    output_text,
    saved_widget_ids,
    shown_widget_ids,
)

import savedmodel_widgets as smw  # noqa: E402

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def aliases(path: Path) -> dict[str, tuple[set[str], set[str]]]:
    """Each signature of the SavedModel at ``path``: its input and output aliases."""
    return {
        signature.name: (set(signature.input_aliases), set(signature.output_aliases))
        for signature in smw.read_saved_model(path).signatures
    }


def start_here(workdir: Path, notebook) -> None:
    """00: the digits model exported by the widget's clicks as ``predict_images``, with
    ``image`` in and ``scores`` out, and the same through ``smw.export``."""
    assert aliases(workdir / "export" / "digits" / "1") == {
        "predict_images": ({"image"}, {"scores"})}
    assert aliases(workdir / "export" / "digits_api" / "1") == {
        "predict_images": ({"image"}, {"scores"})}
    text = output_text(notebook)
    assert "saved_model.pb" in text and "predict_images" in text


def keras_model(workdir: Path, notebook) -> None:
    """01: the digits model exported by the widget's clicks with two signatures,
    serving_default (image -> scores, embedding) and embed (image -> embedding), as
    version 1, refused again as version 1, then version 2 with Version auto; the same
    through smw.export; each verified; the REST bodies answered by version 2."""
    both = {"serving_default": ({"image"}, {"scores", "embedding"}),
            "embed": ({"image"}, {"embedding"})}
    base = workdir / "export" / "keras_digits"
    assert sorted(p.name for p in base.iterdir()) == ["1", "2"]
    assert aliases(base / "1") == both
    assert aliases(base / "2") == both
    api = workdir / "export" / "keras_digits_api"
    assert sorted(p.name for p in api.iterdir()) == ["1"]
    assert aliases(api / "1") == both
    text = output_text(notebook)
    for path in ("keras_digits/1", "keras_digits_api/1"):  # the two verification tables
        assert re.search(re.escape(path) + r"</code> · <b[^>]*>passed</b>", text), path
    assert "keras_digits/2: OK: 2 signatures reloaded" in text
    assert "export/keras_digits/1 already holds files" in text
    assert '{"signature_name": "embed", "instances": [{"image": [' in text
    assert "row 0: predicted class" in text
    assert re.search(r"^\{\"predictions\": \[\[", text, re.M)  # embed: numbers, no alias
    assert re.search(r"agree on (\d+) of \1 test images", text)
    assert "outputs ('output_0',)" in text


def tf1_session(workdir: Path, notebook) -> None:
    """02: the same TF1 session exported four ways (simple_save, SavedModelBuilder, the
    widget's clicks, smw.export), the TF1 traps shown, the table initializer written as
    the main op, a request answered by the reloaded model, and the serving_default fix."""
    export = workdir / "export"
    assert aliases(export / "tf1_simple_save" / "1") == {
        "serving_default": ({"image"}, {"scores"})}
    assert aliases(export / "tf1_builder" / "1") == {
        "predict_images": ({"images"}, {"scores"})}
    both = ({"images"}, {"scores", "classes"})
    assert aliases(export / "tf1_widget" / "1") == {"predict_images": both}
    assert aliases(export / "tf1_api" / "1") == {"predict_images": both}
    assert aliases(export / "tf1_api" / "2") == {
        "predict_images": both, "serving_default": both}
    # The failed second builder export left nothing behind once cleaned up; the refused
    # loss output wrote nothing.
    assert sorted(p.name for p in (export / "tf1_builder").iterdir()) == ["1"]
    assert sorted(p.name for p in (export / "tf1_api").iterdir()) == ["1", "2"]
    text = output_text(notebook)
    assert "already exists, and isn't empty" in text  # simple_save into a full directory
    assert "Graph already contains one or more main ops" in text  # second builder export
    # The table initializer is the main op of the builder, widget (and API) exports.
    assert "tf1_builder/1: main op legacy_init_op\n" in text
    assert "tf1_simple_save/1: main op none" in text
    assert "tf1_widget/1: main op legacy_init_op_2\n" in text
    # The same simple_save with the table's output is caught by the checks.
    assert "error tables-not-initialized: Signature 'serving_default' reads" in text
    assert "verified: True" in text  # the widget's export reloaded and compared
    assert "'labels:0'" in text  # loss:0 refused, naming the placeholder it needs
    names = "zero|one|two|three|four|five|six|seven|eight|nine"
    assert re.search(rf"classes: \['({names})'\]", text)  # answered by the reloaded model
    assert "There is no 'serving_default' signature" in text  # smw.check warns
    assert "tfserving checks: []" in text  # with serving_default added, nothing to fix


def keras_h5(workdir: Path, notebook) -> None:
    """03: the Keras 2 .h5 (read by tf_keras) exported by the widget's clicks as
    serving_default, image -> scores, verified; the Keras 3 .h5 by smw.convert as
    predict_images; the Lambda .h5 refused until trusted, then exported by the widget and
    by smw.convert; the Rescaling model predicts as the Lambda one; the local answer to a
    client's request matches the Keras 2 model."""
    assert aliases(workdir / "export" / "h5_keras2" / "1") == {
        "serving_default": ({"image"}, {"scores"})}
    assert aliases(workdir / "export" / "h5_keras3" / "1") == {
        "predict_images": ({"image"}, {"scores"})}
    assert aliases(workdir / "export" / "h5_lambda" / "1") == {
        "serving_default": ({"image"}, {"scores"})}
    assert aliases(workdir / "export" / "h5_lambda_api" / "1") == {
        "serving_default": ({"image"}, {"scores"})}
    text = output_text(notebook)
    plain = re.sub(r"<[^>]+>", "", text)
    assert "loaded with tf_keras 2." in text          # Keras 3 could not read the Keras 2 file
    assert "export/h5_keras2/1 · passed" in plain
    assert "'scale' (Lambda layer)" in text and "tick Trust code in this file" in text
    assert "same predictions as the Lambda model: True" in text
    assert "digits_rescaling.h5  (Keras model by Keras 3" in text
    assert "same as the Keras 2 model: True" in text


def checkpoints(workdir: Path, notebook) -> None:
    """04: the Saver checkpoint exported by the widget's clicks and by smw.convert as
    predict_images, image -> scores; its copy opened from the copy although its checkpoint
    file points back into lr_model/; the TF2 checkpoint refused without the model's code,
    then converted with model=build_model and through Weights into; both widget exports
    verified; the local answers match the trained models."""
    for name in ("ckpt_lr", "ckpt_lr_api"):
        assert aliases(workdir / "export" / name / "1") == {
            "predict_images": ({"image"}, {"scores"})}
    for name in ("ckpt_tf2", "ckpt_tf2_widget"):
        assert aliases(workdir / "export" / name / "1") == {
            "serving_default": ({"image"}, {"scores"})}
    text = output_text(notebook)
    plain = re.sub(r"<[^>]+>", "", text)
    assert re.search(r"TensorFlow's latest checkpoint: \S*/lr_model/model\.ckpt\n", text)
    assert "opened:   lr_model_copy/model.ckpt" in text
    assert "import_meta_graph" in text and "build_signature_def" in text
    assert "model=build_model" in text and "Weights into" in text  # the refusals, shown
    assert "export/ckpt_lr/1 · passed" in plain
    assert "export/ckpt_tf2_widget/1 · passed" in plain
    assert "same as the training session: True" in text
    assert "same as the trained Keras model: True" in text


def inspect_and_check(workdir: Path, notebook) -> None:
    """05: four problem exports whose checks report what the text says (generated
    ``output_0``, a fixed batch of one, no ``serving_default``, no ``serve`` tag), their
    fixed versions with no error or warning for TF Serving or EAS, a verification that
    passed, and the command line's output and exit codes."""
    export = workdir / "export"

    def codes(name, target):
        """The findings, less the warning every EAS check without a runtime has."""
        found = {(r.level, r.code) for r in smw.check(export / name, target=target)}
        assert (("warning", "runtime-not-chosen") in found) == (target == "eas")
        return found - {("warning", "runtime-not-chosen")}

    image_scores = ({"image"}, {"scores"})
    assert aliases(export / "check_good" / "1") == {"serving_default": image_scores}
    assert aliases(export / "check_keras_export" / "1") == {
        "serve": ({"image"}, {"output_0"}), "serving_default": ({"image"}, {"output_0"})}
    assert aliases(export / "check_batch_of_one" / "1") == {"serving_default": image_scores}
    assert aliases(export / "check_no_default" / "1") == {"predict": image_scores}
    assert aliases(export / "check_train_tag" / "1") == {"serving_default": image_scores}
    for target in ("tfserving", "eas"):
        assert codes("check_good", target) == set()
        assert codes("check_keras_export", target) == {("warning", "generated-alias")}
        assert codes("check_batch_of_one", target) == {("warning", "fixed-batch-dimension")}
        assert codes("check_no_default", target) == {("warning", "no-serving-default")}
        assert codes("check_train_tag", target) == {("error", "no-serve-tag")}
    # model.export writes each weight twice; smw.export once.
    keras_export = smw.read_saved_model(export / "check_keras_export")
    good = smw.read_saved_model(export / "check_good")
    assert len(keras_export.variables) == 2 * len(good.variables) == 8
    assert smw.read_saved_model(export / "check_batch_of_one").signature().inputs[0].shape == (
        1, 64)

    assert aliases(export / "check_fixed_aliases" / "1") == {
        "serving_default": ({"image"}, {"probabilities"})}
    assert aliases(export / "check_fixed_any_batch" / "1") == {"serving_default": image_scores}
    assert smw.read_saved_model(export / "check_fixed_any_batch").signature().inputs[0].shape == (
        None, 64)
    assert aliases(export / "check_fixed_default" / "1") == {
        "serving_default": image_scores, "predict": image_scores}
    assert aliases(export / "check_fixed_tag" / "1") == {"serving_default": image_scores}
    assert [mg.tags for mg in smw.read_saved_model(export / "check_fixed_tag").meta_graphs] == [
        ("serve",)]
    for name in ("check_fixed_aliases", "check_fixed_any_batch", "check_fixed_default",
                 "check_fixed_tag"):
        for target in ("tfserving", "eas"):
            assert not {code for level, code in codes(name, target) if level != "info"}, name

    text = output_text(notebook)
    assert "passed" in text and "outputs match the source" in text
    # The reloaded one-row signature and the one without serving_default refuse a request.
    assert text.count("refused:") == 2 and "refused: no signature 'serving_default'" in text
    assert "'output_0': [" in text and "'probabilities': [" in text
    assert "EAS: ready to serve (3 warnings)" in text and "exit code 0" in text
    assert '"code": "no-serve-tag"' in text and "exit code 1" in text
    assert "has no version 2" in text and "exit code 2" in text
    assert "MetaGraph tags ['serve']" in text


def deploy_to_eas(workdir: Path, notebook) -> None:
    """06: the default export refused by the check for eas:tensorflow_cpu_1.15 and by the
    real TensorFlow 1.15; the widget's export for that processor verified there, clean for
    its check, and answered through the EAS preview with the SDK's client code shown."""
    text = output_text(notebook)
    assert "attr-not-in-runtime" in text and "debug_name" in text
    assert "refused by TensorFlow 1.15" in text
    path = workdir / "export" / "eas_digits" / "1"
    assert aliases(path) == {"serving_default": ({"image"}, {"scores"})}
    assert smw.check(path, "eas", runtime="eas:tensorflow_cpu_1.15") == []
    assert "TensorFlow 1.15" in text and "EAS preview answered" in text
    assert "from eas_prediction import PredictClient, TFRequest" in text


def deployment_kit(workdir: Path, notebook) -> None:
    """07: the digits model exported for eas:tensorflow_cpu_1.15 and verified there; the
    EAS kit written from the Deploy tab (then again by the command line with the OSS path),
    its warm-up request replayed; the TF Serving kit of ten one-image records, replayed
    over REST, with models.config and the docker run line of TF Serving 2.7."""
    import json

    from savedmodel_widgets.deploy.eas_warmup import read_eas_warmup
    from savedmodel_widgets.deploy.tfserving_warmup import read_tfserving_warmup

    export = workdir / "models" / "digits" / "1"
    kit = workdir / "models" / "digits" / "1.eas"
    assert sorted(p.name for p in kit.iterdir()) == ["model.tar.gz", "service.json",
                                                     "warm_up.bin"]
    service = json.loads((kit / "service.json").read_text())
    assert service["name"] == "digits_demo"
    assert service["processor"] == "tensorflow_cpu_1.15"
    assert service["model_path"] == "oss://my-bucket/digits/model.tar.gz"
    assert service["warm_up_data_path"] == "oss://my-bucket/digits/warm_up.bin"
    assert read_eas_warmup(kit / "warm_up.bin").inputs["image"].shape == (1, 64)
    assert len(read_tfserving_warmup(export)) == 10
    assert 'base_path: "/models/digits"' in (workdir / "models" / "models.config").read_text()
    text = output_text(notebook)
    assert "TensorFlow 1.15" in text and "the warm-up request was answered" in text
    assert "10 warm-up records replayed" in text
    assert "docker run" in text and "tensorflow/serving:2.7.0" in text
    assert "eascmd create" in text


PROMISES: dict[str, Callable[[Path, object], None]] = {
    "00_start_here.ipynb": start_here,
    "01_keras_model.ipynb": keras_model,
    "02_tf1_session.ipynb": tf1_session,
    "03_keras_h5.ipynb": keras_h5,
    "04_checkpoints.ipynb": checkpoints,
    "05_inspect_and_check.ipynb": inspect_and_check,
    "06_deploy_to_eas.ipynb": deploy_to_eas,
    "07_deployment_kit.ipynb": deployment_kit,
}
"""What each notebook promises, checked after it ran: add one for every new notebook."""


def test_notebooks_are_found_and_each_has_its_promises():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"
    assert sorted(PROMISES) == [path.name for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_ships_clean_and_its_clicks_are_marked(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    # JupyterLab starts this kernel without asking, and nothing stale is shown.
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in notebook.metadata
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, cell.source
        # A cell that clicks in place of the reader says so in its first line.
        if ".click()" in cell.source:
            assert cell.source.startswith(CLICK_MARKER), cell.source


def test_readme_links_every_notebook():
    readme = (REPO / "README.md").read_text()
    for path in NOTEBOOKS:
        assert f"](notebooks/{path.name})" in readme, f"README does not link {path.name}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_as_shipped(path: Path, tmp_path: Path):
    assert path.name in PROMISES, f"add what {path.name} promises to PROMISES in {__file__}"
    workdir = tmp_path / "work"

    with PeakMemory() as memory:
        notebook = execute(path, workdir)  # raises CellExecutionError on the first failing cell
    print(f"{path.name}: peak memory of the kernel and its children {memory.peak / 2**20:.0f} MB")
    # A Binder session (kernel and children together) is stopped at 2 GB.
    assert 0 < memory.peak < BINDER_MEMORY, memory.peak

    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    # Every widget shown has its state saved, so a static viewer can draw it.
    assert shown_widget_ids(notebook) <= saved_widget_ids(notebook)
    PROMISES[path.name](workdir, notebook)
