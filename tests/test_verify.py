"""verify(): real exports reloaded in a fresh process, run, and compared with the live source.

Each worker process imports TensorFlow (3-4 s), so the file launches few:
the Keras export (one module-scoped report shared by several tests), the TF1
session, the tf_keras mismatch, the broken export and the light-process check;
the timeout test stops its worker at once. Everything else (skips, argument
errors, comparisons, rendering) needs no worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from widget_helpers import table_rows

from savedmodel_widgets import ExportSpec, SignatureSpec, export, suggest_spec
from savedmodel_widgets._verify_inputs import signature_inputs
from savedmodel_widgets.errors import SavedModelWidgetsError, VerifyError
from savedmodel_widgets.savedmodel.info import Signature, TensorInfo
from savedmodel_widgets.verifier import (
    InputSummary,
    OutputComparison,
    SignatureVerification,
    VerifyReport,
    compare_output,
    verify,
)

REPO = Path(__file__).resolve().parent.parent
GREEN, RED = "#26a269", "#b00020"


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not match the open one; collects the text."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def parse_html(html: str) -> str:
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], f"unclosed tags {parser.stack}"
    return "".join(parser.text)


# --- Keras 3: one export, one verification, several tests --------------------


@pytest.fixture(scope="module")
def keras_export(keras_model, tmp_path_factory):
    """The Keras 3 model exported with the suggested signature."""
    return export(suggest_spec(keras_model, tmp_path_factory.mktemp("verify") / "keras"))


@pytest.fixture(scope="module")
def keras_report(keras_export):
    """``keras_export`` verified against the live model with generated inputs."""
    return verify(keras_export)


def test_keras_export_verifies_with_generated_inputs(keras_report, keras_export):
    report = keras_report
    assert report.ok, report.summary()
    assert report.compared_with_source
    assert report.error == ""
    assert report.path == str(keras_export.path)
    assert report.tensorflow_version.startswith("2.")
    assert (report.atol, report.rtol) == (1e-5, 1e-5)
    [signature] = report.signatures
    assert (signature.name, signature.ok, signature.skipped) == ("serving_default", True, False)
    assert signature.inputs == (
        InputSummary("image", "float32", (2, 8), True),
        InputSummary("meta", "float32", (2, 2), True),
    )
    scores = signature.output("scores")
    assert scores.passed is True
    assert scores.dtype == "float32"
    assert scores.shape == scores.source_shape == (2, 3)
    assert scores.max_abs_diff is not None and scores.max_abs_diff < 1e-6
    assert report.max_abs_diff == scores.max_abs_diff
    summary = report.summary()
    assert "\n" not in summary
    assert "OK" in summary and "match the source" in summary


def test_report_to_dict_is_json_ready(keras_report):
    data = json.loads(json.dumps(keras_report.to_dict()))
    assert data["ok"] is True
    assert data["signatures"][0]["outputs"][0]["alias"] == "scores"
    assert data["signatures"][0]["outputs"][0]["shape"] == [2, 3]


def test_report_html_shows_signatures_and_pass(keras_report):
    html = keras_report._repr_html_()
    text = parse_html(html)
    assert "<script" not in html
    assert "serving_default" in text and "scores" in text and "(2, 3)" in text
    assert "pass" in text and "FAIL" not in text
    assert GREEN in html and RED not in html
    frame = keras_report.to_frame()
    assert frame[["signature", "output", "result"]].values.tolist() == [
        ["serving_default", "scores", "pass"]
    ]


def test_broken_export_gives_a_report_not_an_exception(keras_export, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(keras_export.path, broken)
    shutil.rmtree(broken / "variables")
    report = verify(broken)
    assert not report.ok
    assert not report.compared_with_source
    assert report.error == ""  # the worker ran; the load failed inside it
    [signature] = report.signatures
    assert not signature.ok and not signature.skipped
    assert signature.error.startswith("Loading the SavedModel failed:")
    assert "FAILED" in report.summary()
    html = report._repr_html_()
    assert RED in html and "Loading the SavedModel failed" in parse_html(html)


# --- TF1 session: string outputs, per-signature inputs --------------------------


@pytest.fixture
def own_tf1(tf):
    """The ``tf1`` fixture's graph in a session of its own: an export adds save ops to the
    graph, and the shared session's graph must stay as other tests expect it."""
    from live_sources import build_tf1_session

    model = build_tf1_session(tf)
    yield model
    model.session.close()


