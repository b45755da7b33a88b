"""``python -m savedmodel_widgets serve`` in the foreground, and the server process's life.

One command-line server for the module serves TF Serving's half_plus_two test
model (versions 123 and 124) with gRPC; ``Classify`` and ``Regress`` through
``tensorflow-serving-api``'s stub are compared with the same signatures run in
this process by TensorFlow's serve loader.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import requests
import serving_models

from savedmodel_widgets._serve_loader import load_for_serving, run_signature
from savedmodel_widgets.cli import build_parser
from savedmodel_widgets.serving.server import ServerError, serve

grpc = pytest.importorskip("grpc")
pytest.importorskip("tensorflow_serving.apis.prediction_service_pb2_grpc",
                    reason="install with pip install --no-deps tensorflow-serving-api")

TIMEOUT = 60
NAME = "hp"
STARTUP_SECONDS = 300


def read_lines(stream, count, timeout):
    """The first ``count`` lines of ``stream``, or fewer if it ends or ``timeout`` passes."""
    lines: list[str] = []

    def read():
        for _ in range(count):
            line = stream.readline()
            if not line:
                return
            lines.append(line.decode().rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return lines


def cli(*args):
    return [sys.executable, "-m", "savedmodel_widgets", *args]


@pytest.fixture(scope="module")
def parent(tf, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "half_plus_two"
    serving_models.write_half_plus_two_versions(tf, str(path))
    return path


@pytest.fixture(scope="module")
def command_line_server(parent):
    process = subprocess.Popen(
        cli("serve", str(parent), "--model-name", NAME, "--grpc-port", "0"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    lines = read_lines(process.stdout, 4, STARTUP_SECONDS)
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def urls(lines):
    """``{"rest": ..., "grpc": ..., "eas": ...}`` from what ``serve`` printed."""
    found = {}
    for line in lines:
        label, _, value = line.partition(": ")
        key = {"TF Serving REST": "rest", "TF Serving gRPC": "grpc", "EAS": "eas"}.get(label)
        if key:
            found[key] = value.strip()
    return found


@pytest.fixture(scope="module")
def stub(command_line_server):
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(urls(command_line_server[1])["grpc"]) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def in_process(parent):
    session, meta_graph_def = load_for_serving(str(parent / "124"))
    yield session, meta_graph_def
    session.close()


def test_serve_prints_the_urls_and_answers_rest(command_line_server):
    process, lines = command_line_server
    assert lines[0] == f"Serving '{NAME}' (versions: 123, 124) on 127.0.0.1; Ctrl-C stops."
    found = urls(lines)
    assert found["rest"].startswith("http://127.0.0.1:")
    assert found["rest"].endswith(f"/v1/models/{NAME}")
    assert found["eas"].endswith(f"/api/predict/{NAME}")
    assert found["grpc"].startswith("127.0.0.1:")
    answer = requests.get(found["rest"], timeout=TIMEOUT).json()
    assert [s["version"] for s in answer["model_version_status"]] == ["124", "123"]


def example(tf, **features):
    made = tf.train.Example()
    for name, value in features.items():
        made.features.feature[name].float_list.value.append(value)
    return made


def test_grpc_regress_and_classify_equal_the_signatures_run_in_process(tf, stub, in_process):
    from tensorflow_serving.apis import classification_pb2, regression_pb2

    xs = [80.0, -1.5, 0.125]
    examples = [example(tf, x=x) for x in xs]
    serialized = np.array([e.SerializeToString() for e in examples], dtype=object)
    session, meta_graph_def = in_process
    for signature in ("regress_x_to_y", "regress_x_to_y2"):
        request = regression_pb2.RegressionRequest()
        request.model_spec.name = NAME
        request.model_spec.signature_name = signature
        request.input.example_list.examples.extend(examples)
        answer = stub.Regress(request, timeout=TIMEOUT)
        expected = run_signature(session, meta_graph_def, signature, {"inputs": serialized})
        np.testing.assert_allclose([r.value for r in answer.result.regressions],
                                   expected["outputs"].reshape(-1), rtol=1e-7)
        assert answer.model_spec.version.value == 124
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = NAME
    request.model_spec.signature_name = "classify_x_to_y"
    request.model_spec.version.value = 123
    request.input.example_list.examples.extend(examples)
    answer = stub.Classify(request, timeout=TIMEOUT)
    expected = run_signature(session, meta_graph_def, "classify_x_to_y", {"inputs": serialized})
    scores = [[c.score for c in one.classes] for one in answer.result.classifications]
    np.testing.assert_allclose(scores, expected["scores"], rtol=1e-7)
    assert [[c.label for c in one.classes] for one in answer.result.classifications] == [
        [""]] * 3
    assert answer.model_spec.version.value == 123


def test_grpc_examples_with_context(tf, stub):
    from tensorflow_serving.apis import regression_pb2

    request = regression_pb2.RegressionRequest()
    request.model_spec.name = NAME
    request.model_spec.signature_name = "regress_x2_to_y3"
    with_context = request.input.example_list_with_context
    with_context.context.CopyFrom(example(tf, x=1.0))
    with_context.examples.extend([example(tf, x2=2.0), example(tf, x2=6.0)])
    # regress_x2_to_y3 feeds x2:0, a float tensor, with the serialized examples: TensorFlow
    # refuses them, as in TF Serving.
    with pytest.raises(grpc.RpcError) as raised:
        stub.Regress(request, timeout=TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Expects arg[0] to be float but string is provided" in raised.value.details()
    request.model_spec.signature_name = "regress_x_to_y2"
    answer = stub.Regress(request, timeout=TIMEOUT)
    assert [r.value for r in answer.result.regressions] == [3.5, 3.5]  # x from the context


def test_bad_classify_and_regress_requests(tf, stub):
    from tensorflow_serving.apis import classification_pb2, regression_pb2

    empty = regression_pb2.RegressionRequest()
    empty.model_spec.name = NAME
    empty.model_spec.signature_name = "regress_x_to_y"
    unknown = classification_pb2.ClassificationRequest()
    unknown.model_spec.name = NAME
    unknown.model_spec.signature_name = "nope"
    unknown.input.example_list.examples.add()
    regress_as_classify = classification_pb2.ClassificationRequest()
    regress_as_classify.model_spec.name = NAME
    regress_as_classify.model_spec.signature_name = "regress_x_to_y"
    regress_as_classify.input.example_list.examples.append(example(tf, x=1.0))
    good = regression_pb2.RegressionRequest()
    good.model_spec.name = NAME
    good.model_spec.signature_name = "regress_x_to_y"
    good.input.example_list.examples.append(example(tf, x=2.0))
    cases = [
        (stub.Regress, empty, "Input is empty."),
        (stub.Classify, unknown, "No signature was found with the name: nope"),
        (stub.Classify, regress_as_classify, "Expected classification signature method_name"),
    ]
    for call, request, message in cases:
        with pytest.raises(grpc.RpcError) as raised:
            call(request, timeout=TIMEOUT)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in raised.value.details()
        assert stub.Regress(good, timeout=TIMEOUT).result.regressions[0].value == 3.0


def test_ctrl_c_stops_the_command_line_server(command_line_server):
    process, _ = command_line_server
    process.send_signal(signal.SIGINT)
    assert process.wait(TIMEOUT) == 0


def test_serve_command_options_parse():
    args = build_parser().parse_args(
        ["serve", "export/m", "--model-name", "m", "--port", "8501", "--grpc-port", "8500",
         "--eas-token", "secret"])
    assert (args.command, args.path, args.model_name, args.port, args.grpc_port,
            args.eas_token) == ("serve", "export/m", "m", 8501, 8500, "secret")
    defaults = build_parser().parse_args(["serve", "export/m"])
    assert (defaults.port, defaults.grpc_port, defaults.eas_token) == (0, None, None)


def test_serve_command_with_no_savedmodel_exits_2(tmp_path):
    result = subprocess.run(cli("serve", str(tmp_path / "nothing")), capture_output=True,
                            text=True, timeout=TIMEOUT,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "nothing does not exist" in result.stderr


def test_serve_with_no_savedmodel_raises_the_servers_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ServerError) as raised:
        serve(tmp_path / "empty")
    assert "The preview server could not start" in str(raised.value)
    assert "empty" in str(raised.value)


def test_the_server_ends_when_its_parent_dies(parent, tmp_path):
    # A parent that starts a server and dies without stopping it (os._exit: no atexit).
    script = textwrap.dedent(f"""
        import json, os, sys
        from savedmodel_widgets.serving.server import serve
        handle = serve({str(parent / "123")!r})
        print(json.dumps({{"pid": handle.pid, "rest_url": handle.rest_url}}), flush=True)
        os._exit(0)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=STARTUP_SECONDS,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    started = json.loads(result.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and pid_running(started["pid"]):
        time.sleep(0.2)
    assert not pid_running(started["pid"])


def pid_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        return stat.read().split()[2] != "Z"  # a zombie has ended
