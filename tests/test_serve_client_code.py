"""The client code to copy runs and gets the numbers of calling the model here; so does the
Try-it backend, by each protocol.

One server per module (REST, gRPC and EAS, with a token) serves the two versions of the
Keras classifier of ``serving_models.py``; the highest answers. The EAS code runs in the
eas-prediction SDK's own virtual environment, the ``requests`` and gRPC code in this
process, the ``curl`` command in a shell.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import eas_client
import numpy as np
import pytest
from numpy.testing import assert_allclose
from serving_models import KERAS_NAME, write_keras_classifier

from savedmodel_widgets.savedmodel.info import Signature, TensorInfo
from savedmodel_widgets.savedmodel.reader import read_saved_model
from savedmodel_widgets.serving.client_code import (
    PROTOCOLS,
    client_code,
    sample_expression,
    sample_inputs,
)
from savedmodel_widgets.serving.try_request import try_request

eas_python = eas_client.eas_python

TOKEN = "copy-me"
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    parent = tmp_path_factory.mktemp("clients") / KERAS_NAME
    models = write_keras_classifier(str(parent))
    return parent, models[max(models)]


@pytest.fixture(scope="module")
def server(exported):
    from savedmodel_widgets import serve

    with serve(exported[0], eas_token=TOKEN, grpc_port=0) as handle:
        yield handle


@pytest.fixture(scope="module")
def signature(exported):
    return read_saved_model(str(exported[0])).signature()


def expected_scores(exported, inputs) -> np.ndarray:
    return np.asarray(exported[1](inputs["image"]))


def code_for(server, signature, protocol, **options) -> str:
    url = {"grpc": server.grpc_target, "eas": server.eas_url.split("/api/predict/")[0]}.get(
        protocol, server.rest_url)
    return client_code(signature, protocol, model_name=server.model_name, url=url,
                       token=TOKEN, **options)


# Without a server ---------------------------------------------------------------------


def test_sample_expressions_make_the_sample_inputs():
    signature = Signature("s", "tensorflow/serving/predict", (
        TensorInfo("f", "f:0", "float32", (None, 3)),
        TensorInfo("d", "d:0", "float64_ref", (2,)),
        TensorInfo("i", "i:0", "int64", (None, 2, 2)),
        TensorInfo("u", "u:0", "uint8", ()),
        TensorInfo("b", "b:0", "bool", (None, 3)),
        TensorInfo("t", "t:0", "string", None),
    ), ())
    samples = sample_inputs(signature)
    for tensor in signature.inputs:
        made = eval(sample_expression(tensor), {"np": np})  # the generated code's own words
        assert made.dtype == samples[tensor.alias].dtype
        np.testing.assert_array_equal(made, samples[tensor.alias])
    assert samples["f"].shape == (1, 3) and samples["t"].shape == (1,)
    assert samples["f"].dtype == np.float32 and samples["d"].dtype == np.float64


def test_an_unknown_input_or_protocol_is_refused(signature):
    with pytest.raises(ValueError, match="has no input 'img'; its inputs are 'image'"):
        client_code(signature, "rest", model_name="m", url="http://h:1",
                    expressions={"img": "x"})
    with pytest.raises(ValueError, match="Unknown protocol 'soap'"):
        client_code(signature, "soap", model_name="m", url="http://h:1")  # type: ignore[arg-type]


def test_an_input_eas_cannot_carry_is_refused():
    signature = Signature("s", "tensorflow/serving/predict",
                          (TensorInfo("c", "c:0", "complex64", (1,)),), ())
    with pytest.raises(ValueError, match="'c' is complex64; the EAS TensorFlow processor"):
        client_code(signature, "eas", model_name="m", url="http://h:1")


# The code runs against the server ---------------------------------------------------------


def test_eas_code_runs_with_the_real_sdk(eas_python, server, signature, exported, tmp_path):
    code = code_for(server, signature, "eas", output_filter=["scores"])
    assert 'TFRequest("serving_default")' in code and "TFRequest.DT_FLOAT" in code
    assert f'client.set_token("{TOKEN}")' in code
    eas_client.run_in_client_venv(eas_python, code, tmp_path / "out.npz")
    got = np.load(tmp_path / "out.npz")
    assert_allclose(got["scores"], expected_scores(exported, sample_inputs(signature)),
                    **TOLERANCE)


def test_requests_code_runs_here(server, signature, exported):
    namespace: dict = {}
    exec(code_for(server, signature, "rest"), namespace)
    assert_allclose(namespace["outputs"]["scores"],
                    expected_scores(exported, sample_inputs(signature)), **TOLERANCE)


def test_grpc_code_runs_with_tensorflow_serving_api(server, signature, exported):
    namespace: dict = {}
    exec(code_for(server, signature, "grpc"), namespace)
    assert_allclose(namespace["outputs"]["scores"],
                    expected_scores(exported, sample_inputs(signature)), **TOLERANCE)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_command_runs(server, signature, exported):
    images = np.random.default_rng(2).random((2, 8), dtype=np.float32)
    command = code_for(server, signature, "curl", values={"image": images})
    answer = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    assert_allclose(json.loads(answer)["outputs"], expected_scores(exported, {"image": images}),
                    **TOLERANCE)


def test_code_names_a_notebook_array(signature):
    code = client_code(signature, "eas", model_name="m", url="http://h:1",
                       expressions={"image": "my_images"})
    assert 'inputs = {"image": my_images}' in code


# The Try-it backend ----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p != "curl"])
def test_try_request_answers_by_each_protocol(protocol, server, signature, exported):
    images = np.random.default_rng(3).random((4, 8), dtype=np.float32)
    result = try_request(server, signature, protocol, {"image": images}, token=TOKEN,
                         expressions={"image": "images"})
    assert result.ok, result.error
    assert_allclose(result.outputs["scores"], expected_scores(exported, {"image": images}),
                    **TOLERANCE)
    assert result.seconds > 0
    assert '"image": images' in result.code


@pytest.mark.parametrize("protocol, words", [
    ("rest", "HTTP 400"), ("grpc", "INVALID_ARGUMENT"), ("eas", "HTTP 400")])
def test_try_request_shows_an_error_answer(protocol, words, server, signature):
    result = try_request(server, signature, protocol, {"image": np.zeros((1, 5), np.float32)},
                         token=TOKEN)
    assert not result.ok and result.outputs == {}
    assert words in result.error


def test_try_request_with_a_wrong_token_gets_401(server, signature):
    result = try_request(server, signature, "eas", sample_inputs(signature), token="wrong")
    assert result.error.startswith("HTTP 401: Authorization failed")
