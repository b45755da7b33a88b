"""TF Serving's gRPC API of the preview server, called with ``tensorflow-serving-api``'s stubs.

One server process for the module serves a Keras 3 classifier exported with
``smw.export`` into versions 1 and 2; its answers, over gRPC and REST, are
compared with the Keras models called in this process.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import requests
import serving_models

import savedmodel_widgets as smw
from savedmodel_widgets.serving.rest import MAX_BODY_BYTES

grpc = pytest.importorskip("grpc")
apis = pytest.importorskip("tensorflow_serving.apis.prediction_service_pb2_grpc",
                           reason="install with pip install --no-deps tensorflow-serving-api")

TIMEOUT = 60
NAME = serving_models.KERAS_NAME


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    parent = tmp_path_factory.mktemp("grpc") / NAME
    models = serving_models.write_keras_classifier(str(parent))
    return parent, models


@pytest.fixture(scope="module")
def server(exported):
    with smw.serve(exported[0], grpc_port=0) as handle:
        yield handle


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.grpc_target) as opened:
        yield opened


@pytest.fixture(scope="module")
def stub(channel):
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


def predict_request(tf, images, version=None, signature="", output_filter=(), name=NAME):
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    request.inputs["image"].CopyFrom(tf.make_tensor_proto(images))
    request.output_filter.extend(output_filter)
    return request


def expected_scores(exported, images, version=2):
    return exported[1][version].predict(images, verbose=0)


def assert_still_answers(tf, stub, exported):
    images = serving_models.sample_images(2, seed=9)
    answer = stub.Predict(predict_request(tf, images), timeout=TIMEOUT)
    np.testing.assert_allclose(tf.make_ndarray(answer.outputs["scores"]),
                               expected_scores(exported, images), rtol=1e-5, atol=1e-6)


def test_predict_equals_the_keras_model_in_process(tf, stub, exported):
    images = serving_models.sample_images(5)
    answer = stub.Predict(predict_request(tf, images), timeout=TIMEOUT)
    scores = tf.make_ndarray(answer.outputs["scores"])
    assert scores.dtype == np.float32 and scores.shape == (5, 3)
    np.testing.assert_allclose(scores, expected_scores(exported, images), rtol=1e-5, atol=1e-6)
    # TF Serving's default AsProtoField: the values in float_val, not tensor_content
    assert len(answer.outputs["scores"].float_val) == 15
    assert answer.model_spec.name == NAME
    assert answer.model_spec.version.value == 2
    assert answer.model_spec.signature_name == "serving_default"


def test_an_older_version_answers_with_its_own_weights(tf, stub, exported):
    images = serving_models.sample_images(4, seed=1)
    answer = stub.Predict(predict_request(tf, images, version=1), timeout=TIMEOUT)
    old = tf.make_ndarray(answer.outputs["scores"])
    np.testing.assert_allclose(old, expected_scores(exported, images, 1), rtol=1e-5, atol=1e-6)
    assert answer.model_spec.version.value == 1
    assert not np.allclose(old, expected_scores(exported, images, 2))


def test_output_filter_selects_outputs(tf, stub, exported):
    images = serving_models.sample_images(1)
    answer = stub.Predict(predict_request(tf, images, output_filter=["scores"]), timeout=TIMEOUT)
    assert list(answer.outputs) == ["scores"]


def test_rest_predict_equals_the_keras_model_in_process(server, exported):
    images = serving_models.sample_images(3, seed=2)
    url = f"{server.rest_url}/v1/models/{NAME}"
    rows = requests.post(f"{url}:predict", json={"instances": images.tolist()}, timeout=TIMEOUT)
    np.testing.assert_allclose(rows.json()["predictions"], expected_scores(exported, images),
                               rtol=1e-5, atol=1e-6)
    columns = requests.post(f"{url}/versions/1:predict",
                            json={"inputs": {"image": images.tolist()}}, timeout=TIMEOUT)
    np.testing.assert_allclose(columns.json()["outputs"], expected_scores(exported, images, 1),
                               rtol=1e-5, atol=1e-6)


def test_model_metadata_holds_the_exports_signatures(tf, stub, exported):
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = NAME
    answer = stub.GetModelMetadata(request, timeout=TIMEOUT)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert answer.metadata["signature_def"].Unpack(signatures)
    # TF Serving answers the loaded meta graph's map as it is, TF2's
    # __saved_model_init_op entry included: compare with the file itself.
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel.FromString((exported[0] / "2" / "saved_model.pb")
                                                  .read_bytes())
    assert dict(signatures.signature_def) == dict(saved.meta_graphs[0].signature_def)
    assert "serving_default" in signatures.signature_def
    assert answer.model_spec.version.value == 2


def test_model_status_lists_both_versions(channel):
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = NAME
    answer = stub.GetModelStatus(request, timeout=TIMEOUT)
    available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert [(s.version, s.state) for s in answer.model_version_status] == [
        (2, available), (1, available)]
    request.model_spec.version.value = 1
    answer = stub.GetModelStatus(request, timeout=TIMEOUT)
    assert [s.version for s in answer.model_version_status] == [1]


def bad_predict_requests(tf):
    """(what, request, gRPC status code name, message substring) as TF Serving answers."""
    images = serving_models.sample_images(2)
    missing = predict_request(tf, images)
    del missing.inputs["image"]
    extra = predict_request(tf, images)
    extra.inputs["other"].CopyFrom(tf.make_tensor_proto(images))
    labelled = predict_request(tf, images)
    labelled.model_spec.version_label = "stable"
    return [
        ("unknown model", predict_request(tf, images, name="nope"), "NOT_FOUND",
         "Servable not found for request: Latest(nope)"),
        ("unknown version", predict_request(tf, images, version=7), "NOT_FOUND",
         f"Servable not found for request: Specific({NAME}, 7)"),
        ("unknown signature", predict_request(tf, images, signature="nope"),
         "FAILED_PRECONDITION", 'Serving signature key "nope" not found.'),
        ("missing input", missing, "INVALID_ARGUMENT",
         "input size does not match signature: 0!=1 len({}) != len({image}). Sent extra: {}. "
         "Missing but required: {image}."),
        ("extra input", extra, "INVALID_ARGUMENT", "Sent extra: {other}."),
        ("wrong dtype", predict_request(tf, images.astype(np.float64)), "INVALID_ARGUMENT",
         "Expects arg[0] to be float but double is provided"),
        ("wrong shape", predict_request(tf, images[:, :5]), "INVALID_ARGUMENT",
         "Matrix size-incompatible"),
        ("unknown output", predict_request(tf, images, output_filter=["nope"]),
         "INVALID_ARGUMENT", "output tensor alias not found in signature: nope"),
        ("repeated output", predict_request(tf, images, output_filter=["scores", "scores"]),
         "INVALID_ARGUMENT", "duplicate output tensor alias: scores"),
        ("version label", labelled, "INVALID_ARGUMENT", "Unrecognized servable version label"),
    ]


def test_bad_predict_requests_get_tf_servings_status(tf, stub, exported):
    for what, request, code, message in bad_predict_requests(tf):
        with pytest.raises(grpc.RpcError) as raised:
            stub.Predict(request, timeout=TIMEOUT)
        assert raised.value.code() == grpc.StatusCode[code], what
        assert message in raised.value.details(), what
        assert_still_answers(tf, stub, exported)


def test_bad_metadata_and_classify_requests(tf, stub, exported):
    from tensorflow_serving.apis import classification_pb2, get_model_metadata_pb2

    no_field = get_model_metadata_pb2.GetModelMetadataRequest()
    no_field.model_spec.name = NAME
    other_field = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["graph"])
    other_field.model_spec.name = NAME
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name = NAME
    classify.input.example_list.examples.add()
    cases = [
        (stub.GetModelMetadata, no_field,
         "GetModelMetadataRequest must specify at least one metadata_field"),
        (stub.GetModelMetadata, other_field, "Metadata field graph is not supported"),
        (stub.Classify, classify, "Expected classification signature method_name to be "
         "tensorflow/serving/classify. Was: tensorflow/serving/predict"),
    ]
    for call, request, message in cases:
        with pytest.raises(grpc.RpcError) as raised:
            call(request, timeout=TIMEOUT)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in raised.value.details()
        assert_still_answers(tf, stub, exported)


def test_oversized_message_is_refused(tf, stub, exported):
    rows = MAX_BODY_BYTES // (8 * 4) + 1
    images = np.zeros((rows, 8), np.float32)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(predict_request(tf, images), timeout=TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_still_answers(tf, stub, exported)


def test_rest_wrong_shape_is_tensorflows_error(server, tf, stub, exported):
    answer = requests.post(f"{server.rest_url}/v1/models/{NAME}:predict",
                           data=json.dumps({"instances": [[1.0, 2.0]]}), timeout=TIMEOUT)
    assert answer.status_code == 400
    assert "Matrix size-incompatible" in answer.json()["error"]
    assert_still_answers(tf, stub, exported)
