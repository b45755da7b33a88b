"""TF Serving's own REST test cases, ported as data.

Every case comes from github.com/tensorflow/serving (Apache License 2.0), and
says which test it is: ``json_tensor_test.cc`` is
``tensorflow_serving/util/json_tensor_test.cc``, ``http_rest_api_handler_test.cc``
is ``tensorflow_serving/model_servers/http_rest_api_handler_test.cc``. Request
bodies, expected tensors (``TensorProto`` text, as the C++ tests write them),
expected JSON and expected error substrings are copied as they are there.

Where the preview differs from TF Serving, the case says so in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HALF_PLUS_TWO = "saved_model_half_plus_two_2_versions"
"""The model name of the handler tests (``kTestModelName``); its version ``kTestModelVersion1``
is 123."""


@dataclass(frozen=True)
class JsonToTensors:
    """``FillPredictRequestFromJson(body)`` with the signature inputs ``inputs`` gives
    ``expected`` (``{alias: TensorProto text}``) in ``format``."""

    test: str
    inputs: dict[str, str]
    body: str
    format: str
    expected: dict[str, str]


@dataclass(frozen=True)
class JsonError:
    """Reading ``body`` (predict: with ``inputs``; classify/regress: ``inputs`` empty)
    is refused with INVALID_ARGUMENT and a message containing ``message``."""

    test: str
    inputs: dict[str, str]
    body: str
    message: str


@dataclass(frozen=True)
class TensorsToJson:
    """``MakeJsonFromTensors(tensors, format)`` writes ``expected``; with
    ``as_strings`` the numbers are compared as spelled (``CompareJsonAllValuesAsStrings``)."""

    test: str
    tensors: dict[str, str]
    format: str
    expected: str
    as_strings: bool = False


@dataclass(frozen=True)
class TensorsToJsonError:
    test: str
    tensors: dict[str, str]
    message: str


@dataclass(frozen=True)
class HandlerCase:
    """One request to the server and its answer: HTTP status, and either the JSON
    (compared as data) or a substring of the ``error`` message."""

    test: str
    method: str
    path: str
    body: str
    status: int
    json: str = ""
    error: str = ""
    note: str = field(default="", compare=False)


_INT_3X2 = """
    dtype: DT_INT32
    tensor_shape { dim { size: 3 } dim { size: 2 } }
    int_val: 1 int_val: 2 int_val: 3 int_val: 4 int_val: 5 int_val: 6
"""
_INT_1X3X2 = """
    dtype: DT_INT32
    tensor_shape { dim { size: 1 } dim { size: 3 } dim { size: 2 } }
    int_val: 1 int_val: 2 int_val: 3 int_val: 4 int_val: 5 int_val: 6
"""
_INT_2X3X2 = """
    dtype: DT_INT32
    tensor_shape { dim { size: 2 } dim { size: 3 } dim { size: 2 } }
    int_val: 1 int_val: 2 int_val: 3 int_val: 4 int_val: 5 int_val: 6
    int_val: 7 int_val: 8 int_val: 9 int_val: 0 int_val: 1 int_val: 2
"""
_BYTES_2X2 = """
    dtype: DT_STRING
    tensor_shape { dim { size: 2 } dim { size: 2 } }
    string_val: "hello" string_val: "world" string_val: "tf" string_val: "serving"
