"""Benchmarks of TF Serving's warm-up file: our pure-Python writer and reader beside TensorFlow's.

Both sections use 1000 predict requests (TF Serving's most) of two sizes: a row of 8
float32 (the classifier of the tests) and a 28x28x1 float32 image (3 KB a record).

Section ``bench_warmup_write``: the median time of writing the 1000 records with
``write_records`` (framing and pure-Python CRC-32C, atomic) beside ``tf.io.TFRecordWriter``
writing the same serialized bytes; and of the whole job, each side building its own
messages (``encode_prediction_log`` beside ``tf.make_tensor_proto`` into
``tensorflow_serving``'s ``PredictionLog``). Prints the ratios ours / TensorFlow's.

Section ``bench_warmup_read``: the median time of ``read_records`` (both CRCs checked)
beside ``tf.data.TFRecordDataset`` reading the same file; and of the whole job, each
side decoding to numpy (``read_tfserving_warmup`` beside ``PredictionLog.FromString`` and
``tf.make_ndarray``). Prints the ratios ours / TensorFlow's.

Ratios come from one run of this script on this machine; nothing here asserts a time.

    python benchmarks/bench_deploy.py [--repeat 5] [--section NAME]
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _sections import run_sections

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

RECORDS = 1000
SHAPES = {"row of 8 float32": (1, 8), "28x28x1 float32 image": (1, 28, 28, 1)}


def median_seconds(function: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def requests_of(shape: tuple[int, ...]) -> list[Any]:
    from savedmodel_widgets.deploy.requests import WarmupRequest

    rng = np.random.default_rng(0)
    return [WarmupRequest("serving_default", {"image": rng.random(shape, dtype=np.float32)})
            for _ in range(RECORDS)]


def tf_prediction_log(tf: Any, request: Any) -> bytes:
    from tensorflow_serving.apis import prediction_log_pb2

    log = prediction_log_pb2.PredictionLog()
    predict = log.predict_log.request
    predict.model_spec.signature_name = request.signature_name
    for alias, array in request.inputs.items():
        predict.inputs[alias].CopyFrom(tf.make_tensor_proto(array))
    return log.SerializeToString()


def tf_write(tf: Any, path: Path, records: list[bytes]) -> None:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)


def report(title: str, rows: dict[str, tuple[float, float]]) -> None:
    print(f"\n== {title} ==")
    print(f"{'':46} {'ours':>9} {'TensorFlow':>11} {'ours / TF':>10}")
    for label, (ours, theirs) in rows.items():
        print(f"{label:46} {ours * 1000:7.1f}ms {theirs * 1000:9.1f}ms {ours / theirs:9.1f}x")


def write_rows(tf: Any, shape: tuple[int, ...], folder: Path,
               repeat: int) -> dict[str, tuple[float, float]]:
    """Median seconds, ours and TensorFlow's, of writing 1000 records of ``shape``."""
    from savedmodel_widgets.deploy.serving_messages import encode_prediction_log
    from savedmodel_widgets.deploy.tfrecord import write_records

    ours_path, their_path = folder / "ours", folder / "theirs"
    requests = requests_of(shape)
    records = [encode_prediction_log(request) for request in requests]
    framing = (median_seconds(lambda: write_records(ours_path, records), repeat),
               median_seconds(lambda: tf_write(tf, their_path, records), repeat))
    assert ours_path.read_bytes() == their_path.read_bytes()
    whole = (median_seconds(lambda: write_records(
                 ours_path, [encode_prediction_log(r) for r in requests]), repeat),
             median_seconds(lambda: tf_write(
                 tf, their_path, [tf_prediction_log(tf, r) for r in requests]), repeat))
    return {f"framing ({sum(map(len, records)) / 1e6:.2f} MB)": framing,
            "messages and framing": whole}


def bench_warmup_write(repeat: int) -> None:
    """Our writer beside ``tf.io.TFRecordWriter``, framing alone and with the messages."""
    import tensorflow as tf

    rows = {}
    with tempfile.TemporaryDirectory() as temporary:
        for label, shape in SHAPES.items():
            for what, times in write_rows(tf, shape, Path(temporary), repeat).items():
                rows[f"{label}: {what}"] = times
    report(f"writing {RECORDS} PredictionLog records ({repeat} runs, medians)", rows)


def read_rows(tf: Any, shape: tuple[int, ...], path: Path,
              repeat: int) -> dict[str, tuple[float, float]]:
    """Median seconds, ours and TensorFlow's, of reading 1000 records of ``shape``."""
    from tensorflow_serving.apis import prediction_log_pb2

    from savedmodel_widgets.deploy.serving_messages import encode_prediction_log
    from savedmodel_widgets.deploy.tfrecord import read_records, write_records
    from savedmodel_widgets.deploy.tfserving_warmup import read_tfserving_warmup

    def tf_records() -> list[bytes]:
        return [record.numpy() for record in tf.data.TFRecordDataset(str(path))]

    def tf_arrays() -> list[dict[str, np.ndarray]]:
        decoded = []
        for record in tf_records():
            request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
            decoded.append({alias: tf.make_ndarray(proto)
                            for alias, proto in request.inputs.items()})
        return decoded

    write_records(path, [encode_prediction_log(r) for r in requests_of(shape)])
    assert read_records(path) == tf_records()
    return {f"records ({path.stat().st_size / 1e6:.2f} MB)": (
                median_seconds(lambda: read_records(path), repeat),
                median_seconds(tf_records, repeat)),
            "decoded to numpy": (median_seconds(lambda: read_tfserving_warmup(path), repeat),
                                 median_seconds(tf_arrays, repeat))}


def bench_warmup_read(repeat: int) -> None:
    """Our reader beside ``tf.data.TFRecordDataset``, records alone and decoded to numpy."""
    import tensorflow as tf

    rows = {}
    with tempfile.TemporaryDirectory() as temporary:
        path = Path(temporary) / "tf_serving_warmup_requests"
        for label, shape in SHAPES.items():
            for what, times in read_rows(tf, shape, path, repeat).items():
                rows[f"{label}: {what}"] = times
    report(f"reading {RECORDS} PredictionLog records ({repeat} runs, medians)", rows)


SECTIONS = {
    "bench_warmup_write": bench_warmup_write,
    "bench_warmup_read": bench_warmup_read,
}
"""Each section of this file, run in order by :func:`main`."""


def main() -> None:
    run_sections(__doc__.splitlines()[0], SECTIONS, repeat=5)

if __name__ == "__main__":
    main()
