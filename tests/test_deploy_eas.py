"""The EAS deployment files, each read back by the real part that uses it.

- The model archive: read with ``tarfile``/``zipfile`` (every file of the export, same
  bytes, at the root), extracted and loaded with TensorFlow's serve loader, and for an
  export made for ``eas:tensorflow_cpu_1.15`` run in the real TensorFlow 1.15.
- The warm-up file: byte for byte what the real ``eas-prediction`` SDK writes (run in its
  own virtual environment, see ``eas_client.py``), replayed against the preview's EAS
  endpoint, and sent by the SDK's ``PredictClient`` as it is.
- The service JSON: read back with ``json``; its checks, the processor's one backed by
  loading the export in the processor's own TensorFlow.
"""

from __future__ import annotations

import base64
import io
import json
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import eas_client
import numpy as np
import pytest
from conftest import tf1_build
from numpy.testing import assert_allclose
from serving_models import build_keras_classifier, sample_images
from test_import import LOADED_HEAVY, run_python
from test_serve_eas import endpoint, feed

import savedmodel_widgets as smw
from savedmodel_widgets._serve_loader import load_for_serving, run_signature
from savedmodel_widgets.deploy.archive import (
    archive_members,
    check_model_archive,
    extract_model_archive,
    write_model_archive,
)
from savedmodel_widgets.deploy.eas_service import (
    EAS_PROCESSORS,
    MODEL_PATH_PLACEHOLDER,
    WARM_UP_PATH_PLACEHOLDER,
    EasService,
    check_service,
    processor_for,
    read_service_json,
    write_service_json,
)
from savedmodel_widgets.deploy.eas_warmup import (
    check_eas_warmup,
    read_eas_warmup,
    write_eas_warmup,
)
from savedmodel_widgets.deploy.replay import replay_warmup
from savedmodel_widgets.deploy.requests import WarmupRequest, warmup_requests
from savedmodel_widgets.errors import DeployError, DeployTargetExistsError
from savedmodel_widgets.runtimes.loader import load_in_runtime, run_in_runtime
from savedmodel_widgets.savedmodel.reader import read_saved_model

eas_python = eas_client.eas_python

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
TOKEN = "warm-up-token"
SERVICE = "mixed_inputs"
FORMATS = ("model.tar.gz", "model.zip")
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -3.0]], dtype=np.float32)
IDS = np.array([7, 2**40], dtype=np.int64)
WORDS = np.array(["warm", "Up"])
FETCHES = ("total", "upper")
SDK_WRITES_WARM_UP = (
    "import json, sys\n"
    f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
    "from eas_client_job import build_request\n"
    "job = json.load(sys.stdin)\n"
    "open(job['path'], 'wb').write(build_request(job).to_string())\n"
)
"""What EAS's page "Warm up model services" does: ``TFRequest``, ``add_feed`` per input,
``add_fetch`` per output, ``to_string()`` written to the file."""


def mixed_graph(tf):
    """float32 ``x``, int64 ``ids`` and string ``words`` -> ``total``, ``length``, ``upper``."""
    tf1 = tf.compat.v1
    x = tf1.placeholder(tf.float32, [None, 3], name="x")
    ids = tf1.placeholder(tf.int64, [None], name="ids")
    words = tf1.placeholder(tf.string, [None], name="words")
    weights = tf.Variable(np.random.default_rng(2).normal(size=3).astype(np.float32), name="w")
    total = tf.add(tf.reduce_sum(x * weights, axis=1), tf.cast(ids, tf.float32), name="total")
    outputs = {"total": total, "length": tf.strings.length(words, name="length"),
               "upper": tf.strings.upper(words, name="upper")}
    return {"x": x, "ids": ids, "words": words}, outputs, "mixed"


def build_erfinv_model():
    """Keras 3: ``image`` (8) -> Dense(3, tanh) -> ``probit`` = erfinv(0.9 y). ``Erfinv`` is
    registered from TensorFlow 2.x on, not in 1.15."""
    import keras
    import tensorflow as tf

    class Erfinv(keras.layers.Layer):
        def call(self, inputs):
            return tf.math.erfinv(inputs)

        def compute_output_shape(self, input_shape):
            return input_shape

    keras.utils.set_random_seed(3)
    image = keras.Input((8,), name="image")
    squashed = keras.layers.Dense(3, activation="tanh", name="squash")(image)
    return keras.Model(image, Erfinv(name="probit")(squashed * 0.9), name="probit_model")