"""



def _one_float(test: str, number: str, float_val: str) -> JsonToTensors:
    """``{"instances": [number]}`` for one float input, read as ``float_val``."""
    return JsonToTensors(test, {"default": "DT_FLOAT"}, f'{{ "instances": [{number}] }}', "row",
                         {"default": "dtype: DT_FLOAT tensor_shape { dim { size: 1 } } "
                                     f"float_val: {float_val}"})


JSON_TO_TENSORS = [
    # json_tensor_test.cc, TEST(JsontensorTest, SingleUnnamedTensor)
    JsonToTensors("SingleUnnamedTensor", {"default": "DT_INT32"},
                  '{"instances": [[1,2],[3,4],[5,6]]}', "row", {"default": _INT_3X2}),
    # json_tensor_test.cc, TEST(JsontensorTest, MixedInputForFloatTensor)
    JsonToTensors("MixedInputForFloatTensor", {"default": "DT_FLOAT"},
                  '{"instances": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}', "row",
                  {"default": """dtype: DT_FLOAT tensor_shape { dim { size: 7 } }
                   float_val: 1 float_val: 2.0 float_val: 3 float_val: 4 float_val: 5.003
                   float_val: 0.007 float_val: 0.0"""}),
    # json_tensor_test.cc, TEST(JsontensorTest, MixedInputForDoubleTensor)
    JsonToTensors("MixedInputForDoubleTensor", {"default": "DT_DOUBLE"},
                  '{"instances": [1.0, 2, 3, 4, 0.662, 0, 0.0]}', "row",
                  {"default": """dtype: DT_DOUBLE tensor_shape { dim { size: 7 } }
                   double_val: 1.0 double_val: 2 double_val: 3 double_val: 4
                   double_val: 0.662 double_val: 0 double_val: 0.0"""}),
    # json_tensor_test.cc, TEST(JsontensorTest, FloatTensorWithPrecisionLoss), both requests
    _one_float("FloatTensorWithPrecisionLoss", "1435774380", "1435774380"),
    _one_float("FloatTensorWithPrecisionLoss", "1435774380.0", "1435774380.0"),
    # json_tensor_test.cc, TEST(JsontensorTest, FloatTensorThatExceedsMaxReturnsInf)
    # (std::numeric_limits<double>::max() as absl::Substitute writes it)
    _one_float("FloatTensorThatExceedsMaxReturnsInf", "1.79769e+308", "inf"),
    _one_float("FloatTensorThatExceedsMaxReturnsInf", "-1.79769e+308", "-inf"),
    # json_tensor_test.cc, TEST(JsontensorTest, FloatTensorThatExceedsMinReturnsZero)
    _one_float("FloatTensorThatExceedsMinReturnsZero", "2.22507e-308", "0"),
    # json_tensor_test.cc, TEST(JsontensorTest, SingleUnnamedTensorWithSignature)
    JsonToTensors("SingleUnnamedTensorWithSignature", {"default": "DT_INT32"},
                  '{"signature_name": "predict_images", "instances": [[1,2]]}', "row",
                  {"default": """dtype: DT_INT32 tensor_shape { dim { size: 1 } dim { size: 2 } }
                   int_val: 1 int_val: 2"""}),
    # json_tensor_test.cc, TEST(JsontensorTest, TensorFromNonNullTerminatedBuffer)
    # (the document followed by a character the parser must not read)
    JsonToTensors("TensorFromNonNullTerminatedBuffer", {"default": "DT_INT32"},
                  '{"instances": [[1,2],[3,4],[5,6]]}X', "row", {"default": _INT_3X2}),
    # json_tensor_test.cc, TEST(JsontensorTest, SingleUnnamedTensorBase64Scalars)
    JsonToTensors("SingleUnnamedTensorBase64Scalars", {"default": "DT_STRING"},
                  '{"instances": [ { "b64" : "aGVsbG8=" }, { "b64": "d29ybGQ=" } ]}', "row",
                  {"default": """dtype: DT_STRING tensor_shape { dim { size: 2 } }
                   string_val: "hello" string_val: "world" """}),
    # json_tensor_test.cc, TEST(JsontensorTest, SingleUnnamedTensorBase64Lists)
    JsonToTensors("SingleUnnamedTensorBase64Lists", {"default": "DT_STRING"},
                  '{"instances": [ [{ "b64" : "aGVsbG8=" }], [{ "b64": "d29ybGQ=" }] ]}', "row",
                  {"default": """dtype: DT_STRING tensor_shape { dim { size: 2 } dim { size: 1 } }
                   string_val: "hello" string_val: "world" """}),
    # json_tensor_test.cc, TEST(JsontensorTest, SingleNamedTensorBase64)
    JsonToTensors("SingleNamedTensorBase64", {"default": "DT_STRING"},
                  '{"instances": [{"default": [ [{ "b64" : "aGVsbG8=" }], '
                  '[{ "b64": "d29ybGQ=" }] ]}]}', "row",
                  {"default": """dtype: DT_STRING
                   tensor_shape { dim { size: 1 } dim { size: 2 } dim { size: 1 } }
                   string_val: "hello" string_val: "world" """}),
    # json_tensor_test.cc, TEST(JsontensorTest, MultipleNamedTensor)
    JsonToTensors(
        "MultipleNamedTensor",
        {"int_tensor": "DT_INT32", "str_tensor": "DT_STRING", "float_tensor": "DT_FLOAT",
         "dbl_tensor": "DT_DOUBLE"},
        """{"instances": [
            {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"],
             "float_tensor": [1.0, NaN], "dbl_tensor": [NaN]},
            {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"],
             "float_tensor": [2.0, Infinity], "dbl_tensor": [2.0]}]}""",
        "row",
        {"int_tensor": _INT_2X3X2,
         "str_tensor": """dtype: DT_STRING tensor_shape { dim { size: 2 } dim { size: 2 } }
          string_val: "foo" string_val: "bar" string_val: "baz" string_val: "bat" """,
         "float_tensor": """dtype: DT_FLOAT tensor_shape { dim { size: 2 } dim { size: 2 } }
          float_val: 1.0 float_val: NaN float_val: 2.0 float_val: Infinity""",
         "dbl_tensor": """dtype: DT_DOUBLE tensor_shape { dim { size: 2 } dim { size: 1 } }
          double_val: NaN double_val: 2.0"""}),
    # json_tensor_test.cc, TEST(JsontensorTest, SingleUnnamedTensorColumnarFormat), both requests
    JsonToTensors("SingleUnnamedTensorColumnarFormat", {"int_tensor": "DT_INT32"},
                  '{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]]}}', "columnar",
                  {"int_tensor": _INT_1X3X2}),
    JsonToTensors("SingleUnnamedTensorColumnarFormat", {"int_tensor": "DT_INT32"},
                  '{"inputs": [[[1,2],[3,4],[5,6]]]}', "columnar", {"int_tensor": _INT_1X3X2}),
    # json_tensor_test.cc, TEST(JsontensorTest, MultipleNamedTensorColumnarFormat)
    JsonToTensors(
        "MultipleNamedTensorColumnarFormat",
        {"int_tensor": "DT_INT32", "str_tensor": "DT_STRING", "bin_tensor": "DT_STRING"},
        """{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]], "str_tensor": ["foo", "bar"],
            "bin_tensor": { "b64" : "aGVsbG8=" }}}""",
        "columnar",
        {"int_tensor": _INT_1X3X2,
         "str_tensor": """dtype: DT_STRING tensor_shape { dim { size: 2 } }
          string_val: "foo" string_val: "bar" """,
         "bin_tensor": 'dtype: DT_STRING tensor_shape {} string_val: "hello"'}),
]

JSON_ERRORS = [
    # json_tensor_test.cc, TEST(JsontensorTest, SingleUnnamedTensorErrors)
    JsonError("SingleUnnamedTensorErrors", {"default": "DT_INT32"}, "", "document is empty"),
    JsonError("SingleUnnamedTensorErrors", {"default": "DT_INT32"},
              '{"signature_name": 5, "instances": [[1,2],[3,4],[5,6,7]]}',
              "must be a string value"),
    JsonError("SingleUnnamedTensorErrors", {"default": "DT_INT32"},
              '{"instances": [[1,2],[3,4],[5,6,7]], "inputs": [[1,2],[3,4],[5,6,7]]}',
              "Not formatted correctly"),
    JsonError("SingleUnnamedTensorErrors", {"default": "DT_INT32"},
              '{"instances": [[1,2],[3,4],[5,6,7]]}', "Expecting tensor size"),
    JsonError("SingleUnnamedTensorErrors", {"default": "DT_INT32"},
              '{"instances": [[1,2],[3,4],[[5,6]]]}', "Expecting shape"),
    JsonError("SingleUnnamedTensorErrors", {"default": "DT_INT32"},
              '{"instances": [1, [1]]}', "Expecting shape"),
    JsonError("SingleUnnamedTensorErrors", {"default": "DT_INT32"},
              '{"instances": [[1,2],["a", "b"]]}', "not of expected type"),
    # json_tensor_test.cc, TEST(JsontensorTest, MultipleNamedTensorErrors)
    JsonError("MultipleNamedTensorErrors", {"int_tensor": "DT_INT32", "str_tensor": "DT_STRING"},
              """{"instances": [
                  {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"]},
                  {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz", "bat"]}]}""",
              "Expecting shape"),
    JsonError("MultipleNamedTensorErrors", {"int_tensor": "DT_INT32", "str_tensor": "DT_STRING"},
              """{"instances": [
                  {"int_tensor": [[1,2],[3,4],[5,6],[7,8]], "str_tensor": ["foo", "bar"]},
                  {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"]}]}""",
              "Expecting tensor size"),
    JsonError("MultipleNamedTensorErrors", {"int_tensor": "DT_INT32", "str_tensor": "DT_STRING"},
              """{"instances": [
                  {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"]},
                  [1, 20, 30],
                  {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz", "bat"]}]}""",
              "Expecting object but got list"),
    JsonError("MultipleNamedTensorErrors", {"str_tensor": "DT_STRING"},
              '{"instances": [["baz", "bar"], {"str_tensor": ["baz", "bat"]}]}',
              "Expecting value/list but got object"),
]

EXAMPLES_ERRORS = [
    # json_tensor_test.cc, TYPED_TEST(ClassifyRegressRequestTest, JsonErrors)
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"signature_name": [ "hello" ], "examples": [ { "names": [ "foo", "bar" ] } ]}',
              "'signature_name' key must be a string"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"context": [ { "names": [ "foo", "bar" ] } ]}', "Example must be JSON object"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"examples": { "names": [ "foo", "bar" ] }}', "list/array"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"examples": [ [ { "names": [ "foo", "bar" ] } ] ]}',
              "Example must be JSON object"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"examples": [ { "names": [ 10, null ] } ]}',
              "names has element with unexpected JSON type: Null"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"examples": [ { "names": [ 10, 10.0 ] } ]}',
              "feature: names expecting type: int64"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"examples": [ { "names": [ 10, { "test": 10 } ] } ]}',
              "names has element with unexpected JSON type: Object"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"examples": [ { "names": [ [10], 20 ] } ]}',
              "names has element with unexpected JSON type: Array"),
    JsonError("ClassifyRegressRequestTest.JsonErrors", {},
              '{"examples": [ { "names": [ 20, 18446744073709551603 ] } ]}',
              "Only int64_t is supported"),
]

