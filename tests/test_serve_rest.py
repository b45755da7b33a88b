"""TF Serving's REST API of the preview server, held to TF Serving's own tests.

The JSON conversion runs TF Serving's ``json_tensor_test.cc`` cases directly; a
preview server process (one for the module) serving TF Serving's own test
model, ``saved_model_half_plus_two_2_versions`` (versions 123 and 124), answers
the requests of ``http_rest_api_handler_test.cc`` and the bad requests of the
preview's own list, each followed by a good request.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import requests
import serving_models
import tfserving_rest_cases as cases

from savedmodel_widgets.serving import json_tensor
from savedmodel_widgets.serving.model import Classification, ServingError
from savedmodel_widgets.serving.rest import MAX_BODY_BYTES
from savedmodel_widgets.serving.server import serve

TIMEOUT = 60


def tensor_proto(tf, text):
    from google.protobuf import text_format

    return text_format.Parse(text, tf.make_tensor_proto([], dtype=tf.float32).__class__())


def as_array(tf, text):
    return tf.make_ndarray(tensor_proto(tf, text))


def dtype_enum(tf, name):
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Value(name)


def assert_same_tensor(actual, expected):
    assert actual.shape == expected.shape
    if expected.dtype == object:
        assert actual.dtype == object
        assert actual.tolist() == expected.tolist()
    else:
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)  # NaN equals NaN here


# json_tensor_test.cc, in process ---------------------------------------------------


@pytest.mark.parametrize("case", cases.JSON_TO_TENSORS, ids=lambda case: case.test)
def test_json_to_tensors_as_tf_serving(tf, case):
    dtypes = {alias: dtype_enum(tf, name) for alias, name in case.inputs.items()}
    document = json_tensor.parse_json(case.body.encode())
    arrays, layout = json_tensor.predict_inputs_from_json(document, dtypes)
    assert layout == case.format
    assert sorted(arrays) == sorted(case.expected)
    for alias, text in case.expected.items():
        assert_same_tensor(arrays[alias], as_array(tf, text))


def test_signature_name_is_read_from_the_request():
    # json_tensor_test.cc, TEST(JsontensorTest, SingleUnnamedTensorWithSignature)
    document = json_tensor.parse_json(b'{"signature_name": "predict_images", "instances": [[1,2]]}')
    assert json_tensor.signature_name_of(document) == "predict_images"
    assert json_tensor.signature_name_of({"instances": [1]}) == ""


@pytest.mark.parametrize("case", cases.JSON_ERRORS, ids=lambda case: case.test)
def test_json_errors_as_tf_serving(tf, case):
    dtypes = {alias: dtype_enum(tf, name) for alias, name in case.inputs.items()}
    with pytest.raises(ServingError) as raised:
        document = json_tensor.parse_json(case.body.encode())
        json_tensor.signature_name_of(document)
        json_tensor.predict_inputs_from_json(document, dtypes)
    assert raised.value.code == "INVALID_ARGUMENT"
    assert case.message in raised.value.message


def test_deeply_nested_json_is_refused_not_crashed():
    # json_tensor_test.cc, TEST(JsontensorTest, DeeplyNestedMalformed) sends 500,000
    # nested brackets; rapidjson parses them iteratively, Python's json module recurses,
    # so the preview refuses a document nested that deeply (DeeplyNestedWellFormed, which
    # TF Serving accepts, is refused too) with INVALID_ARGUMENT instead of crashing.
    body = '{"signature_name":' + "[" * 500_000 + "]" * 500_000 + "}"
    with pytest.raises(ServingError) as raised:
        json_tensor.parse_json(body.encode())
    assert raised.value.code == "INVALID_ARGUMENT"
    assert "too deeply" in raised.value.message


def feature_values(example):
    found = {}
    for key, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = getattr(feature, kind).value
        found[key] = (kind, ["nan" if isinstance(v, float) and math.isnan(v) else v
                             for v in values])
    return found


def test_examples_with_context_as_tf_serving(tf):
    from google.protobuf import text_format

    document = json_tensor.parse_json(cases.EXAMPLES_WITH_CONTEXT.encode())
    assert json_tensor.signature_name_of(document) == "custom_signture"
    serialized = json_tensor.examples_from_json(document)
    context = text_format.Parse(cases.EXAMPLES_CONTEXT, tf.train.Example())
    assert len(serialized) == len(cases.EXAMPLES_EXPECTED)
    for data, text in zip(serialized, cases.EXAMPLES_EXPECTED, strict=True):
        expected = tf.train.Example()
        expected.CopyFrom(context)
        expected.MergeFrom(text_format.Parse(text, tf.train.Example()))
        assert feature_values(tf.train.Example.FromString(data)) == feature_values(expected)


@pytest.mark.parametrize("case", cases.EXAMPLES_ERRORS, ids=lambda case: case.message[:30])
def test_examples_errors_as_tf_serving(case):
    with pytest.raises(ServingError) as raised:
        document = json_tensor.parse_json(case.body.encode())
        json_tensor.signature_name_of(document)
        json_tensor.examples_from_json(document)
    assert raised.value.code == "INVALID_ARGUMENT"
    assert case.message in raised.value.message


def parsed(text, as_strings):
    if as_strings:
        return json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    return json.loads(text)


@pytest.mark.parametrize("case", cases.TENSORS_TO_JSON,
                         ids=lambda case: f"{case.test}-{case.format}")
def test_tensors_to_json_as_tf_serving(tf, case):
    arrays = {alias: as_array(tf, text) for alias, text in case.tensors.items()}
    written = json_tensor.predict_answer(arrays, case.format)
    assert parsed(written, case.as_strings) == parsed(case.expected, case.as_strings)


@pytest.mark.parametrize("case", cases.TENSORS_TO_JSON_ERRORS, ids=lambda case: case.message)
def test_tensors_to_json_errors_as_tf_serving(tf, case):
    arrays = {alias: as_array(tf, text) for alias, text in case.tensors.items()}
    with pytest.raises(ServingError) as raised:
        json_tensor.predict_answer(arrays, "row")
    assert case.message in raised.value.message


def test_classification_and_regression_results_as_tf_serving():
    result = [[Classification(label.encode(), score) for label, score in classes]
              for classes in cases.CLASSIFICATION_RESULT]
    assert json.loads(json_tensor.classify_answer(result)) == json.loads(
        cases.CLASSIFICATION_JSON)
    written = json.loads(json_tensor.regress_answer(cases.REGRESSION_RESULT))
    np.testing.assert_allclose(written["results"],
                               json.loads(cases.REGRESSION_JSON)["results"], rtol=1e-7)


# the server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tf, tmp_path_factory):
    parent = tmp_path_factory.mktemp("rest") / cases.HALF_PLUS_TWO
    serving_models.write_half_plus_two_versions(tf, str(parent))
    with serve(parent) as handle:
        yield handle


def send(server, method, path, body=""):
    return requests.request(method, server.rest_url + path, data=body.encode(), timeout=TIMEOUT)


def assert_still_answers(server):
    """A good request after a bad one: the server keeps answering, correctly."""
    answer = send(server, "POST", f"/v1/models/{cases.HALF_PLUS_TWO}:predict",
                  '{"instances": [[4.0]]}')
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": [[4.0]]}


def test_server_names_the_model_and_its_versions(server):
    assert server.model_name == cases.HALF_PLUS_TWO
    assert server.versions == serving_models.HALF_PLUS_TWO_VERSIONS
    assert server.rest_url.startswith("http://127.0.0.1:")
    assert server.grpc_target is None
    assert server.eas_url == f"{server.rest_url}/api/predict/{cases.HALF_PLUS_TWO}"


@pytest.mark.parametrize("case", cases.HANDLER_CASES,
                         ids=lambda case: f"{case.test}-{case.method}-{case.path}")
def test_handler_cases_as_tf_serving(server, case):
    answer = send(server, case.method, case.path, case.body)
    assert answer.status_code == case.status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    if case.json:
        assert answer.json() == json.loads(case.json)
    else:
        assert case.error in answer.json()["error"]
        assert_still_answers(server)


def test_metadata_is_tf_servings_file(server):
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, GetModelMetadata): the
    # test's config serves version 123 only, so the version is named here.
    with open(cases.METADATA_FILE, encoding="utf-8") as file:
        expected = json.load(file)
    answer = send(server, "GET", f"/v1/models/{cases.HALF_PLUS_TWO}/versions/123/metadata")
    assert answer.status_code == 200
    assert answer.json() == expected
    latest = send(server, "GET", f"/v1/models/{cases.HALF_PLUS_TWO}/metadata").json()
    assert latest["model_spec"]["version"] == "124"
    assert latest["metadata"] == expected["metadata"]


def test_predict_answers_equal_the_model_run_in_process(tf, server):
    x = np.array([[0.25], [-3.0], [1e6]], np.float32)
    answer = send(server, "POST", f"/v1/models/{cases.HALF_PLUS_TWO}:predict",
                  json.dumps({"instances": x.tolist()}))
    np.testing.assert_allclose(answer.json()["predictions"], 0.5 * x + 2, rtol=1e-7)
    columnar = send(server, "POST", f"/v1/models/{cases.HALF_PLUS_TWO}/versions/124:predict",
                    json.dumps({"inputs": {"x": x.tolist()}}))
    np.testing.assert_allclose(columnar.json()["outputs"], 0.5 * x + 2, rtol=1e-7)


def test_classify_and_regress_with_context_and_several_examples(server):
    body = {"signature_name": "regress_x_to_y2", "context": {"x2": 1.0},
            "examples": [{"x": 2.0}, {"x": 4.0}]}
    answer = send(server, "POST", f"/v1/models/{cases.HALF_PLUS_TWO}:regress", json.dumps(body))
    assert answer.json() == {"results": [4.0, 5.0]}  # 0.5 x + 3
    body["signature_name"] = "classify_x_to_y"
    answer = send(server, "POST", f"/v1/models/{cases.HALF_PLUS_TWO}:classify", json.dumps(body))
    assert answer.json() == {"results": [[["", 3.0]], [["", 4.0]]]}


BAD_REQUESTS = [
    # (what, method, path under the model, body, HTTP status, error substring)
    ("another HTTP method", "PUT", ":predict", '{"instances": [[1.0]]}', 400,
     "Malformed request: PUT"),
    ("unknown signature", "POST", ":predict",
     '{"signature_name": "nope", "instances": [[1.0]]}', 400,
     'Serving signature name: "nope" not found in signature def'),
    ("missing input", "POST", ":predict", '{"inputs": {"y": [[1.0]]}}', 400,
     "Missing named input: x in 'inputs' object."),
    ("unknown input", "POST", ":predict", '{"instances": [{"x": [1.0], "z": [2.0]}]}', 400,
     "JSON object: does not have named input: z"),
    ("wrong dtype", "POST", ":predict", '{"instances": [[true]]}', 400,
     "is not of expected type: float"),
    ("neither inputs nor instances", "POST", ":predict", '{"examples": []}', 400,
     "Missing 'inputs' or 'instances' key"),
    ("not an object", "POST", ":predict", "[1, 2]", 400, "Is not object"),
    ("malformed JSON", "POST", ":predict", '{"instances": [1.0,', 400, "JSON Parse error"),
    ("unknown version", "POST", "/versions/7:predict", '{"instances": [[1.0]]}', 404,
     "Servable not found for request: Specific"),
    ("status of an unknown version", "GET", "/versions/7", "", 404,
     f"Could not find version 7 of model {cases.HALF_PLUS_TWO}"),
    ("classify with a regress signature", "POST", ":classify",
     '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}', 400,
     "Expected classification signature method_name to be tensorflow/serving/classify"),
    ("example without the feature the model parses", "POST", ":regress",
     '{"signature_name": "regress_x_to_y", "examples": [{"other": 1.0}]}', 400,
     "Feature: x (data type: float) is required but could not be found."),
    ("predict with an example signature's string input", "POST", ":predict",
     '{"signature_name": "regress_x_to_y", "instances": [1.0]}', 400,
     "is not of expected type: string"),
]


@pytest.mark.parametrize("what, method, path, body, status, error", BAD_REQUESTS,
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_requests_get_tf_servings_error_answer(server, what, method, path, body, status,
                                                   error):
    answer = send(server, method, f"/v1/models/{cases.HALF_PLUS_TWO}{path}", body)
    assert answer.status_code == status, answer.text
    assert error in answer.json()["error"]
    assert_still_answers(server)


def test_oversized_body_gets_an_error_answer(server):
    body = b'{"instances": [' + b" " * MAX_BODY_BYTES + b"1.0]}"
    answer = requests.post(f"{server.rest_url}/v1/models/{cases.HALF_PLUS_TWO}:predict",
                           data=body, timeout=TIMEOUT)
    assert answer.status_code == 413
    assert "larger than the preview server's limit" in answer.json()["error"]
    assert_still_answers(server)
