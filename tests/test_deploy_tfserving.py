"""TF Serving's deployment files, held to TensorFlow's and TF Serving's own code.

One Keras 3 classifier, exported with ``smw.export`` into versions 1 and 2, gets a warm-up
file in version 2. TensorFlow's record reader and ``tensorflow-serving-api``'s
``PredictionLog`` read it back; the preview server answers each of its requests, by gRPC
and REST, as the Keras model does in this process; TensorFlow's serve loader still loads
the export. Our reader reads what ``tf.io.TFRecordWriter`` writes, every dense dtype
round-trips through ``TensorProto`` both ways, and ``models.config`` parses as
``ModelServerConfig``. Docker is not installed here: the ``docker run`` line is checked
as shell words only.
"""

from __future__ import annotations

import re
import shlex
import shutil

import numpy as np
import pytest
import serving_models

import savedmodel_widgets as smw
from savedmodel_widgets.deploy.replay import replay_warmup
from savedmodel_widgets.deploy.requests import MAX_WARMUP_REQUESTS, WarmupRequest, warmup_requests
from savedmodel_widgets.deploy.serving_messages import (
    TENSOR_DTYPES,
    array_from_tensor_proto,
    decode_prediction_log,
    encode_prediction_log,
    fill_tensor_proto,
    message_class,
)
from savedmodel_widgets.deploy.tfrecord import LANES_FROM, crc32c, read_records, write_records
from savedmodel_widgets.deploy.tfserving_config import (
    ModelConfig,
    docker_run_command,
    model_server_config_text,
    serving_image,
    versioned_layout,
    write_model_server_config,
)
from savedmodel_widgets.deploy.tfserving_warmup import (
    WARMUP_PATH,
    check_tfserving_warmup,
    read_tfserving_warmup,
    write_tfserving_warmup,
)
from savedmodel_widgets.errors import DeployError, DeployTargetExistsError
from savedmodel_widgets.runtimes.catalogue import get_runtime

pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2",
                    reason="install with pip install --no-deps tensorflow-serving-api")

NAME = serving_models.KERAS_NAME
SERVED = max(serving_models.KERAS_VERSIONS)  # the version a request without one reaches
ROWS = 5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``(parent, {version: keras model})``: the classifier's versions 1 and 2."""
    parent = tmp_path_factory.mktemp("deploy tfserving") / NAME  # a space in the path
    return parent, serving_models.write_keras_classifier(str(parent))


@pytest.fixture(scope="module")
def warmed(exported):
    """Version 2 with a warm-up file: three requests of the rows, one with an output filter."""
    parent, _ = exported
    export = parent / str(SERVED)
    info = smw.read_saved_model(export)
    images = serving_models.sample_images(ROWS, seed=3)
    requests = warmup_requests(info, {"image": images}, rows_per_request=2)
    requests.append(WarmupRequest("serving_default", {"image": images[:1]}, ("scores",)))
    path = write_tfserving_warmup(export, requests, model_name=NAME)
    return export, requests, path


@pytest.fixture(scope="module")
def server(exported, warmed):
    with smw.serve(exported[0], grpc_port=0) as handle:
        yield handle


@pytest.fixture
def spare_export(exported, tmp_path):
    """A copy of version 1 in ``tmp/classifier/1``, for tests that write into it."""
    target = tmp_path / NAME / "1"
    shutil.copytree(exported[0] / "1", target)
    return target


# --- the warm-up file, read by TensorFlow -----------------------------------------------


def test_tensorflow_reads_every_record_as_a_prediction_log(tf, warmed):
    from tensorflow_serving.apis import prediction_log_pb2

    export, requests, path = warmed
    assert path == export / WARMUP_PATH
    records = [record.numpy() for record in tf.data.TFRecordDataset(str(path))]
    assert len(records) == len(requests) == 4
    for record, request in zip(records, requests, strict=True):
        log = prediction_log_pb2.PredictionLog.FromString(record)
        assert log.WhichOneof("log_type") == "predict_log"
        sent = log.predict_log.request
        assert sent.model_spec.name == NAME
        assert sent.model_spec.signature_name == request.signature_name == "serving_default"
        assert tuple(sent.output_filter) == request.output_filter
        assert list(sent.inputs) == ["image"]
        np.testing.assert_array_equal(tf.make_ndarray(sent.inputs["image"]),
                                      request.inputs["image"])
    assert [len(r.inputs["image"]) for r in requests] == [2, 2, 1, 1]