# json_tensor_test.cc, TYPED_TEST(ClassifyRegressRequestTest, RequestWithContextAndSignature):
# the request, and its context and examples as the test's expected ExampleListWithContext.
EXAMPLES_WITH_CONTEXT = """{
  "signature_name": "custom_signture",
  "context": {"query": "pizza", "location": [ "sfo" ]},
  "examples": [
    {"names": [ "foo", "bar" ], "ratings": [ 8.0, 9.0, NaN, Infinity ], "age": 20},
    {"names": [ "baz", { "b64": "aGVsbG8=" } ], "ratings": 6.0, "intboolmix": [ 1, true, false ]},
    {"names": "bar", "ratings": -Infinity}
  ]
}"""
EXAMPLES_CONTEXT = """features {
  feature { key: "query" value { bytes_list { value: "pizza" } } }
  feature { key: "location" value { bytes_list { value: "sfo" } } }
}"""
EXAMPLES_EXPECTED = [
    """features {
      feature { key: "names" value { bytes_list { value: "foo" value: "bar" } } }
      feature { key: "ratings" value { float_list { value: 8.0 value: 9.0 value: NaN
                                                   value: Infinity } } }
      feature { key: "age" value { int64_list { value: 20 } } }
    }""",
    """features {
      feature { key: "names" value { bytes_list { value: "baz" value: "hello" } } }
      feature { key: "ratings" value { float_list { value: 6.0 } } }
      feature { key: "intboolmix" value { int64_list { value: 1 value: 1 value: 0 } } }
    }""",
    """features {
      feature { key: "names" value { bytes_list { value: "bar" } } }
      feature { key: "ratings" value { float_list { value: -Infinity } } }
    }""",
]

