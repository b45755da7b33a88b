"""The EAS messages declared here are the eas-prediction SDK's, byte for byte.

The SDK runs in its own virtual environment (it pins an old protobuf); it describes its
messages and encodes and decodes bodies there, and this process checks ours against them.
"""

from __future__ import annotations

import json
import subprocess

import eas_client
import numpy as np
import pytest

from savedmodel_widgets.serving import eas_messages
from savedmodel_widgets.serving.eas_messages import (
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)

eas_python = eas_client.eas_python

_DESCRIBE = """
import json
from eas_prediction import tf_request_pb2 as pb
out = {}
for message in pb.DESCRIPTOR.message_types_by_name.values():
    for each in [message, *message.nested_types]:
        out[each.name] = sorted((f.name, f.number, f.type, f.label == f.LABEL_REPEATED)
                                for f in each.fields)
out["ArrayDataType"] = sorted((v.name, v.number) for v in pb.ArrayDataType.DESCRIPTOR.values)
print(json.dumps(out))
"""

_SDK_REQUEST = """
import sys
from eas_prediction import TFRequest
request = TFRequest("predict_images")
request.add_feed("images", [2, 3], TFRequest.DT_FLOAT, [0.5, 1, 2, 3, 4, -5.25])
request.add_feed("ids", [3], TFRequest.DT_INT64, [1, -2, 2**40])
request.add_feed("small", [2], TFRequest.DT_INT8, [-3, 7])
request.add_feed("words", [1, 2], TFRequest.DT_STRING, [b"hello", "w\\u00f6rld".encode()])
request.add_feed("flags", [2], TFRequest.DT_BOOL, [True, False])
request.add_fetch("scores")
sys.stdout.buffer.write(request.to_string())
"""

_SDK_RESPONSE = """
import json, sys
from eas_prediction.tf_request import TFResponse
response = TFResponse(sys.stdin.buffer.read())
print(json.dumps({name: [response.get_tensor_shape(name),
                         [v.decode() if isinstance(v, bytes) else v
                          for v in response.get_values(name)]]
                  for name in response.response.outputs}))
"""


def _run(python, code: str, stdin: bytes = b"") -> bytes:
    return subprocess.run([python, "-c", code], input=stdin, capture_output=True,
                          check=True, timeout=120).stdout


def _ours() -> dict[str, list]:
    out: dict[str, list] = {}
    for name in ("ArrayShape", "ArrayProto", "PredictRequest", "PredictResponse"):
        descriptor = eas_messages._message_class(name).DESCRIPTOR
        for each in [descriptor, *descriptor.nested_types]:
            out[each.name] = sorted([f.name, f.number, f.type, f.is_repeated] for f in each.fields)
    enum = eas_messages._message_class("ArrayProto").DESCRIPTOR.fields_by_name["dtype"].enum_type
    out["ArrayDataType"] = sorted([v.name, v.number] for v in enum.values)
    return out


def test_messages_match_the_sdk_declarations(eas_python):
    assert json.loads(_run(eas_python, _DESCRIBE)) == _ours()


def test_a_request_the_sdk_encodes_decodes_to_its_arrays(eas_python):
    request = decode_request(_run(eas_python, _SDK_REQUEST))
    assert request.signature_name == "predict_images"
    assert request.output_filter == ("scores",)
    inputs = request.inputs
    np.testing.assert_array_equal(inputs["images"], [[0.5, 1, 2], [3, 4, -5.25]])
    assert inputs["images"].dtype == np.float32
    np.testing.assert_array_equal(inputs["ids"], np.array([1, -2, 2**40], dtype=np.int64))
    assert inputs["small"].dtype == np.int8 and inputs["small"].tolist() == [-3, 7]
    assert inputs["words"].tolist() == [[b"hello", "wörld".encode()]]
    assert inputs["flags"].tolist() == [True, False]


def test_our_request_is_what_the_sdk_would_send(eas_python):
    theirs = decode_request(_run(eas_python, _SDK_REQUEST))
    ours = decode_request(encode_request(theirs.inputs, "predict_images", ["scores"]))
    assert ours.signature_name == theirs.signature_name
    assert ours.output_filter == theirs.output_filter
    for alias, value in theirs.inputs.items():
        assert ours.inputs[alias].dtype == value.dtype
        np.testing.assert_array_equal(ours.inputs[alias], value)


def test_the_sdk_reads_our_response(eas_python):
    outputs = {
        "scores": np.array([[0.25, -1.5]], dtype=np.float32),
        "classes": np.array([[3], [4]], dtype=np.int64),
        "labels": np.array([b"cat", "dög".encode()], dtype=object),
        "doubles": np.array([1e-300], dtype=np.float64),
    }
    read = json.loads(_run(eas_python, _SDK_RESPONSE, encode_response(outputs)))
    assert read == {
        "scores": [[1, 2], [0.25, -1.5]],
        "classes": [[2, 1], [3, 4]],
        "labels": [[2], ["cat", "dög"]],
        "doubles": [[1], [1e-300]],
    }
    for alias, value in decode_response(encode_response(outputs)).items():
        np.testing.assert_array_equal(value, outputs[alias].astype(value.dtype))


@pytest.mark.parametrize("body, words", [
    (b"\xff\xff\xff", "not a PredictRequest"),
    (encode_request({"x": np.zeros(3, np.float32)})[:-2], "not a PredictRequest"),
])
def test_a_body_that_is_no_request_is_refused(body, words):
    with pytest.raises(ValueError, match=words):
        decode_request(body)


def test_values_that_do_not_fill_the_shape_are_refused():
    message = eas_messages._message_class("PredictRequest")()
    message.inputs["x"].dtype = 1
    message.inputs["x"].array_shape.dim.extend([2, 2])
    message.inputs["x"].float_val.extend([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"'x' has shape \[2, 2\], which holds 4 values, but 3"):
        decode_request(message.SerializeToString())


def test_a_dtype_without_value_field_is_refused():
    with pytest.raises(ValueError, match="carries only float32"):
        encode_response({"z": np.zeros(2, np.complex64)})
    message = eas_messages._message_class("PredictRequest")()
    message.inputs["h"].dtype = 19  # DT_HALF
    with pytest.raises(ValueError, match="'h' has ArrayDataType 19"):
        decode_request(message.SerializeToString())

