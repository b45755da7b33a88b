"""The IPython extension: ``%load_ext savedmodel_widgets`` then ``%savedmodel ...`` in a real
``InteractiveShell``, returning the widgets; one export clicked through end to end."""

from __future__ import annotations

import os

import numpy as np
import pytest
from numpy.testing import assert_allclose

from savedmodel_widgets.widgets import ConvertWidget, ExportWidget, InspectWidget

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
RNG = np.random.default_rng(17)
IMAGE = RNG.random((4, 8), np.float32)
META = RNG.random((4, 2), np.float32)


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """An IPython shell with the extension loaded; its profile and history kept out of $HOME."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    created = not InteractiveShell.initialized()
    saved_dir = os.environ.get("IPYTHONDIR")
    if created:
        os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        ipython = InteractiveShell.instance(config=config)
    else:
        ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "savedmodel_widgets")
    yield ipython
    if created:
        InteractiveShell.clear_instance()
        if saved_dir is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = saved_dir


@pytest.fixture
def user_ns(shell, tmp_path, monkeypatch):
    """The shell's variables; names a test adds are removed after it. Runs in ``tmp_path``
    (the widgets look for files in the working directory)."""
    monkeypatch.chdir(tmp_path)
    before = set(shell.user_ns)
    yield shell.user_ns
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]


def savedmodel(shell, line):
    return shell.run_line_magic("savedmodel", line)


def served(tf, path, signature, **inputs):
    """Reload a SavedModel with TensorFlow and run one signature: ``{alias: array}``."""
    loaded = tf.saved_model.load(str(path))
    return {key: value.numpy() for key, value in loaded.signatures[signature](**inputs).items()}


# export --------------------------------------------------------------------------------


def test_export_shows_the_variable_with_its_default_directory(shell, user_ns, keras_model):
    user_ns.update(model=keras_model, notes="not a model")
    widget = savedmodel(shell, "export model")
    assert isinstance(widget, ExportWidget)
    assert widget.model_dropdown.value == "model"
    assert widget.target.directory.value == "export/model"
    assert widget.spec.source is keras_model and widget.spec.source_name == "model"
    assert widget.signature_list.editors[0].name_box.value == "serving_default"
    assert widget.namespace is user_ns


def test_export_with_dir_and_signature_exports_by_click(tf, shell, user_ns, keras_model,
                                                        tmp_path):
    target = tmp_path / "served" / "classifier"
    user_ns["model"] = keras_model
    widget = savedmodel(shell, f"export model --dir '{target}' --signature predict_images")
    assert widget.target.directory.value == str(target)
    assert widget.signature_list.editors[0].name_box.value == "predict_images"
    assert widget.spec.signatures[0].name == "predict_images"

    widget.target.verify.value = False
    widget.export_button.click()

    assert widget.error == ""
    assert widget.result.path == target / "1"
    got = served(tf, widget.result.path, "predict_images", image=IMAGE, meta=META)
    assert list(got) == ["scores"]
    assert_allclose(got["scores"], keras_model([IMAGE, META]).numpy(), **TOLERANCE)


def test_export_without_a_variable_lists_every_model(shell, user_ns, keras_model,
                                                     tf_keras_model):
    user_ns.update(model=keras_model, legacy=tf_keras_model, notes="not a model")
    widget = savedmodel(shell, "export")
    assert {value for _, value in widget.model_dropdown.options} == {"model", "legacy"}
    assert widget.model_dropdown.value in {"model", "legacy"}
    assert widget.spec is not None


def test_export_of_an_unknown_or_non_model_variable_names_the_models(shell, user_ns,
                                                                     keras_model):
    from IPython.core.error import UsageError

    user_ns.update(model=keras_model, notes="not a model")
    with pytest.raises(UsageError) as unknown:
        savedmodel(shell, "export modle")
    assert "'modle'" in str(unknown.value) and "Models in the notebook: model." in str(
        unknown.value)
    with pytest.raises(UsageError) as not_a_model:
        savedmodel(shell, "export notes")
    message = str(not_a_model.value)
    assert "'notes' is a str" in message and "Models in the notebook: model." in message


# inspect and convert ---------------------------------------------------------------------


def test_inspect_shows_a_saved_model(shell, user_ns, saved_models):
    widget = savedmodel(shell, f"inspect {saved_models['builder']}")
    assert isinstance(widget, InspectWidget)
    assert widget.error == ""
    assert widget.info is not None and widget.path == saved_models["builder"]
    assert widget.info.signature("predict_images").input_aliases == ("images",)
    assert widget.view.layout.display == ""


def test_convert_with_trust_opens_a_lambda_file(shell, user_ns, model_files):
    path = model_files.root / "lambda.h5"
    widget = savedmodel(shell, f"convert {path} --trust")
    assert isinstance(widget, ConvertWidget)
    assert widget.trust.value is True
    assert widget.error == ""
    assert widget.model_file is not None and widget.model_file.path == path
    assert widget.editor.layout.display == ""
    assert widget.namespace is user_ns

    untrusted = savedmodel(shell, f"convert {path}")
    assert untrusted.model_file is None and "Trust code in this file" in untrusted.error


# usage -----------------------------------------------------------------------------------


def test_help_prints_usage_and_returns_nothing(shell, capsys):
    assert savedmodel(shell, "--help") is None
    out = capsys.readouterr().out
    assert "%savedmodel" in out
    assert all(command in out for command in ("export", "inspect", "convert"))
    examples = out[out.index("examples:"):].splitlines()[1:]
    assert [line.split()[:2] for line in examples if line.strip()] == [
        ["%savedmodel", "export"], ["%savedmodel", "export"], ["%savedmodel", "inspect"],
        ["%savedmodel", "convert"]]  # one example a line, as written
    assert savedmodel(shell, "") is None
    assert "export" in capsys.readouterr().out
    assert savedmodel(shell, "export --help") is None
    out = capsys.readouterr().out
    assert "--dir" in out and "--signature" in out


@pytest.mark.parametrize("line", ["export model --bogus", "frobnicate", "convert 'a.h5"])
def test_bad_usage_raises_a_usage_error(shell, user_ns, line):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError):
        savedmodel(shell, line)