def test_the_file_is_byte_for_byte_what_tensorflows_writer_makes(tf, warmed, tmp_path):
    _, _, path = warmed
    theirs = tmp_path / "theirs"
    with tf.io.TFRecordWriter(str(theirs)) as writer:
        for record in read_records(path):
            writer.write(record)
    assert theirs.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("lengths", [
    [0, 1, 7, 8, 9, 255, 256, 257],
    [LANES_FROM - 1, LANES_FROM, LANES_FROM + 255, 3 * LANES_FROM + 17],  # numpy lanes
])
def test_records_of_any_length_are_framed_as_tensorflow_frames_them(tf, tmp_path, lengths):
    rng = np.random.default_rng(sum(lengths))
    records = [rng.integers(0, 256, length, dtype=np.uint8).tobytes() for length in lengths]
    ours = write_records(tmp_path / "ours", records)
    theirs = tmp_path / "theirs"
    with tf.io.TFRecordWriter(str(theirs)) as writer:
        for record in records:
            writer.write(record)
    assert ours.read_bytes() == theirs.read_bytes()
    assert read_records(theirs) == records


def test_crc32c_gives_the_published_check_values():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC catalogue's check value
    # RFC 3720 (iSCSI), B.4 "CRC Examples"
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C


def test_our_reader_gives_back_the_requests_written(warmed):
    export, requests, path = warmed
    for read in (read_tfserving_warmup(export), read_tfserving_warmup(path)):
        assert [r.signature_name for r in read] == [r.signature_name for r in requests]
        assert [r.output_filter for r in read] == [r.output_filter for r in requests]
        for got, sent in zip(read, requests, strict=True):
            np.testing.assert_array_equal(got.inputs["image"], sent.inputs["image"])
            assert got.inputs["image"].dtype == np.float32


def test_the_check_passes_a_file_written_here(warmed):
    assert check_tfserving_warmup(smw.read_saved_model(warmed[0])) == []


# --- replayed against the preview server -------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_every_replayed_request_answers_as_the_keras_model(exported, warmed, server, protocol):
    export, _, _ = warmed
    info = smw.read_saved_model(export)
    requests = read_tfserving_warmup(export)
    answers = replay_warmup(info, requests, server, protocol=protocol)
    model = exported[1][SERVED]
    assert len(answers) == len(requests)
    for answer, request in zip(answers, requests, strict=True):
        assert answer.ok, answer.error
        assert sorted(answer.outputs) == ["scores"]
        expected = model.predict(request.inputs["image"], verbose=0)
        np.testing.assert_allclose(answer.outputs["scores"], expected, rtol=1e-5, atol=1e-6)


def test_the_serve_loader_still_loads_the_export_and_answers_as_keras(tf, exported, warmed):
    from savedmodel_widgets._serve_loader import load_for_serving, run_signature

    export, requests, _ = warmed
    assert (export / "assets.extra").is_dir()
    session, meta_graph_def = load_for_serving(str(export))
    try:
        for request in requests:
            outputs = run_signature(session, meta_graph_def, request.signature_name,
                                    dict(request.inputs))
            np.testing.assert_allclose(
                outputs["scores"], exported[1][SERVED].predict(request.inputs["image"], verbose=0),
                rtol=1e-5, atol=1e-6)
    finally:
        session.close()


# --- our reader on TensorFlow's files, every dtype both ways -----------------------------