TENSORS_TO_JSON = [
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonSingleTensor)
    TensorsToJson("FromJsonSingleTensor", {"int_tensor": _INT_2X3X2}, "row",
                  '{"predictions": [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]]}'),
    TensorsToJson("FromJsonSingleTensor", {"int_tensor": _INT_2X3X2}, "columnar",
                  '{"outputs": [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]]}'),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonSingleScalarTensor)
    TensorsToJson("FromJsonSingleScalarTensor",
                  {"int_tensor": "dtype: DT_INT32 tensor_shape { dim { size: 5 } } "
                                 "int_val: 1 int_val: 2 int_val: 3 int_val: 4 int_val: 5"},
                  "row", '{ "predictions": [1, 2, 3, 4, 5] }'),
    TensorsToJson("FromJsonSingleScalarTensor",
                  {"int_tensor": "dtype: DT_INT32 tensor_shape { dim { size: 5 } } "
                                 "int_val: 1 int_val: 2 int_val: 3 int_val: 4 int_val: 5"},
                  "columnar", '{ "outputs": [1, 2, 3, 4, 5] }'),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonSingleBytesTensor)
    TensorsToJson("FromJsonSingleBytesTensor", {"str_tensor_bytes": _BYTES_2X2}, "row",
                  """{"predictions": [[{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}],
                                      [{"b64": "dGY="}, {"b64": "c2VydmluZw=="}]]}"""),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonSingleFloatTensorSixDigitPrecision)
    TensorsToJson("FromJsonSingleFloatTensorSixDigitPrecision",
                  {"float_tensor": """dtype: DT_FLOAT
                   tensor_shape { dim { size: 2 } dim { size: 3 } }
                   float_val: 9000000 float_val: 999999 float_val: 0.50000 float_val: .0003
                   float_val: .00003 float_val: 555557.5"""},
                  "row", '{"predictions": [[9e+06, 999999.0, 0.5], [0.0003, 3e-05, 555557.5]]}',
                  as_strings=True),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonSingleFloatTensorNonFinite)
    TensorsToJson("FromJsonSingleFloatTensorNonFinite",
                  {"float_tensor": """dtype: DT_FLOAT
                   tensor_shape { dim { size: 2 } dim { size: 2 } }
                   float_val: NaN float_val: Infinity float_val: 3 float_val: -Infinity"""},
                  "row", '{"predictions": [[NaN, Infinity], [3.0, -Infinity]]}', as_strings=True),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonMultipleNamedTensors), both formats
    *(TensorsToJson(
        "FromJsonMultipleNamedTensors",
        {"int_tensor": _INT_2X3X2,
         "str_tensor": """dtype: DT_STRING tensor_shape { dim { size: 2 } dim { size: 2 } }
          string_val: "foo" string_val: "bar" string_val: "baz" string_val: "bat" """,
         "float_tensor": """dtype: DT_FLOAT tensor_shape { dim { size: 2 } dim { size: 1 } }
          float_val: 1.0 float_val: 2.0""",
         "double_scalar_tensor": """dtype: DT_DOUBLE tensor_shape { dim { size: 2 } }
          double_val: 8.0 double_val: 9.0""",
         "str_tensor_bytes": _BYTES_2X2},
        layout, expected) for layout, expected in (
        ("row", """{"predictions": [
          {"double_scalar_tensor": 8.0, "float_tensor": [1.0],
           "int_tensor": [[1, 2], [3, 4], [5, 6]], "str_tensor": ["foo", "bar"],
           "str_tensor_bytes": [ {"b64": "aGVsbG8="}, {"b64": "d29ybGQ="} ]},
          {"double_scalar_tensor": 9.0, "float_tensor": [2.0],
           "int_tensor": [[7, 8], [9, 0], [1, 2]], "str_tensor": ["baz", "bat"],
           "str_tensor_bytes": [ {"b64": "dGY="}, {"b64": "c2VydmluZw=="} ]}]}"""),
        ("columnar", """{"outputs": {
          "double_scalar_tensor": [8.0, 9.0], "float_tensor": [[1.0], [2.0]],
          "int_tensor": [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]],
          "str_tensor": [["foo", "bar"], ["baz", "bat"]],
          "str_tensor_bytes": [[{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}],
                               [{"b64": "dGY="}, {"b64": "c2VydmluZw=="}]]}}"""))),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonSingleZeroBatchTensor)
    TensorsToJson("FromJsonSingleZeroBatchTensor",
                  {"int_tensor": "dtype: DT_INT32 "
                                 "tensor_shape { dim { size: 0 } dim { size: 2 } }"},
                  "row", '{ "predictions": [] }'),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonMultipleZeroBatchTensors)
    TensorsToJson("FromJsonMultipleZeroBatchTensors",
                  {"str_tensor": "dtype: DT_STRING tensor_shape { dim { size: 0 } dim { size: 1 } "
                                 "dim { size: 2 } }",
                   "float_tensor": "dtype: DT_FLOAT tensor_shape { dim { size: 0 } "
                                   "dim { size: 3 } dim { size: 4 } }"},
                  "row", '{ "predictions": [] }'),
]

