"""The Try it tab of the export and inspect widgets, driven through traits and clicks with the
real preview server: the answers are the numbers of calling the model here.

Each test starts one server by clicking Start preview and stops it by closing the widget.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose
from serving_models import build_keras_classifier, write_keras_classifier
from widget_helpers import html_text, quiet

from savedmodel_widgets.serving.client_code import sample_inputs
from savedmodel_widgets.widgets import ExportWidget, InspectWidget
from savedmodel_widgets.widgets.try_it import SAMPLE

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
ROWS = np.random.default_rng(7).random((5, 8), dtype=np.float32)


def test_export_widget_tries_its_export_by_eas_with_a_notebook_array(tmp_path):
    model = build_keras_classifier(seed=4)
    widget = quiet(ExportWidget(namespace={"model": model, "rows": ROWS}), tmp_path / "model")
    panel = widget.try_it
    assert panel.start_button.disabled  # nothing exported yet
    widget.export_button.click()
    assert widget.result is not None
    assert widget.results.tabs.titles[-2:] == ("Try it", "Deploy")
    assert list(panel.signature.options) == ["serving_default"]
    assert list(panel.input_choices["image"].options) == [SAMPLE, "rows"]

    panel.token.value = "t0ken"
    panel.start_button.click()
    server = panel.server
    assert panel.serving and server.running, html_text(panel.status.value)
    assert panel.token.disabled and not panel.send_button.disabled

    panel.protocol.value = "eas"
    panel.input_choices["image"].value = "rows"
    panel.send_button.click()
    assert panel.error == "", panel.error
    assert_allclose(panel.result.outputs["scores"], np.asarray(model(ROWS)), **TOLERANCE)
    assert html_text(panel.status.value).startswith("Answered in ")
    assert "scores" in html_text(panel.answer.value)
    code = html_text(panel.code.value)
    assert '"image": rows' in code and 'client.set_token("t0ken")' in code

    panel.protocol.value = "grpc"
    panel.input_choices["image"].value = SAMPLE
    panel.send_button.click()
    expected = np.asarray(model(sample_inputs(widget.result.info.signature())["image"]))
    assert_allclose(panel.result.outputs["scores"], expected, **TOLERANCE)

    widget.close()
    assert not server.running and panel.server is None


def test_inspect_widget_shows_the_server_error_and_stops_for_another_model(tmp_path):
    models = write_keras_classifier(str(tmp_path / "classifier"))
    widget = InspectWidget(tmp_path / "classifier", root=tmp_path)
    panel = widget.try_it
    panel.start_button.click()
    server = panel.server
    assert server.running, html_text(panel.status.value)

    panel.protocol.value = "rest"
    panel.send_button.click()
    signature = widget.info.signature()
    expected = np.asarray(models[2](sample_inputs(signature)["image"]))
    assert_allclose(panel.result.outputs["scores"], expected, **TOLERANCE)

    panel.namespace = {"wrong": np.zeros((1, 5), np.float32)}
    panel.refresh_button.click()
    panel.input_choices["image"].value = "wrong"
    panel.send_button.click()
    assert panel.error.startswith("HTTP 400:"), panel.error
    assert "HTTP 400" in html_text(panel.status.value) and panel.answer.value == ""

    widget.version.value = 1  # another SavedModel shown: its server is not this one
    assert not server.running and not panel.serving and not panel.start_button.disabled
    widget.close()


WITHOUT_SERVING_API = """
import sys
sys.modules["tensorflow_serving"] = None  # as if tensorflow-serving-api were not installed
import numpy as np
from widget_helpers import html_text
from savedmodel_widgets.widgets import InspectWidget

widget = InspectWidget(sys.argv[1], root=sys.argv[1])
panel = widget.try_it
panel.start_button.click()
assert panel.serving, html_text(panel.status.value)
assert panel.server.grpc_target is None
print("STATUS", html_text(panel.status.value))
panel.protocol.value = "eas"
panel.send_button.click()
print("EAS", panel.error or "ok", panel.result.outputs["scores"].shape)
panel.protocol.value = "grpc"
panel.send_button.click()
print("GRPC", panel.error)
widget.close()
"""


def test_without_tensorflow_serving_api_the_preview_answers_rest_and_eas_and_says_why_not_grpc(
        tmp_path):
    """The tutorials' set-up may lack tensorflow-serving-api: the preview still starts."""
    import subprocess
    import sys

    from checkout_env import checkout_env

    path = tmp_path / "classifier"
    write_keras_classifier(str(path))
    env = checkout_env()
    env["PYTHONPATH"] += f":{Path(__file__).parent}"
    run = subprocess.run([sys.executable, "-c", WITHOUT_SERVING_API, str(path)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert "gRPC off: it needs tensorflow-serving-api" in lines["STATUS"]
    assert lines["EAS"] == "ok (1, 3)"
    assert "tensorflow-serving-api" in lines["GRPC"] and "--no-deps" in lines["GRPC"]