def test_tf1_session_compares_strings_exactly_on_given_inputs(own_tf1, tmp_path):
    signatures = (
        SignatureSpec("serving_default", {"x": "x:0"}, {"scores": "scores:0",
                                                        "classes": "classes:0"}),
        SignatureSpec("scaled", {"x": "x:0", "temperature": "temperature:0"},
                      {"scaled": "scaled:0"}),
    )
    result = export(ExportSpec(own_tf1.session, signatures, tmp_path / "tf1"))
    images = np.random.default_rng(5).random((5, 4))  # float64: converted to float32
    report = verify(result, inputs={"serving_default": {"x": images}})
    assert report.ok, report.summary()
    assert [s.name for s in report.signatures] == ["serving_default", "scaled"]

    default = report.signature("serving_default")
    assert default.inputs == (InputSummary("x", "float32", (5, 4), False),)
    classes = default.output("classes")
    assert (classes.dtype, classes.shape, classes.source_shape) == ("string", (5,), (5,))
    assert classes.passed is True and classes.max_abs_diff is None
    assert "exactly" in classes.note
    assert default.output("scores").shape == (5, 3)

    scaled = report.signature("scaled")  # not given: generated, batch 2, scalar temperature
    assert {i.alias: (i.shape, i.generated) for i in scaled.inputs} == {
        "x": ((2, 4), True),
        "temperature": ((), True),
    }
    assert scaled.output("scaled").shape == (2, 3)


# --- tf_keras: a live model that no longer matches its export ---------------------


def test_changed_weights_fail_the_comparison(tf_keras_model, tmp_path):
    result = export(suggest_spec(tf_keras_model, tmp_path / "legacy"))
    hidden = tf_keras_model.get_layer("hidden")
    saved = hidden.get_weights()
    pixels = np.random.default_rng(1).random((4, 6), dtype=np.float32)
    try:
        hidden.set_weights([w + 0.5 for w in saved])
        report = verify(result, inputs={"pixels": pixels})
    finally:
        hidden.set_weights(saved)
    assert not report.ok
    assert report.error == ""
    [signature] = report.signatures
    assert not signature.ok and signature.error == ""
    [output] = signature.outputs
    assert output.alias == "probabilities"
    assert output.shape == output.source_shape == (4, 3)  # the given batch of 4
    assert output.passed is False
    assert output.max_abs_diff > 1e-3
    assert "differ" in output.note
    assert "FAILED" in report.summary() and "probabilities" in report.summary()
    html = report._repr_html_()
    assert "FAIL" in parse_html(html) and RED in html
    # the shared fixture is back as it was
    assert all(np.array_equal(a, b) for a, b in zip(hidden.get_weights(), saved, strict=True))


# --- a bare path, in a process that has not imported TensorFlow ---------------------

LIGHT_VERIFY = """
import json, sys
from savedmodel_widgets.verifier import verify

report = verify(sys.argv[1])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print(json.dumps({"report": report.to_dict(), "heavy": heavy}))
"""