@pytest.fixture(scope="module")
def keras_export(exported_models):
    """The session's Keras 3 export (``model.export``) and the live model."""
    return exported_models.paths["keras3"], exported_models.live["keras3"]


@pytest.fixture(scope="module")
def eas_exports(tf, tmp_path_factory):
    """``{name: (path, live model)}``: the classifier exported for 1.15 and 2.7, and the
    Erfinv model exported for 2.7."""
    root = tmp_path_factory.mktemp("eas_exports")
    classifier = build_keras_classifier(seed=4)
    erfinv = build_erfinv_model()
    exports = {}
    for name, model, runtime in (("classifier_1.15", classifier, "eas:tensorflow_cpu_1.15"),
                                 ("classifier_2.7", classifier, "eas:tensorflow_cpu_2.7"),
                                 ("erfinv_2.7", erfinv, "eas:tensorflow_cpu_2.7")):
        result = smw.export(smw.suggest_spec(model, root / name / "1", runtime=runtime))
        exports[name] = (str(result.path), model)
    return exports


@pytest.fixture(scope="module")
def mixed_model(tf, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("mixed") / SERVICE / "1")
    tf1_build(tf, path, mixed_graph)
    return path


@pytest.fixture(scope="module")
def server(mixed_model):
    with smw.serve(mixed_model, model_name=SERVICE, eas_token=TOKEN) as handle:
        yield handle


def export_files(path) -> dict[str, bytes]:
    """``{relative name: bytes}`` of every file under ``path``."""
    root = Path(path)
    return {item.relative_to(root).as_posix(): item.read_bytes()
            for item in sorted(root.rglob("*")) if item.is_file()}


def archived_files(archive: Path) -> dict[str, bytes]:
    """``{name: bytes}`` of every file in the archive, read with the standard library."""
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as opened:
            return {info.filename: opened.read(info) for info in opened.infolist()
                    if not info.is_dir()}
    with tarfile.open(archive) as tar:
        return {info.name: tar.extractfile(info).read() for info in tar.getmembers()
                if info.isfile()}


def served_outputs(path, signature, inputs) -> dict[str, np.ndarray]:
    session, meta_graph = load_for_serving(str(path))
    try:
        return run_signature(session, meta_graph, signature, inputs)
    finally:
        session.close()


# The model archive ---------------------------------------------------------------------


@pytest.mark.parametrize("file_name", FORMATS)
def test_the_archive_holds_the_export_at_its_root_and_serves_like_the_model(
        keras_export, tmp_path, file_name):
    path, model = keras_export
    archive = write_model_archive(path, tmp_path / file_name)
    files = archived_files(archive)
    assert "saved_model.pb" in files
    assert files == export_files(path)
    assert check_model_archive(archive, read_saved_model(path)) == []
    assert {name for name in archive_members(archive) if not name.endswith("/")} == set(files)

    extracted = extract_model_archive(archive, tmp_path / "extracted")
    assert export_files(extracted) == export_files(path)
    with pytest.raises(DeployTargetExistsError):
        extract_model_archive(archive, extracted)
    signature = read_saved_model(extracted).signature("serving_default")
    images = sample_images(5, seed=1)
    got = served_outputs(extracted, "serving_default", {signature.input_aliases[0]: images})
    (scores,) = got.values()
    assert_allclose(scores, model.predict(images, verbose=0), **TOLERANCE)


def test_a_wrong_suffix_source_or_target_is_refused_and_nothing_written(keras_export,
                                                                       saved_models, tmp_path):
    with pytest.raises(DeployError, match=r"model\.tar\.gz or model\.zip"):
        write_model_archive(keras_export[0], tmp_path / "model.tar")
    with pytest.raises(DeployError, match="version folder"):
        write_model_archive(saved_models["versioned"], tmp_path / "model.zip")
    with pytest.raises(DeployError, match="contain itself"):
        write_model_archive(keras_export[0], Path(keras_export[0]) / "model.zip")
    assert list(tmp_path.iterdir()) == []
    assert not (Path(keras_export[0]) / "model.zip").exists()