def sample_array(name, shape, rng):
    if name == "string":
        count = int(np.prod(shape))
        return np.array([b"w%d\0" % i for i in range(count)], dtype=object).reshape(shape)
    if name == "bool":
        return rng.random(shape) > 0.5
    if name.startswith("complex"):
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(name)
    if name.startswith("float"):
        return rng.normal(size=shape).astype(name)
    info = np.iinfo(name)
    return rng.integers(info.min, info.max, size=shape, dtype=name, endpoint=True)


SHAPES = [(), (1,), (2, 3), (0, 4)]


@pytest.mark.parametrize("dtype", sorted(TENSOR_DTYPES))
def test_every_dtype_is_the_tensor_proto_tensorflow_makes(tf, dtype):
    from tensorflow.core.framework import tensor_pb2

    rng = np.random.default_rng(len(dtype))
    for shape in SHAPES:
        array = sample_array(dtype, shape, rng)
        ours = message_class("TensorProto")()
        fill_tensor_proto(ours, "x", array)
        parsed = tensor_pb2.TensorProto.FromString(ours.SerializeToString())
        assert parsed == tf.make_tensor_proto(array), (dtype, shape)
        np.testing.assert_array_equal(tf.make_ndarray(parsed), array)


@pytest.mark.parametrize("dtype", sorted(TENSOR_DTYPES))
def test_every_dtype_tensorflow_writes_is_read_back(tf, dtype):
    rng = np.random.default_rng(len(dtype) + 1)
    for shape in SHAPES:
        array = sample_array(dtype, shape, rng)
        proto = message_class("TensorProto").FromString(
            tf.make_tensor_proto(array).SerializeToString())
        back = array_from_tensor_proto(proto, "x")
        assert back.dtype == (object if dtype == "string" else np.dtype(dtype))
        assert back.shape == array.shape
        np.testing.assert_array_equal(back, array)


def test_typed_fields_shorter_than_the_shape_repeat_the_last_value_as_tensorflow(tf):
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    shape = tensor_shape_pb2.TensorShapeProto(dim=[{"size": 2}, {"size": 3}])
    short = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, tensor_shape=shape,
                                   int_val=[7, 8])
    ours = array_from_tensor_proto(message_class("TensorProto").FromString(
        short.SerializeToString()), "x")
    np.testing.assert_array_equal(ours, tf.make_ndarray(short))
    np.testing.assert_array_equal(ours, [[7, 8, 8], [8, 8, 8]])


def test_our_reader_reads_a_file_written_by_tensorflow(tf, tmp_path):
    from tensorflow_serving.apis import prediction_log_pb2

    rng = np.random.default_rng(5)
    inputs = {f"in_{name}": sample_array(name, (2, 3), rng) for name in TENSOR_DTYPES}
    path = tmp_path / "tf_serving_warmup_requests"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature in ("serving_default", "predict_other"):
            log = prediction_log_pb2.PredictionLog()
            request = log.predict_log.request
            request.model_spec.name = "m"
            request.model_spec.signature_name = signature
            request.output_filter.append("out")
            for alias, array in inputs.items():
                request.inputs[alias].CopyFrom(tf.make_tensor_proto(array))
            writer.write(log.SerializeToString())
    read = read_tfserving_warmup(path)
    assert [r.signature_name for r in read] == ["serving_default", "predict_other"]
    for request in read:
        assert request.output_filter == ("out",)
        assert sorted(request.inputs) == sorted(inputs)
        for alias, array in inputs.items():
            np.testing.assert_array_equal(request.inputs[alias], array)


def test_a_prediction_log_of_another_kind_is_refused_by_name(tf):
    from tensorflow_serving.apis import prediction_log_pb2

    log = prediction_log_pb2.PredictionLog()
    log.classify_log.request.model_spec.name = "m"
    with pytest.raises(DeployError, match="classify_log"):
        decode_prediction_log(log.SerializeToString())


@pytest.mark.parametrize("array, words", [
    (np.array([1, b"x"], dtype=object), "not all strings"),
    (np.zeros(2, dtype="datetime64[s]"), "datetime64.*a warm-up request carries float16"),
])
def test_an_array_a_tensor_proto_cannot_carry_is_refused(array, words):
    with pytest.raises(DeployError, match=words):
        encode_prediction_log(WarmupRequest("s", {"a": array}))


