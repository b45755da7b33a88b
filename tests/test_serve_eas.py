"""The preview server speaks EAS's TensorFlow processor protocol to the real eas-prediction
client (run in a virtual environment of its own, see ``eas_client.py``).

One server per module serves a TF1 model with two signatures: ``serving_default``
(float ``image`` -> ``scores``) and ``words`` (string ``words`` and float ``x`` -> string
``upper``, int ``length`` and float ``total``). The answers are compared with calling the
same SavedModel in this process. Every bad request gets EAS's error answer, and the
server answers a good request right after it.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import eas_client
import numpy as np
import pytest
from numpy.testing import assert_allclose
from widget_helpers import served

from savedmodel_widgets.savedmodel.reader import read_saved_model
from savedmodel_widgets.serving import eas_messages
from savedmodel_widgets.serving.client_code import client_code

eas_python = eas_client.eas_python

TOKEN = "preview-token"
MODEL = "tagger"
IMAGES = np.random.default_rng(5).random((3, 8), dtype=np.float32)
WORDS = ["serve", "Me", ""]
X = np.array([[1.5, 2.0], [-1.0, 0.25], [0.0, 0.0]], dtype=np.float32)


def write_tagger(tf, path: str) -> None:
    """A TF1 graph with a float signature and a string one with three outputs."""
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        image = tf1.placeholder(tf.float32, [None, 8], name="image")
        weights = tf1.Variable(np.random.default_rng(1).normal(size=(8, 3)).astype("float32"))
        scores = tf.nn.softmax(tf.matmul(image, weights), name="scores")
        words = tf1.placeholder(tf.string, [None], name="words")
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        upper = tf.strings.upper(words, name="upper")
        length = tf.strings.length(words, name="length")
        total = tf.reduce_sum(x, axis=1, name="total")
        info = tf1.saved_model.utils.build_tensor_info
        build = tf1.saved_model.signature_def_utils.build_signature_def
        predict = tf1.saved_model.signature_constants.PREDICT_METHOD_NAME
        signatures = {
            "serving_default": build({"image": info(image)}, {"scores": info(scores)}, predict),
            "words": build({"words": info(words), "x": info(x)},
                           {"upper": info(upper), "length": info(length), "total": info(total)},
                           predict),
        }
        session.run(tf1.global_variables_initializer())
        builder = tf1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
        builder.save()


@pytest.fixture(scope="module")
def model_path(tf, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("eas") / MODEL / "1")
    write_tagger(tf, path)
    return path


@pytest.fixture(scope="module")
def server(model_path):
    from savedmodel_widgets import serve

    with serve(model_path, model_name=MODEL, eas_token=TOKEN) as handle:
        yield handle


def endpoint(server) -> str:
    return server.eas_url.split("/api/predict/")[0]


def feed(name, value) -> dict:
    value = np.asarray(value)
    dtypes = {"float32": "DT_FLOAT", "int32": "DT_INT32", "float64": "DT_DOUBLE",
              "int64": "DT_INT64"}
    dtype = "DT_STRING" if value.dtype.kind == "U" else dtypes[str(value.dtype)]
    return {"name": name, "shape": list(value.shape), "dtype": dtype,
            "values": value.reshape(-1).tolist()}


def job(server, signature="serving_default", feeds=None, fetches=(), **changes) -> dict:
    request = {"endpoint": endpoint(server), "service": MODEL, "token": TOKEN,
               "signature": signature, "fetches": list(fetches),
               "feeds": feeds if feeds is not None else [feed("image", IMAGES)]}
    request.update(changes)
    return request


def outputs_of(answer: dict) -> dict[str, np.ndarray]:
    assert "outputs" in answer, answer
    return {name: np.reshape(np.array(item["values"]), item["shape"])
            for name, item in answer["outputs"].items()}


def assert_still_answers(eas_python, server, tf, model_path):
    got = outputs_of(eas_client.run_eas_job(eas_python, job(server)))
    expected = served(tf, model_path, image=IMAGES)
    assert_allclose(got["scores"], expected["scores"], rtol=1e-5, atol=1e-6)


# Good requests ----------------------------------------------------------------------


def test_float_model_answers_as_calling_it_here(eas_python, server, tf, model_path):
    assert_still_answers(eas_python, server, tf, model_path)


def test_string_input_and_an_output_filter(eas_python, server, tf, model_path):
    request = job(server, "words", [feed("words", np.array(WORDS)), feed("x", X)],
                  fetches=["upper", "length"])
    got = outputs_of(eas_client.run_eas_job(eas_python, request))
    expected = served(tf, model_path, "words", words=tf.constant(WORDS), x=X)
    assert set(got) == {"upper", "length"}
    assert got["upper"].tolist() == [word.decode() for word in expected["upper"].tolist()]
    np.testing.assert_array_equal(got["length"], expected["length"])


def test_every_output_when_none_is_fetched(eas_python, server, tf, model_path):
    request = job(server, "words", [feed("words", np.array(WORDS)), feed("x", X)])
    got = outputs_of(eas_client.run_eas_job(eas_python, request))
    expected = served(tf, model_path, "words", words=tf.constant(WORDS), x=X)
    assert set(got) == {"upper", "length", "total"}
    assert_allclose(got["total"], expected["total"], rtol=1e-6)


def test_get_describes_the_default_signature_as_eas_does(server):
    request = urllib.request.Request(server.eas_url.split("/api/predict/")[0]
                                     + f"/api/predict/{MODEL}", headers={"Authorization": TOKEN})
    with urllib.request.urlopen(request, timeout=30) as response:
        described = json.load(response)
    assert described == {
        "inputs": [{"name": "image", "shape": [-1, 8], "type": "DT_FLOAT"}],
        "outputs": [{"name": "scores", "shape": [-1, 3], "type": "DT_FLOAT"}],
        "signature_name": "serving_default",
    }


# Bad requests: the protocol's answer, then a good request is still answered ---------------


def short_body() -> bytes:
    """A PredictRequest whose ``image`` has shape [1, 8] but 7 values."""
    message = eas_messages._message_class("PredictRequest")()
    message.signature_name = "serving_default"
    image = message.inputs["image"]
    image.dtype = 1  # DT_FLOAT
    image.array_shape.dim.extend([1, 8])
    image.float_val.extend([0.5] * 7)
    return bytes(message.SerializeToString())


BAD_REQUESTS = {
    "wrong token": ({"token": "not-the-token"}, 401, "Authorization failed"),
    "no token": ({"token": ""}, 401, "Authorization failed"),
    "unknown model": ({"service": "nobody"}, 404, "Servable not found"),
    "unknown signature": ({"signature": "nope"}, 400, "nope"),
    "missing input": ({"signature": "words", "feeds": [feed("x", X)]}, 400, "words"),
    "wrong dtype": ({"feeds": [feed("image", IMAGES.astype(np.int32))]}, 400, "int32"),
    "wrong shape": ({"feeds": [feed("image", IMAGES[:, :5])]}, 400, ""),
    "malformed body": ({"raw_body": base64.b64encode(b"\x0a\xff\xff\xff").decode()}, 400,
                       "not a PredictRequest"),
    "values short of the shape": ({"raw_body": base64.b64encode(short_body()).decode()}, 400,
                                  "holds 8 values, but 7 were sent"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_request_gets_the_error_answer_and_the_server_keeps_answering(
        case, eas_python, server, tf, model_path):
    changes, status, words = BAD_REQUESTS[case]
    answer = eas_client.run_eas_job(eas_python, job(server, **changes))
    assert answer.get("status") == status, answer
    assert words in answer["message"]
    assert_still_answers(eas_python, server, tf, model_path)


def test_get_without_the_token_is_refused(server):
    url = f"{endpoint(server)}/api/predict/{MODEL}"
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(url, timeout=30)
    raised.value.close()
    assert raised.value.code == 401


def test_generated_eas_code_sends_strings_and_a_filter(eas_python, server, tf, model_path,
                                                        tmp_path):
    signature = read_saved_model(model_path).signature("words")
    code = client_code(signature, "eas", model_name=MODEL, url=endpoint(server), token=TOKEN,
                       expressions={"words": f"np.array({WORDS!r})",
                                    "x": f"np.array({X.tolist()!r}, dtype=np.float32)"},
                       output_filter=["upper"])
    eas_client.run_in_client_venv(eas_python, code, tmp_path / "out.npz")
    got = np.load(tmp_path / "out.npz")
    expected = served(tf, model_path, "words", words=tf.constant(WORDS), x=X)
    assert list(got) == ["upper"]
    assert got["upper"].tolist() == expected["upper"].tolist()


def test_an_oversized_body_gets_413_and_the_server_keeps_answering(
        eas_python, server, tf, model_path):
    from savedmodel_widgets.serving.rest import MAX_BODY_BYTES

    request = urllib.request.Request(f"{endpoint(server)}/api/predict/{MODEL}",
                                     data=bytes(MAX_BODY_BYTES + 1), method="POST",
                                     headers={"Authorization": TOKEN})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=120)
    assert raised.value.code == 413
    assert "larger than the preview server's limit" in raised.value.read().decode()
    raised.value.close()
    assert_still_answers(eas_python, server, tf, model_path)
