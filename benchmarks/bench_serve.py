"""How fast does the preview server answer, next to calling the loaded signature in process?

A small Keras 3 classifier (8 -> 16 -> 3) is exported with ``smw.export`` and
served by ``smw.serve`` (a background process) with gRPC. The same predict of
one batch is then sent, one request at a time on loopback, over TF Serving's
REST API (``requests`` with a kept-alive session) and its gRPC API
(``tensorflow-serving-api``'s stub), and run in this process through
:class:`~savedmodel_widgets.serving.model.ServedModel` (the loaded signature
the server runs). For each: requests per second, p50 and p99 latency, and the
ratio of the p50 to the in-process one. Each is bounded in count and time.

It also prints the server process's memory: its peak resident set (VmHWM),
and its anonymous (private) part at the end (RssAnon). The rest of its resident
set is TensorFlow's shared libraries, whose pages a kernel that has imported
TensorFlow shares, so RssAnon is what the preview adds to a notebook's memory.
It prints and never asserts.

Usage::

    python benchmarks/bench_serve.py [--requests 500] [--seconds 20] [--batch 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import numpy as np  # noqa: E402
import serving_models  # noqa: E402


def timed(call: Callable[[], object], count: int, seconds: float) -> list[float]:
    """Latencies (s) of up to ``count`` calls, stopping after ``seconds``; 5 warm-up calls."""
    for _ in range(5):
        call()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(latencies) < count and time.perf_counter() < deadline:
        start = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - start)
    return latencies


def summary(latencies: list[float]) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms)."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return len(ordered) / sum(ordered), statistics.median(ordered) * 1e3, p99 * 1e3


def memory_mb(pid: int | str, field: str) -> float:
    """A ``/proc/PID/status`` memory field (``VmHWM``, ``RssAnon``) in MB (Linux)."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per protocol")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per protocol")
    parser.add_argument("--batch", type=int, default=1, help="rows per request")
    args = parser.parse_args()

    import grpc
    import requests
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    import savedmodel_widgets as smw
    from savedmodel_widgets.serving.model import ServedModel

    images = serving_models.sample_images(args.batch)
    with tempfile.TemporaryDirectory() as root:
        parent = os.path.join(root, serving_models.KERAS_NAME)
        models = serving_models.write_keras_classifier(parent)
        expected = models[2].predict(images, verbose=0)
        started = time.perf_counter()
        with smw.serve(parent, grpc_port=0) as server:
            startup = time.perf_counter() - started
            loaded = ServedModel(server.model_name, 2, os.path.join(parent, "2"))
            url = f"{server.rest_url}/v1/models/{server.model_name}:predict"
            session = requests.Session()
            body = {"instances": images.tolist()}
            request = predict_pb2.PredictRequest()
            request.model_spec.name = server.model_name
            request.inputs["image"].CopyFrom(tf.make_tensor_proto(images))
            with grpc.insecure_channel(server.grpc_target) as channel:
                stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
                calls = {
                    "in process": lambda: loaded.predict(None, {"image": images}),
                    "REST": lambda: session.post(url, json=body, timeout=30).json(),
                    "gRPC": lambda: stub.Predict(request, timeout=30),
                }
                answers = {
                    "REST": np.array(session.post(url, json=body, timeout=30)
                                     .json()["predictions"]),
                    "gRPC": tf.make_ndarray(stub.Predict(request, timeout=30).outputs["scores"]),
                    "in process": loaded.predict(None, {"image": images})["scores"],
                }
                results = {name: summary(timed(call, args.requests, args.seconds))
                           for name, call in calls.items()}
            server_memory = {field: memory_mb(server.pid, field)
                             for field in ("VmHWM", "RssAnon")}
            loaded.close()
    print(f"predict of {args.batch} row(s), one request at a time on 127.0.0.1; "
          f"server started in {startup:.1f} s")
    for name, answer in answers.items():
        print(f"  {name:10} max |answer - Keras in process| = "
              f"{float(np.max(np.abs(answer - expected))):.2e}")
    base = results["in process"][1]
    print(f"  {'':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p50 / in process':>17}")
    for name, (rate, p50, p99) in results.items():
        print(f"  {name:10} {rate:9.0f} {p50:8.2f} {p99:8.2f} {p50 / base:17.1f}")
    print(f"server process: peak RSS {server_memory['VmHWM']:.0f} MB, of which private "
          f"(RssAnon, at the end) {server_memory['RssAnon']:.0f} MB; this process: peak RSS "
          f"{memory_mb('self', 'VmHWM'):.0f} MB, private {memory_mb('self', 'RssAnon'):.0f} MB")


if __name__ == "__main__":
    main()