def test_an_existing_archive_is_kept_unless_overwrite(keras_export, tmp_path):
    archive = write_model_archive(keras_export[0], tmp_path / "model.tar.gz")
    before = archive.read_bytes()
    archive.write_bytes(before[:100])
    with pytest.raises(DeployTargetExistsError) as refused:
        write_model_archive(keras_export[0], archive)
    assert list(refused.value.paths) == [str(archive)]
    assert archive.read_bytes() == before[:100]
    write_model_archive(keras_export[0], archive, overwrite=True)
    assert archive.read_bytes() == before  # the same export packs to the same bytes
    assert [p.name for p in tmp_path.iterdir()] == ["model.tar.gz"]


def hostile_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        body = b"not a model"
        info = tarfile.TarInfo("saved_model.pb")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        bad = tarfile.TarInfo({"dotdot": "../x", "absolute": "/tmp/x", "symlink": "link"}[kind])
        if kind == "symlink":
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(bad)
        else:
            bad.size = len(body)
            tar.addfile(bad, io.BytesIO(body))
    return path


def hostile_zip(path: Path, kind: str) -> Path:
    with zipfile.ZipFile(path, "w") as opened:
        opened.writestr("saved_model.pb", b"not a model")
        bad = zipfile.ZipInfo({"dotdot": "../x", "absolute": "/tmp/x", "symlink": "link"}[kind])
        if kind == "symlink":  # as Info-ZIP's ``zip --symlinks`` stores one
            bad.external_attr = (stat.S_IFLNK | 0o777) << 16
        opened.writestr(bad, b"/etc/passwd" if kind == "symlink" else b"escape")
    return path


@pytest.mark.parametrize(("maker", "kind"), [
    (hostile_tar, "dotdot"), (hostile_tar, "absolute"), (hostile_tar, "symlink"),
    (hostile_zip, "dotdot"), (hostile_zip, "absolute"), (hostile_zip, "symlink"),
])
def test_a_hostile_archive_is_refused(keras_export, tmp_path, maker, kind):
    suffix = ".zip" if maker is hostile_zip else ".tar.gz"
    archive = maker(tmp_path / f"hostile{suffix}", kind)
    with pytest.raises(DeployError, match="was not extracted"):
        extract_model_archive(archive, tmp_path / "out" / "model")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "x").exists()
    findings = check_model_archive(archive, read_saved_model(keras_export[0]))
    assert [f.code for f in findings] == ["archive-unsafe-member"]
    assert findings[0].level == "error"


def test_a_nested_or_incomplete_archive_is_reported(keras_export, tmp_path):
    path = keras_export[0]
    info = read_saved_model(path)
    nested = tmp_path / "nested.tar.gz"
    with tarfile.open(nested, "w:gz") as tar:
        tar.add(path, arcname="model")
    assert [(f.level, f.code) for f in check_model_archive(nested, info)] == [
        ("warning", "archive-nested")]

    incomplete = tmp_path / "incomplete.zip"
    with zipfile.ZipFile(incomplete, "w") as opened:
        for name, data in export_files(path).items():
            if not name.startswith("variables/variables.data"):
                opened.writestr(name, data)
        opened.writestr("notes.txt", b"left over")
    found = {f.code: f.level for f in check_model_archive(incomplete, info)}
    assert found == {"archive-missing-file": "error", "archive-extra-file": "warning"}

    not_a_model = tmp_path / "empty.zip"
    with zipfile.ZipFile(not_a_model, "w") as opened:
        opened.writestr("readme.txt", b"no model")
    assert [f.code for f in check_model_archive(not_a_model, info)] == ["archive-no-saved-model"]
    (tmp_path / "garbage.zip").write_bytes(b"PK but not really")
    assert [f.code for f in check_model_archive(tmp_path / "garbage.zip", info)] == [
        "archive-unreadable"]


# The real old runtime --------------------------------------------------------------------