def test_bare_path_runs_every_signature_without_tensorflow_here(saved_models):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    completed = subprocess.run(
        [sys.executable, "-c", LIGHT_VERIFY, saved_models["module"]],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["heavy"] == [], "verify imported TensorFlow in the calling process"
    report = outcome["report"]
    assert report["ok"] is True and report["compared_with_source"] is False
    by_name = {s["name"]: s for s in report["signatures"]}
    assert sorted(by_name) == ["predict_proba", "serving_default"]
    logits = by_name["serving_default"]["outputs"][0]
    assert (logits["alias"], logits["shape"], logits["passed"]) == ("logits", [2, 3], None)
    assert by_name["predict_proba"]["outputs"][0]["alias"] == "probabilities"


def test_timeout_gives_a_report_with_the_error(saved_models):
    report = verify(saved_models["module"], timeout=0.05)
    assert not report.ok
    assert "did not finish within 0.05 s" in report.error
    assert report.tensorflow_version == ""
    assert all(s.error.startswith("Not verified") for s in report.signatures)
    assert "FAILED" in report.summary()
    assert RED in report._repr_html_()


def test_a_crashed_worker_gives_a_report_with_its_stderr(saved_models, monkeypatch):
    # A worker that dies before reporting (here: python cannot even find it).
    monkeypatch.setattr("savedmodel_widgets.verifier.WORKER_MODULE", "savedmodel_widgets._gone")
    report = verify(saved_models["module"])
    assert not report.ok
    assert report.error.startswith("The verification process exited with code 1")
    assert "No module named savedmodel_widgets._gone" in report.error  # the stderr tail
    assert len(report.signatures) == 2
    assert all(not s.ok and s.error.startswith("Not verified") for s in report.signatures)


# --- signatures that cannot run: skipped, no worker ---------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [("sparse_input", "sparse"), ("ragged_input", "composite"), ("unknown_rank", "unknown rank")],
)
def test_inputs_that_cannot_be_fed_skip_the_signature(saved_models, name, reason):
    report = verify(saved_models[name])
    [signature] = report.signatures
    assert signature.skipped and not signature.ok
    assert reason in signature.skip_reason
    assert report.tensorflow_version == ""  # no worker was started
    assert not report.ok
    assert "nothing verified" in report.summary()
    assert "skipped" in parse_html(report._repr_html_())


# --- arguments verify refuses ---------------------------------------------------


def test_a_source_with_a_bare_path_is_refused(saved_models, keras_model):
    with pytest.raises(VerifyError, match="ExportResult"):
        verify(saved_models["module"], source=keras_model)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"images": np.zeros((2, 4))}, "'images'.*aliases are 'x'"),
        ({"predict": {"x": np.zeros((2, 4))}}, "signature 'predict'.*'predict_proba'"),
        ({"serving_default": {"y": np.zeros((2, 4))}}, "'y'"),
        ({"serving_default": {"x": np.zeros((2, 4))}, "x": np.zeros((2, 4))}, "one form"),
        ({"x": [["a", "b", "c", "d"]]}, "cannot be converted to float32"),
    ],
    ids=["unknown-alias", "unknown-signature", "unknown-alias-nested", "mixed", "bad-dtype"],
)
def test_bad_inputs_are_refused_before_any_work(saved_models, inputs, message):
    with pytest.raises(VerifyError, match=message) as caught:
        verify(saved_models["module"], inputs=inputs)
    assert isinstance(caught.value, SavedModelWidgetsError)


@pytest.mark.parametrize(
    "settings",
    [{"batch_size": 0}, {"batch_size": 1.5}, {"timeout": 0}, {"atol": -1.0}],
)
def test_bad_settings_are_refused(saved_models, settings):
    with pytest.raises(VerifyError):
        verify(saved_models["module"], **settings)


# --- input generation and comparison, without TensorFlow ------------------------------


def test_generated_inputs_follow_dtype_and_shape():
    signature = Signature(
        "serving_default",
        "tensorflow/serving/predict",
        (
            TensorInfo("ids", "ids:0", "int64", (None, 5)),
            TensorInfo("image", "image:0", "float32", (None, None, 2)),
            TensorInfo("text", "text:0", "string", (None,)),
            TensorInfo("mask", "mask:0", "bool", (4,)),
            TensorInfo("weight", "weight:0", "float64", (None,)),
        ),
        (),
    )
    arrays, summaries = signature_inputs(signature, {"weight": [1, 2, 3, 4, 5, 6]}, 2)
    assert arrays["weight"].dtype == np.float64
    # the batch of the given input is used for the generated ones
    assert arrays["ids"].shape == (6, 5) and arrays["ids"].dtype == np.int64
    assert set(np.unique(arrays["ids"])) <= {0, 1}
    assert arrays["image"].shape == (6, 3, 2) and arrays["image"].dtype == np.float32
    assert ((arrays["image"] >= 0) & (arrays["image"] < 1)).all()
    assert arrays["text"].tolist() == [b"a"] * 6
    assert arrays["mask"].dtype == np.bool_ and arrays["mask"].shape == (4,)
    assert [s.generated for s in summaries] == [True, True, True, True, False]
    again, _ = signature_inputs(signature, {"weight": [1, 2, 3, 4, 5, 6]}, 2)
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)  # seeded