def test_encoded_logs_parse_as_tf_servings_message(tf):
    from tensorflow_serving.apis import prediction_log_pb2

    request = WarmupRequest("s", {"a": np.arange(6, dtype=np.int64).reshape(2, 3)}, ("o",))
    log = prediction_log_pb2.PredictionLog.FromString(encode_prediction_log(request, "m"))
    assert log.predict_log.request.model_spec.name == "m"
    assert not log.predict_log.request.model_spec.HasField("version")
    np.testing.assert_array_equal(tf.make_ndarray(log.predict_log.request.inputs["a"]),
                                  request.inputs["a"])


# --- damaged files: our reader and TensorFlow's agree ----------------------------------


def test_a_damaged_record_is_named_by_both_readers(tf, warmed, tmp_path):
    _, _, path = warmed
    data = bytearray(path.read_bytes())
    first = 12 + len(read_records(path)[0]) + 4  # where record 2 starts
    data[first + 20] ^= 0xFF  # inside record 2's data
    damaged = tmp_path / "damaged"
    damaged.write_bytes(bytes(data))
    with pytest.raises(DeployError, match=f"record 2 at byte {first} has data whose checksum"):
        read_records(damaged)
    with pytest.raises(tf.errors.DataLossError):
        list(tf.data.TFRecordDataset(str(damaged)))


def test_the_first_damage_in_the_file_is_named_in_a_long_file(tf, tmp_path):
    records = [bytes([number]) * 5000 for number in range(6)]  # checked in numpy's lanes
    path = write_records(tmp_path / "long", records)
    data = bytearray(path.read_bytes())
    starts = [number * (5000 + 16) for number in range(6)]
    data[starts[5] + 9] ^= 0x01  # record 6's length checksum
    data[starts[3] + 16 + 4999] ^= 0x80  # the last byte of record 4
    path.write_bytes(bytes(data))
    with pytest.raises(DeployError, match=f"record 4 at byte {starts[3]} has data whose"):
        read_records(path)
    with pytest.raises(tf.errors.DataLossError):
        list(tf.data.TFRecordDataset(str(path)))
    data[starts[3] + 16 + 4999] ^= 0x80
    path.write_bytes(bytes(data))
    with pytest.raises(DeployError, match=f"record 6 at byte {starts[5]} has a length whose"):
        read_records(path)


def test_a_truncated_file_is_named_by_both_readers(tf, warmed, tmp_path):
    _, _, path = warmed
    cut = tmp_path / "cut"
    cut.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DeployError, match="record 4 at byte .* is cut short"):
        read_records(cut)
    with pytest.raises(tf.errors.DataLossError):
        list(tf.data.TFRecordDataset(str(cut)))


# --- refusals and checks -------------------------------------------------------------------


def test_an_existing_file_is_kept_byte_identical_unless_overwrite(spare_export):
    info = smw.read_saved_model(spare_export)
    first = write_tfserving_warmup(spare_export, warmup_requests(info))
    before = first.read_bytes()
    other = warmup_requests(info, {"image": serving_models.sample_images(3, seed=8)})
    with pytest.raises(DeployTargetExistsError, match="overwrite=True") as refused:
        write_tfserving_warmup(spare_export, other)
    assert list(refused.value.paths) == [str(first)]
    assert first.read_bytes() == before
    write_tfserving_warmup(spare_export, other, overwrite=True)
    np.testing.assert_array_equal(read_tfserving_warmup(spare_export)[0].inputs["image"],
                                  other[0].inputs["image"])
    assert sorted(p.name for p in first.parent.iterdir()) == ["tf_serving_warmup_requests"]


def test_more_than_1000_requests_are_refused_and_nothing_written(spare_export):
    one = warmup_requests(smw.read_saved_model(spare_export))[0]
    with pytest.raises(DeployError, match="1001 warm-up requests.*at most"):
        write_tfserving_warmup(spare_export, [one] * (MAX_WARMUP_REQUESTS + 1))
    assert not (spare_export / "assets.extra").exists()