TENSORS_TO_JSON_ERRORS = [
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonSingleTensorErrors)
    TensorsToJsonError("FromJsonSingleTensorErrors", {}, "empty tensor map"),
    TensorsToJsonError("FromJsonSingleTensorErrors",
                       {"tensor": "dtype: DT_COMPLEX64 tensor_shape { dim { size: 2 } } "
                                  "scomplex_val: 1.0 scomplex_val: 2.0"},
                       "tensor type: complex64"),
    TensorsToJsonError("FromJsonSingleTensorErrors", {"tensor": "dtype: DT_INT32 int_val: 1"},
                       "no shape information"),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonMultipleNamedTensorsErrors)
    TensorsToJsonError("FromJsonMultipleNamedTensorsErrors",
                       {"int_tensor": "dtype: DT_INT32 tensor_shape { dim { size: 2 } "
                                      "dim { size: 3 } } int_val: 1 int_val: 2 int_val: 3 "
                                      "int_val: 4 int_val: 5 int_val: 6",
                        "str_tensor": 'dtype: DT_STRING tensor_shape { dim { size: 1 } '
                                      'dim { size: 3 } } string_val: "foo" string_val: "bar" '
                                      'string_val: "baz"'},
                       "inconsistent batch size"),
    # json_tensor_test.cc, TEST(JsontensorTest, FromJsonMultipleZeroBatchTensorsErrors)
    TensorsToJsonError("FromJsonMultipleZeroBatchTensorsErrors",
                       {"int_tensor": "dtype: DT_INT32 tensor_shape { dim { size: 0 } "
                                      "dim { size: 2 } }",
                        "str_tensor": 'dtype: DT_STRING tensor_shape { dim { size: 1 } '
                                      'dim { size: 2 } } string_val: "foo" string_val: "bar"'},
                       "inconsistent batch size"),
]