def test_compare_output_rules():
    declared = TensorInfo("y", "y:0", "float32", (None, 2))
    reloaded = np.array([[0.0, np.nan], [1.0, 2.0]], np.float32)
    close = compare_output("y", declared, reloaded, reloaded + 1e-7, atol=1e-5, rtol=0)
    assert close.passed is True and close.max_abs_diff < 1e-5  # NaN = NaN
    far = compare_output("y", declared, reloaded, reloaded + 0.1, atol=1e-5, rtol=0)
    assert far.passed is False and far.max_abs_diff == pytest.approx(0.1)
    reshaped = compare_output("y", declared, reloaded, reloaded.ravel(), atol=1e-5, rtol=0)
    assert reshaped.passed is False and reshaped.source_shape == (4,)
    unchecked = compare_output("y", declared, reloaded, None, atol=1e-5, rtol=0)
    assert unchecked.passed is None and unchecked.result_text == "ran"
    wrong_rank = compare_output("y", declared, reloaded.ravel(), None, atol=1e-5, rtol=0)
    assert wrong_rank.passed is False and "does not fit" in wrong_rank.note
    text = TensorInfo("c", "c:0", "string", (None,))
    names = np.array([b"cat", b"dog"])
    same = compare_output("c", text, names, np.array(["cat", "dog"], object), atol=0, rtol=0)
    assert same.passed is True and same.max_abs_diff is None
    other = compare_output("c", text, names, np.array([b"cat", b"cow"], object), atol=0, rtol=0)
    assert other.passed is False and "1 of 2 values differ" in other.note
    missing = compare_output("c", text, None, names, atol=0, rtol=0)
    assert missing.passed is False and missing.shape is None


def test_html_escapes_every_name_and_message():
    report = VerifyReport(
        path="/tmp/<model>",
        signatures=(
            SignatureVerification(
                "<b>sig</b>", False, False, "", 0.1,
                (OutputComparison("out<1>", "float32", (2,), (2,), 0.5, False, "a & b"),),
            ),
            SignatureVerification("broken", False, False, "<script>alert(1)</script>", 0.0),
            SignatureVerification("later", False, True, "", 0.0, skip_reason="input <x> sparse"),
        ),
        atol=1e-5, rtol=1e-5, seconds=1.0, tensorflow_version="2.x",
        compared_with_source=True, error="crash <stderr>",
    )
    html = report._repr_html_()
    assert "<script>" not in html and "<b>sig</b>" not in html
    text = parse_html(html)
    for part in ("/tmp/<model>", "<b>sig</b>", "out<1>", "a & b", "<script>alert(1)</script>",
                 "input <x> sparse", "crash <stderr>", "FAIL"):
        assert part in text
    assert not report.ok
    assert report.summary().startswith("Verify /tmp/<model>: FAILED: crash <stderr>")


def test_a_meta_graph_without_the_serve_tag_is_run_but_the_report_says_no_server_loads_it(
        tf, tmp_path):
    tf1 = tf.compat.v1
    path = tmp_path / "train_only"
    with tf.Graph().as_default(), tf1.Session() as session:
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        scores = tf.nn.softmax(x * 2.0, name="scores")
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(session, ["train"], signature_def_map={
            "serving_default": tf1.saved_model.predict_signature_def({"image": x},
                                                                     {"scores": scores})})
        builder.save()

    report = verify(path)

    assert report.ok and report.tags == ("train",)
    assert "none is tagged 'serve', so a server would not load" in report.note
    assert report.summary().endswith(f"but {report.note}")
    assert f"Note: {report.note}." in parse_html(report._repr_html_())