def test_the_archive_of_a_1_15_export_runs_in_tensorflow_1_15(old_runtimes, eas_exports,
                                                                tmp_path):
    path, model = eas_exports["classifier_1.15"]
    archive = write_model_archive(path, tmp_path / "model.tar.gz")
    extracted = extract_model_archive(archive, tmp_path / "model")
    (request,) = warmup_requests(read_saved_model(extracted), {"image": sample_images(4)})
    warm_up = read_eas_warmup(write_eas_warmup(tmp_path / "warm_up.bin", request))
    outcome = run_in_runtime(extracted, "eas:tensorflow_cpu_1.15",
                             {warm_up.signature_name: warm_up.inputs})
    assert outcome.ok, outcome.summary()
    assert outcome.tensorflow_version.startswith("1.15")
    assert_allclose(outcome.outputs[request.signature_name]["scores"],
                    model.predict(warm_up.inputs["image"], verbose=0), **TOLERANCE)


# The warm-up file --------------------------------------------------------------------------


def mixed_request(fetches=FETCHES) -> WarmupRequest:
    return WarmupRequest("mixed", {"x": X, "ids": IDS, "words": WORDS}, tuple(fetches))


def sdk_warm_up(eas_python, path: Path, request: WarmupRequest) -> bytes:
    """The bytes the real SDK writes for ``request``, as EAS's page makes the file."""
    job = {"path": str(path), "signature": request.signature_name,
           "feeds": [feed(alias, value) for alias, value in request.inputs.items()],
           "fetches": list(request.output_filter)}
    subprocess.run([eas_python, "-c", SDK_WRITES_WARM_UP], input=json.dumps(job), text=True,
                   check=True, capture_output=True, timeout=120)
    return path.read_bytes()


@pytest.mark.parametrize("request_of", [
    mixed_request,
    lambda: mixed_request(fetches=()),
    lambda: WarmupRequest("serving_default", {"image": sample_images(3)}),
], ids=["float-int64-string-with-fetches", "no-fetch", "float-only"])
def test_the_warm_up_file_is_the_sdks_bytes(eas_python, tmp_path, request_of):
    request = request_of()
    written = write_eas_warmup(tmp_path / "warm_up.bin", request).read_bytes()
    assert written == sdk_warm_up(eas_python, tmp_path / "sdk.bin", request)
    back = read_eas_warmup(tmp_path / "warm_up.bin")
    assert (back.signature_name, back.output_filter) == (request.signature_name,
                                                         request.output_filter)
    for alias, value in request.inputs.items():
        expected = value.astype(bytes) if value.dtype.kind == "U" else value
        np.testing.assert_array_equal(back.inputs[alias].astype(expected.dtype), expected)


def test_the_warm_up_file_replays_against_the_preview(eas_python, server, mixed_model,
                                                      tmp_path):
    path = write_eas_warmup(tmp_path / "warm_up.bin", mixed_request())
    info = read_saved_model(mixed_model)
    assert check_eas_warmup(path, info) == []
    expected = served_outputs(mixed_model, "mixed", {"x": X, "ids": IDS, "words": WORDS})

    (answer,) = replay_warmup(info, [read_eas_warmup(path)], server, protocol="eas",
                              token=TOKEN)
    assert answer.ok, answer.error
    assert set(answer.outputs) == set(FETCHES)
    assert_allclose(answer.outputs["total"], expected["total"], **TOLERANCE)
    assert [bytes(v) for v in answer.outputs["upper"]] == list(expected["upper"])

    # The SDK's PredictClient sends the file's bytes as they are (a TFRequest whose
    # to_string() is the file) and gets the same answer.
    sent = eas_client.run_eas_job(eas_python, {
        "endpoint": endpoint(server), "service": SERVICE, "token": TOKEN,
        "raw_body": base64.b64encode(path.read_bytes()).decode("ascii")})
    assert set(sent["outputs"]) == set(FETCHES), sent
    assert_allclose(np.reshape(sent["outputs"]["total"]["values"],
                               sent["outputs"]["total"]["shape"]), expected["total"], **TOLERANCE)
    assert sent["outputs"]["upper"]["values"] == [v.decode() for v in expected["upper"]]