# json_tensor_test.cc, TEST(ClassifyRegressnResultTest, JsonFromClassificationResult)
CLASSIFICATION_RESULT = [[("car", 0.2), ("bike", 0.7), ("bus", 0.1)],
                         [("car", 0.7), ("bike", 0.1), ("bus", 0.2)]]
CLASSIFICATION_JSON = """{"results": [[ ["car", 0.2], ["bike", 0.7], ["bus", 0.1] ],
                                      [ ["car", 0.7], ["bike", 0.1], ["bus", 0.2] ]]}"""
# json_tensor_test.cc, TEST(ClassifyRegressnResultTest, JsonFromRegressionResult)
REGRESSION_RESULT = [0.2, 0.9, 1.0]
REGRESSION_JSON = '{ "results": [ 0.2, 0.9, 1.0 ] }'

_PREDICT = f"/v1/models/{HALF_PLUS_TWO}:predict"


def _answered(test: str, where: str, body: str, answer: str) -> HandlerCase:
    """A POST to ``/v1/models/<the model><where>`` that TF Serving answers with ``answer``."""
    return HandlerCase(test, "POST", f"/v1/models/{HALF_PLUS_TWO}{where}", body, 200,
                       json=answer)


_STATUS_123 = """{"model_version_status": [{"version": "123", "state": "AVAILABLE",
                  "status": {"error_code": "OK", "error_message": ""}}]}"""