@pytest.mark.parametrize("request_, words", [
    (WarmupRequest("serving_default", {"image": np.zeros((2, 7), np.float32)}),
     r"request 2 would be refused: signature 'serving_default': input 'image' has shape "
     r"\(2, 7\), where the signature takes \(-1, 8\)"),
    (WarmupRequest("serving_default", {"pixels": np.zeros((2, 8), np.float32)}),
     "request 2 would be refused: signature 'serving_default': input 'image' is missing"),
    (WarmupRequest("predict_other", {"image": np.zeros((2, 8), np.float32)}),
     "names the signature 'predict_other'.*those it has are 'serving_default'"),
    (WarmupRequest("serving_default", {"image": np.zeros((2, 8), np.float32)}, ("probs",)),
     "'probs' is no output"),
])
def test_a_request_the_signature_refuses_stops_the_write_before_anything(
        spare_export, request_, words):
    good = warmup_requests(smw.read_saved_model(spare_export))[0]
    with pytest.raises(DeployError, match=words):
        write_tfserving_warmup(spare_export, [good, request_])
    assert not (spare_export / "assets.extra").exists()


def test_a_crash_while_writing_leaves_no_file_and_no_staging_file(tmp_path):
    def records():
        yield b"first"
        yield b"second"
        raise RuntimeError("the notebook's generator failed")

    target = tmp_path / "assets.extra" / "tf_serving_warmup_requests"
    with pytest.raises(RuntimeError, match="generator failed"):
        write_records(target, records())
    assert list(target.parent.iterdir()) == []


def test_the_check_names_each_problem_with_its_code(spare_export):
    info = smw.read_saved_model(spare_export)
    [missing] = check_tfserving_warmup(info)
    assert (missing.level, missing.code) == ("info", "warmup-missing")
    assert "write_tfserving_warmup" in missing.fix

    target = spare_export / WARMUP_PATH
    good = warmup_requests(info)[0]
    bad = WarmupRequest("serving_default", {"image": np.zeros((1, 3), np.float32)})
    write_records(target, [encode_prediction_log(r) for r in [good, bad, bad]])
    [refused] = check_tfserving_warmup(info)
    assert (refused.level, refused.code, refused.signature) == (
        "error", "warmup-request-refused", "serving_default")
    assert "request 2 (and 1 more)" in refused.message and "(1, 3)" in refused.message

    write_records(target, [encode_prediction_log(good)] * (MAX_WARMUP_REQUESTS + 1))
    assert [f.code for f in check_tfserving_warmup(info)] == ["warmup-too-many"]

    target.write_bytes(target.read_bytes()[:100])
    [unreadable] = check_tfserving_warmup(info)
    assert (unreadable.level, unreadable.code) == ("error", "warmup-unreadable")
    assert re.search(r"record \d+ at byte \d+ is cut short", unreadable.message)
    assert "overwrite=True" in unreadable.fix

    write_records(target, [b"not a prediction log"])
    [unparsable] = check_tfserving_warmup(info)
    assert unparsable.code == "warmup-unreadable" and "record 1" in unparsable.message


# --- models.config and docker run ---------------------------------------------------------


def parse_config(text):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_one_model_config_parses_as_model_server_config(exported, tmp_path):
    base, name, version = versioned_layout(exported[0] / "2")
    assert (base, name, version) == (exported[0], NAME, 2)
    path = write_model_server_config(tmp_path / "models.config",
                                     [ModelConfig(name, str(base))])
    [config] = parse_config(path.read_text()).model_config_list.config
    assert (config.name, config.base_path, config.model_platform) == (
        NAME, str(exported[0]), "tensorflow")
    assert config.model_version_policy.WhichOneof("policy_choice") == "latest"
    assert config.model_version_policy.latest.num_versions == 1