@pytest.mark.parametrize(("compared", "headers"), [
    (True, ["signature", "output", "dtype", "shape", "source shape", "max |diff|", "result"]),
    (False, ["signature", "output", "dtype", "shape", "result"]),
], ids=["compared", "path-only"])
def test_html_has_source_columns_only_when_compared_with_a_source(compared, headers):
    report = VerifyReport(
        path="export/model/1",
        signatures=(
            SignatureVerification("serving_default", True, False, "", 0.1, (
                OutputComparison("scores", "float32", (2, 3), (2, 3) if compared else None,
                                 0.0 if compared else None, True if compared else None),)),
            SignatureVerification("later", False, True, "", 0.0, skip_reason="sparse input"),
        ),
        atol=1e-5, rtol=1e-5, seconds=1.0, tensorflow_version="2.x",
        compared_with_source=compared,
    )
    rows = table_rows(report._repr_html_())
    assert rows[0] == headers
    assert len(rows[1]) == len(headers)
    assert rows[2] == ["later", "skipped: sparse input"]
    assert f'colspan="{len(headers) - 1}"' in report._repr_html_()


# --- loaded as TF Serving loads: tags exactly {serve}, main op, tables -----------------


def test_a_table_no_init_op_fills_fails_as_on_the_server(saved_models, tf):
    # simple_save without legacy_init_op= writes no init op (tensorflow/serving#1731).
    path = saved_models["table_simple_save"]
    served = tf.saved_model.load(path)  # which fills tables by itself, unlike a server
    names = served.signatures["serving_default"](images=tf.zeros([2, 4]))["classes"]
    assert names.shape == (2,)

    report = verify(path)

    assert not report.ok and report.error == ""
    [signature] = report.signatures
    assert signature.error.startswith("Running the reloaded signature failed:")
    assert "Table not initialized" in signature.error
    assert verify(saved_models["table_legacy_init_op"]).ok  # the init op fills it


def test_a_meta_graph_tagged_serve_and_train_does_not_load_with_the_serve_tags(tf, tmp_path):
    tf1 = tf.compat.v1
    path = tmp_path / "serve_train"
    with tf.Graph().as_default(), tf1.Session() as session:
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(session, ["serve", "train"], signature_def_map={
            "serving_default": tf1.saved_model.predict_signature_def({"x": x}, {"y": x * 2.0})})
        builder.save()

    report = verify(path)

    assert not report.ok and report.tags == ("serve",) and report.note == ""
    [signature] = report.signatures
    assert signature.error.startswith("Loading the SavedModel failed: RuntimeError:")
    assert "MetaGraphDef associated with tags 'serve' could not be found" in signature.error


def test_sparse_and_ragged_outputs_are_fetched_and_densified(tf, tmp_path):
    tf1 = tf.compat.v1
    utils = tf1.saved_model.utils
    path = tmp_path / "composite_outputs"
    with tf.Graph().as_default(), tf1.Session() as session:
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        lengths = tf.fill(tf.shape(x)[:1], tf.constant(3, tf.int64))
        outputs = {"sparse": tf.sparse.from_dense(x), "ragged": tf.RaggedTensor.from_tensor(
            x, lengths=lengths)}
        signature = tf1.saved_model.signature_def_utils.build_signature_def(
            {"x": utils.build_tensor_info(x)},
            {alias: utils.build_tensor_info(t) for alias, t in outputs.items()},
            tf1.saved_model.PREDICT_METHOD_NAME)
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(session, ["serve"],
                                             signature_def_map={"serving_default": signature})
        builder.save()

    report = verify(path)

    assert report.ok, report.summary()
    [signature] = report.signatures
    assert signature.output("sparse").shape == (2, 4)
    assert "sparse output" in signature.output("sparse").note
    assert signature.output("ragged").shape == (2, 3)
    assert "ragged output" in signature.output("ragged").note
