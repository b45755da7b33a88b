"""Benchmarks of export and verification for old TensorFlow runtimes.

Section ``bench_runtime_verify``: verifying one export in an old runtime's own TensorFlow
(its C API in a worker process, the runtime already fetched into the cache) beside
today's verify (a fresh Python process with the installed TensorFlow), on the same
export: a TF1 graph of about 1.2M float parameters with ref variables, written the way
old runtimes load, compared with the live session each time. Prints the median seconds
of each, their ratio, and the worker's peak resident memory in each runtime (a Binder
notebook must stay under 2 GB with its kernel and this worker).

    python benchmarks/bench_runtime.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

VERIFY_RUNTIMES = ("eas:tensorflow_cpu_1.15", "tfserving:2.7")


def _tf1_export(tf: Any, path: Path) -> tuple[Any, Any]:
    """``features [None, 1024] -> 1024 -> 128 -> scores [None, 10]`` with ref variables,
    written with ``Builder`` and stripped default attributes; returns (session, spec)."""
    import numpy as np

    from savedmodel_widgets.spec import ExportSpec, SignatureSpec

    tf1 = tf.compat.v1
    graph = tf.Graph()
    rng = np.random.default_rng(0)
    with graph.as_default():
        tf1.disable_resource_variables()
        hidden = features = tf1.placeholder(tf.float32, [None, 1024], name="features")
        for index, (rows, columns) in enumerate(((1024, 1024), (1024, 128), (128, 10))):
            weights = tf1.Variable(rng.normal(0, 0.03, (rows, columns)).astype(np.float32),
                                   name=f"w{index}")
            hidden = tf.matmul(hidden, weights)
            hidden = tf.nn.relu(hidden) if index < 2 else tf.nn.softmax(hidden, name="scores")
        tf1.enable_resource_variables()
        session = tf1.Session(graph=graph)
        session.run(tf1.global_variables_initializer())
        builder = tf1.saved_model.Builder(str(path))
        signature = tf1.saved_model.signature_def_utils.predict_signature_def(
            {"features": features}, {"scores": hidden})
        builder.add_meta_graph_and_variables(session, ["serve"], strip_default_attrs=True,
                                             signature_def_map={"serving_default": signature})
        builder.save()
    spec = ExportSpec(session, SignatureSpec("serving_default", {"features": "features:0"},
                                             {"scores": "scores:0"}), path)
    return session, spec


def bench_runtime_verify(repeat: int) -> None:
    """Runtime verification (fetch cached) beside today's verify, on the same export."""
    import numpy as np
    import tensorflow as tf

    from savedmodel_widgets import fetch_runtime, run_in_runtime, verify
    from savedmodel_widgets.savedmodel.reader import read_saved_model
    from savedmodel_widgets.spec import ExportResult

    path = Path(tempfile.mkdtemp(prefix="bench_runtime_")) / "export"
    session, spec = _tf1_export(tf, path)
    result = ExportResult(path, spec, read_saved_model(path), 0, 0.0)
    inputs = {"features": np.random.default_rng(1).uniform(size=(8, 1024)).astype(np.float32)}
    for runtime in VERIFY_RUNTIMES:
        fetch_runtime(runtime, progress=print)

    def seconds(runtime: str | None) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            report = verify(result, inputs=inputs, runtime=runtime)
            times.append(time.perf_counter() - started)
            assert report.ok, report.summary()
        return statistics.median(times)

    installed = seconds(None)
    print("\n== bench_runtime_verify: verify in an old runtime vs today's verify ==")
    print(f"export: {path} ({result.info.total_bytes / 1e6:.1f} MB), median of {repeat}")
    print(f"verify (installed TensorFlow, fresh Python process): {installed:.2f} s")
    for runtime in VERIFY_RUNTIMES:
        timed = seconds(runtime)
        outcome = run_in_runtime(path, runtime, {"serving_default": inputs})
        print(f"verify(runtime={runtime!r}): {timed:.2f} s, ratio {timed / installed:.2f}x; "
              f"worker peak RSS {outcome.peak_rss_mb:.0f} MB "
              f"(TensorFlow {outcome.tensorflow_version}, load {outcome.load_seconds:.2f} s)")
    session.close()


SECTIONS = {"bench_runtime_verify": bench_runtime_verify}
"""Each section of this file, run in order by :func:`main`."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--section", choices=sorted(SECTIONS), action="append",
                        help="run only this section (repeatable); all by default")
    args = parser.parse_args()
    for name in args.section or list(SECTIONS):
        SECTIONS[name](args.repeat)


if __name__ == "__main__":
    main()