def test_warm_up_checks(mixed_model, tmp_path):
    info = read_saved_model(mixed_model)
    all_outputs = write_eas_warmup(tmp_path / "all.bin", mixed_request(fetches=()))
    assert [(f.level, f.code) for f in check_eas_warmup(all_outputs, info)] == [
        ("info", "warmup-fetches-all")]
    wrong = write_eas_warmup(tmp_path / "wrong.bin",
                             WarmupRequest("mixed", {"x": X, "ids": IDS}, FETCHES))
    (refused,) = check_eas_warmup(wrong, info)
    assert (refused.level, refused.code) == ("error", "warmup-request-refused")
    assert "'words' is missing" in refused.message
    unknown = write_eas_warmup(tmp_path / "unknown.bin",
                               WarmupRequest("nope", {"x": X}, ()))
    assert "'nope'" in check_eas_warmup(unknown, info)[0].message
    (tmp_path / "junk.bin").write_bytes(b"\xff\xff\xff")
    assert [f.code for f in check_eas_warmup(tmp_path / "junk.bin", info)] == [
        "warmup-unreadable"]
    assert [f.code for f in check_eas_warmup(tmp_path / "absent.bin", info)] == [
        "warmup-missing"]
    before = all_outputs.read_bytes()
    with pytest.raises(DeployTargetExistsError):
        write_eas_warmup(all_outputs, mixed_request())
    assert all_outputs.read_bytes() == before


# The service JSON ---------------------------------------------------------------------------


def test_the_service_json_has_the_documented_fields(tmp_path):
    service = EasService("digits_classifier", processor_for("eas:tensorflow_cpu_1.15"),
                         "oss://bucket/models/model.tar.gz", instances=2, cpu=2, memory=8000,
                         warm_up_data_path="oss://bucket/models/warm_up.bin")
    path = write_service_json(tmp_path / "service.json", service)
    with open(path) as file:
        described = json.load(file)
    assert described == {
        "name": "digits_classifier", "model_path": "oss://bucket/models/model.tar.gz",
        "processor": "tensorflow_cpu_1.15", "warm_up_data_path": "oss://bucket/models/warm_up.bin",
        "metadata": {"instance": 2, "cpu": 2, "memory": 8000}}
    assert all(type(value) is int for value in described["metadata"].values())
    assert read_service_json(path) == service
    assert check_service(service) == []

    before = path.read_bytes()
    with pytest.raises(DeployTargetExistsError):
        write_service_json(path, EasService("other", "tensorflow_cpu_2.7"))
    assert path.read_bytes() == before

    gpu = EasService("digits_gpu", "tensorflow_gpu_2.7", "oss://b/m.tar.gz", gpu=1)
    assert gpu.to_dict()["metadata"] == {"instance": 1, "cpu": 1, "memory": 4000, "gpu": 1}
    (tmp_path / "extra.json").write_text(json.dumps({**described, "token": "x"}))
    with pytest.raises(DeployError, match="'token'"):
        read_service_json(tmp_path / "extra.json")


@pytest.mark.parametrize("numbers", [
    {"instances": 0}, {"cpu": 0}, {"memory": 0}, {"gpu": -1}, {"instances": 1.5},
    {"cpu": True}, {"memory": "4000"},
])
def test_numbers_out_of_range_are_refused(numbers):
    with pytest.raises(DeployError, match=next(iter(numbers))):
        EasService("digits", "tensorflow_cpu_1.15", **numbers)


@pytest.mark.parametrize(("name", "problem"), [
    ("Digits", "starts with 'D'"), ("1digits", "starts with '1'"), ("digits-v1", "holds '-'"),
    ("digits v1", "holds ' '"),
])
def test_a_name_breaking_the_console_rule_is_a_warning(name, problem):
    service = EasService(name, "tensorflow_cpu_1.15", "oss://b/m.tar.gz",
                         warm_up_data_path="oss://b/w.bin")
    (finding,) = check_service(service)
    assert (finding.level, finding.code) == ("warning", "service-name-rule")
    assert problem in finding.message