HANDLER_CASES = [
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, UnsupportedApiCalls)
    *(HandlerCase("UnsupportedApiCalls", method, path, "", 400, error=error)
      for method, path, error in (
          ("GET", "/v1/foo", "Malformed request"),
          ("POST", "/v1/foo", "Malformed request"),
          ("GET", "/v1/models", "Missing model name"),
          ("GET", "/v1/models/debug/model_name", "Malformed request"),
          ("POST", "/v1/models", "Malformed request"),
          ("GET", "/v1/models/foo:predict", "Malformed request"),
          ("GET", "/v1/models/foo/version/50:predict", "Malformed request"),
          ("POST", "/v1/models/foo/version/50:regress", "Malformed request"),
          ("POST", "/v1/models/foo/versions/HELLO:regress", "Malformed request"),
          ("POST", "/v1/models/foo/versions/18446744073709551615:regress",
           "Failed to convert version"),
          ("POST", "/v1/models/foo/metadata", "Malformed request"),
          ("POST", "/v1/models/foo/label/some_label:regress", "Malformed request"),
          ("POST", "/v1/models/foo/versions/50/labels/some_label:regress", "Malformed request"),
          ("POST", "/v1/models/foo/versions/some_label:regress", "Malformed request"),
      )),
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, PredictModelNameVersionErrors)
    HandlerCase("PredictModelNameVersionErrors", "POST", "/v1/models/foo:predict",
                '{ "instances": [1] }', 404, error="Servable not found"),
    HandlerCase("PredictModelNameVersionErrors", "POST", "/v1/models/foo/versions/50:predict",
                '{ "instances": [1] }', 404, error="Servable not found"),
    HandlerCase("PredictModelNameVersionErrors", "POST", f"/v1/models/{HALF_PLUS_TWO}99:predict",
                '{ "instances": [1] }', 404, error="Servable not found"),
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, PredictRequestErrors)
    HandlerCase("PredictRequestErrors", "POST", _PREDICT, "", 400,
                error="JSON Parse error: The document is empty"),
    HandlerCase("PredictRequestErrors", "POST", _PREDICT, "instances = [1, 2]", 400,
                error="JSON Parse error: Invalid value"),
    HandlerCase("PredictRequestErrors", "POST", _PREDICT, '{ "instances": ["x", "y"] }', 400,
                error="not of expected type: float"),
    HandlerCase("PredictRequestErrors", "POST",
                f"/v1/models/{HALF_PLUS_TWO}/labels/Nonexistent_Label:predict",
                '{ "instances": ["x", "y"] }', 400, error="Unrecognized servable version label",
                note="the preview has no version labels, so every label is unrecognized"),
    HandlerCase("PredictRequestErrors", "POST", _PREDICT, '{ "signature_name": 100 }', 400,
                error="'signature_name' key must be a string value."),
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, Predict)
    # (the label requests are left out: labels come from a model config, which the preview
    # does not have; version 123 is asked for explicitly where the test's config had only it)
    _answered("Predict", ":predict", '{"instances": [[1.0, 2.0], [3.0, 4.0]]}',
              '{ "predictions": [[2.5, 3.0], [3.5, 4.0]] }'),
    _answered("Predict", "/versions/123:predict", '{"instances": [1.0, 2.0]}',
              '{ "predictions": [2.5, 3.0] }'),
    _answered("Predict", "/versions/123:predict",
              '{"signature_name": "serving_default", "instances": [3.0, 4.0]}',
              '{ "predictions": [3.5, 4.0] }'),
    _answered("Predict", "/versions/123:predict",
              '{"signature_name": "serving_default", "inputs": [3.0, 4.0]}',
              '{ "outputs": [3.5, 4.0] }'),
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, Regress)
    *(_answered("Regress", where,
                '{"signature_name": "regress_x_to_y", "examples": [ { "x": 80.0 } ] }',
                '{ "results": [42] }') for where in (":regress", "/versions/123:regress")),
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, Classify)
    _answered("Classify", ":classify",
              '{"signature_name": "classify_x_to_y", "examples": [ { "x": 20.0 } ] }',
              '{ "results": [[["", 12]]] }'),
    _answered("Classify", "/versions/123:classify",
              '{"signature_name": "classify_x_to_y", "examples": [ { "x": 10.0 } ] }',
              '{ "results": [[["", 7]]] }'),
    # http_rest_api_handler_test.cc, TEST_F(HttpRestApiHandlerTest, GetStatus)
    HandlerCase("GetStatus", "GET", f"/v1/models/{HALF_PLUS_TWO}/versions/123", "", 200,
                json=_STATUS_123),
    HandlerCase("GetStatus", "GET", f"/v1/models/{HALF_PLUS_TWO}", "", 200,
                json="""{"model_version_status": [
                  {"version": "124", "state": "AVAILABLE",
                   "status": {"error_code": "OK", "error_message": ""}},
                  {"version": "123", "state": "AVAILABLE",
                   "status": {"error_code": "OK", "error_message": ""}}]}""",
                note="the test's config loads version 123 only; the preview serves 123 and 124"),
]

METADATA_FILE = "tests/data/tfserving/saved_model_half_plus_two_2_versions_metadata.json"
"""``tensorflow_serving/servables/tensorflow/testdata/
saved_model_half_plus_two_2_versions_metadata.json``, copied as it is: what
TEST_F(HttpRestApiHandlerTest, GetModelMetadata) expects for version 123."""