def test_several_models_keep_their_names_paths_and_policies():
    models = [ModelConfig("classifier", "/models/classifier"),
              ModelConfig("ranker", '/models/ranker "v2"', "all"),
              ModelConfig("tagger", "/models/tagger", (1, 3))]
    configs = parse_config(model_server_config_text(models)).model_config_list.config
    assert [(c.name, c.base_path) for c in configs] == [(m.name, m.base_path) for m in models]
    policies = [c.model_version_policy for c in configs]
    assert [p.WhichOneof("policy_choice") for p in policies] == ["latest", "all", "specific"]
    assert list(policies[2].specific.versions) == [1, 3]


def test_config_refusals():
    with pytest.raises(DeployError, match="listed more than once"):
        model_server_config_text([ModelConfig("a", "/m/a"), ModelConfig("a", "/m/b")])
    with pytest.raises(DeployError, match="'newest' is unknown; use 'latest', 'all'"):
        ModelConfig("a", "/m/a", "newest")  # type: ignore[arg-type]
    with pytest.raises(DeployError, match="non-empty tuple of version numbers"):
        ModelConfig("a", "/m/a", ())


def test_an_existing_config_is_kept_unless_overwrite(tmp_path):
    path = write_model_server_config(tmp_path / "models.config", [ModelConfig("a", "/m/a")])
    before = path.read_bytes()
    with pytest.raises(DeployTargetExistsError):
        write_model_server_config(path, [ModelConfig("b", "/m/b")])
    assert path.read_bytes() == before
    write_model_server_config(path, [ModelConfig("b", "/m/b")], overwrite=True)
    assert parse_config(path.read_text()).model_config_list.config[0].name == "b"


def test_an_export_outside_a_version_folder_is_refused_with_the_fix(exported, tmp_path):
    loose = tmp_path / "classifier_export"
    shutil.copytree(exported[0] / "1", loose)
    with pytest.raises(DeployError, match="not in a numeric version folder.*mkdir -p .* && mv"):
        versioned_layout(loose)
    with pytest.raises(DeployError, match="holds no saved_model.pb"):
        versioned_layout(exported[0])


@pytest.mark.parametrize("release, tag", [("2.7", "2.7.0"), ("1.15", "1.15.0"),
                                          ("2.15", "2.15.1"), ("2.16.1", "2.16.1")])
def test_the_image_is_the_release_of_the_runtime(release, tag):
    assert serving_image(release) == f"tensorflow/serving:{tag}"


def test_an_unknown_release_is_refused_with_the_known_ones():
    with pytest.raises(DeployError, match="no release 3.0.*2.7"):
        serving_image("3.0")


def test_docker_run_for_one_model_is_valid_shell(exported):
    root = exported[0].parent  # its path holds a space
    assert " " in str(root)
    runtime = get_runtime("tfserving:2.7")
    command = docker_run_command(root, NAME, runtime.release, rest_port=9501)
    words = shlex.split(command)
    assert shlex.join(words) == command
    assert words[:3] == ["docker", "run", "--rm"]
    assert words[words.index("--mount") + 1] == (
        f"type=bind,source={root},target=/models,readonly")
    assert "9501:8501" in words and "8500:8500" in words
    assert words[-3:] == ["-e", f"MODEL_NAME={NAME}", "tensorflow/serving:2.7.0"]
    assert (root / NAME / "2" / "saved_model.pb").is_file()  # what the image serves


def test_docker_run_for_several_models_reads_the_config_in_the_mount(tmp_path):
    root = tmp_path / "models, team a"
    models = [ModelConfig("a", "/models/a"), ModelConfig("b", "/models/b", "all")]
    words = shlex.split(docker_run_command(root, models, "2.16"))
    mount = words[words.index("--mount") + 1]
    assert mount == f'type=bind,"source={root}",target=/models,readonly'
    assert words[-2:] == ["tensorflow/serving:2.16.1", "--model_config_file=/models/models.config"]
    with pytest.raises(DeployError, match="cannot see.*ModelConfig\\('a', '/models/a'\\)"):
        docker_run_command(root, [ModelConfig("a", str(tmp_path / "a"))], "2.7")
    with pytest.raises(DeployError, match="inside the models root"):
        docker_run_command(root, models, "2.7", config_file="../models.config")