def test_paths_processor_and_gpu_findings():
    def codes(**changes):
        fields = {"name": "digits", "processor": "tensorflow_cpu_1.15",
                  "model_path": "oss://b/m.tar.gz", "warm_up_data_path": "oss://b/w.bin"}
        return {f.code: f.level for f in check_service(EasService(**{**fields, **changes}))}

    assert codes(model_path=MODEL_PATH_PLACEHOLDER) == {"model-path-placeholder": "warning"}
    assert codes(warm_up_data_path=None) == {"no-warm-up": "info"}
    assert codes(warm_up_data_path=WARM_UP_PATH_PLACEHOLDER) == {
        "warm-up-path-placeholder": "warning"}
    assert codes(warm_up_data_path="warm_up.bin") == {"warm-up-path-scheme": "warning"}
    assert codes(model_path="/home/me/model.tar.gz") == {"model-path-scheme": "warning"}
    assert codes(model_path="https://example.com/models/digits") == {
        "model-path-not-archive": "error"}
    assert codes(model_path="https://example.com/models/digits.zip") == {}
    assert codes(processor="tensorflow_cpu_2.21") == {"unknown-processor": "error"}
    assert codes(processor="tensorflow_gpu_1.15") == {"gpu-processor-without-gpu": "error"}
    assert codes(processor="tensorflow_gpu_1.15", gpu=1) == {}
    with pytest.raises(DeployError, match="tensorflow_cpu_1.15"):
        processor_for("tfserving:2.7")
    assert processor_for("eas:tensorflow_gpu_2.4") == "tensorflow_gpu_2.4"
    assert "tensorflow_cpu_1.12" in EAS_PROCESSORS


def test_a_processor_whose_tensorflow_refuses_the_export_is_an_error(old_runtimes, eas_exports):
    """The runtime check decides, and the processor's real TensorFlow agrees."""
    path, _ = eas_exports["erfinv_2.7"]
    info = read_saved_model(path)
    old = EasService("probit", "tensorflow_cpu_1.15", "oss://b/m.tar.gz",
                     warm_up_data_path="oss://b/w.bin")
    found = {f.code: f for f in check_service(old, info, runtime="eas:tensorflow_cpu_2.7")}
    assert set(found) == {"processor-refuses-model", "processor-differs-from-runtime"}
    assert found["processor-refuses-model"].level == "error"
    assert "Erfinv" in found["processor-refuses-model"].message
    assert found["processor-differs-from-runtime"].level == "warning"
    refused = load_in_runtime(path, "eas:tensorflow_cpu_1.15")
    assert not refused.loaded and "Erfinv" in refused.error

    matching = EasService("probit", "tensorflow_cpu_2.7", "oss://b/m.tar.gz",
                          warm_up_data_path="oss://b/w.bin")
    assert check_service(matching, info, runtime="eas:tensorflow_cpu_2.7") == []
    assert load_in_runtime(path, "eas:tensorflow_cpu_2.7").loaded


def test_an_older_processor_that_runs_the_export_is_only_a_warning(old_runtimes, eas_exports):
    path, _ = eas_exports["classifier_2.7"]
    service = EasService("digits", "tensorflow_cpu_1.15", "oss://b/m.tar.gz",
                         warm_up_data_path="oss://b/w.bin")
    found = check_service(service, read_saved_model(path), runtime="eas:tensorflow_cpu_2.7")
    assert [(f.level, f.code) for f in found] == [("warning", "processor-differs-from-runtime")]
    outcome = load_in_runtime(path, "eas:tensorflow_cpu_1.15")
    assert outcome.loaded, outcome.summary()


MAKE_EVERY_FILE = f"""{LOADED_HEAVY}
import json, sys
import numpy as np
from pathlib import Path
from savedmodel_widgets.deploy.archive import check_model_archive, write_model_archive
from savedmodel_widgets.deploy.eas_service import EasService, check_service, write_service_json
from savedmodel_widgets.deploy.eas_warmup import check_eas_warmup, write_eas_warmup
from savedmodel_widgets.deploy.requests import warmup_requests
from savedmodel_widgets.savedmodel.reader import read_saved_model

export, out = sys.argv[1], Path(sys.argv[2])
info = read_saved_model(export)
(request,) = warmup_requests(info)
findings = check_model_archive(write_model_archive(export, out / "model.tar.gz"), info)
findings += check_eas_warmup(write_eas_warmup(out / "warm_up.bin", request), info)
service = EasService("digits", "tensorflow_cpu_1.15")
write_service_json(out / "service.json", service)
findings += check_service(service, info, runtime="eas:tensorflow_cpu_1.15")
print(json.dumps(loaded_heavy()))
"""


def test_every_file_is_made_and_checked_without_tensorflow(eas_exports, tmp_path):
    result = run_python(MAKE_EVERY_FILE, eas_exports["classifier_1.15"][0], str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.tar.gz", "service.json", "warm_up.bin"]
