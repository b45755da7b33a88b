"""Benchmarks of exporting for, checking against and verifying in old TensorFlow runtimes.

Section ``bench_compatible_export``: on a Keras 3 model of about 2.9M parameters
(Embedding, Conv1D, BatchNormalization, pooling, Dense), from one run, the median seconds
and bytes on disk of ``export(spec)`` for ``eas:tensorflow_cpu_1.15`` (freeze, rebuild
with reference variables, op check, SavedModelBuilder) and of the default export
(``runtime="installed"``), and their ratios. A fresh model per repeat, so each export
traces its signature once, as a user's first export does.

Section ``bench_runtime_verify``: verifying one export in an old runtime's own TensorFlow
(its C API in a worker process, the runtime already fetched into the cache) beside
today's verify (a fresh Python process with the installed TensorFlow), on the same
export: a TF1 graph of about 1.2M float parameters with ref variables, written the way
old runtimes load, compared with the live session each time. Prints the median seconds
of each, their ratio, and the worker's peak resident memory in each runtime (a Binder
notebook must stay under 2 GB with its kernel and this worke
Section ``bench_check``: a TF1 graph of 20,000 ops (resource variables, as TensorFlow 2.21
writes them, so a check for TensorFlow 1.15 finds an unknown attribute on thousands of
nodes: the most work the check does), then, without TensorFlow, the median time of
reading it, of ``check(info, "eas")`` and of the same check with a runtime (old and
installed): what the runtime adds, against the target of 50 ms, and the first load of the
op registry.

    python benchmarks/bench_runtime.py [--repeat 3] [--section NAME]
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _sections import run_sections

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

VERIFY_RUNTIMES = ("eas:tensorflow_cpu_1.15", "tfserving:2.7")
GRAPH_OPS = 20_000
LAYER_WIDTH = 4
CHECK_RUNTIMES = ("eas:tensorflow_cpu_1.15", "installed")
TARGET_MS = 50.0


def build_text_model():
    """``tokens`` (64 int32) -> Embedding(20000, 128) -> Conv1D(256, 5) -> BatchNorm ->
    max pooling -> Dense(512) -> ``scores`` (10): about 2.9M parameters."""
    import keras

    keras.utils.set_random_seed(0)
    tokens = keras.Input((64,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(20000, 128, name="embedding")(tokens)
    hidden = keras.layers.Conv1D(256, 5, activation="relu", name="conv")(hidden)
    hidden = keras.layers.BatchNormalization(name="norm")(hidden)
    hidden = keras.layers.GlobalMaxPooling1D(name="pool")(hidden)
    hidden = keras.layers.Dense(512, activation="relu", name="dense")(hidden)
    scores = keras.layers.Dense(10, activation="softmax", name="scores")(hidden)
    return keras.Model(tokens, scores)


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_compatible_export(repeat: int) -> dict[str, float]:
    """Median seconds and bytes of the compatible and the default export, and the ratios."""
    from savedmodel_widgets import export, suggest_spec

    runtimes = {"compatible (eas:tensorflow_cpu_1.15)": "eas:tensorflow_cpu_1.15",
                "default (installed)": "installed"}
    times: dict[str, list[float]] = {name: [] for name in runtimes}
    sizes: dict[str, int] = {}
    root = Path(tempfile.mkdtemp(prefix="bench_runtime_"))
    try:
        for run in range(repeat):
            for name, runtime in runtimes.items():  # alternate, same conditions
                model = build_text_model()
                path = root / f"{runtime.replace(':', '_')}_{run}"
                started = time.perf_counter()
                export(suggest_spec(model, path, runtime=runtime))
                times[name].append(time.perf_counter() - started)
                sizes[name] = size_of(path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    compatible, default = runtimes
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"compatible export vs default export, median of {repeat}, {model.count_params():,} "
          "parameters")
    for name in runtimes:
        print(f"  {name:38s} {medians[name]:7.3f} s  {sizes[name]:>12,} bytes")
    ratios = {"time": medians[compatible] / medians[default],
              "bytes": sizes[compatible] / sizes[default]}
    print(f"  ratio compatible / default: time {ratios['time']:.2f}x, "
          f"bytes {ratios['bytes']:.3f}x")
    return ratios


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


def build_graph_model(directory: Path) -> int:
    """Write a TF1 graph of at least :data:`GRAPH_OPS` ops to ``directory``; returns its
    op count."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    tf1 = tf.compat.v1
    with tf.Graph().as_default() as graph, tf1.Session() as session:
        x = tf1.placeholder(tf.float32, [None, LAYER_WIDTH], name="features")
        layer = 0
        while len(graph.get_operations()) < GRAPH_OPS:
            with tf1.variable_scope(f"dense_{layer}"):
                weights = tf1.get_variable("kernel", [LAYER_WIDTH, LAYER_WIDTH])
                bias = tf1.get_variable("bias", [LAYER_WIDTH], initializer=tf1.zeros_initializer())
                x = tf.nn.relu(tf.matmul(x, weights) + bias)
            layer += 1
        scores = tf.identity(x, name="scores")
        session.run(tf1.global_variables_initializer())
        signature = tf1.saved_model.signature_def_utils.predict_signature_def(
            {"features": graph.get_tensor_by_name("features:0")}, {"scores": scores})
        builder = tf1.saved_model.Builder(str(directory))
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
        return len(graph.get_operations())


def median_ms(function: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls, in milliseconds (after one warm-up call)."""
    function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def check_section(directory: Path, runs: int) -> None:
    """Print the check's times on the graph model in ``directory``."""
    from savedmodel_widgets.runtimes.op_registry import op_registry
    from savedmodel_widgets.savedmodel.checks import check
    from savedmodel_widgets.savedmodel.reader import read_saved_model

    start = time.perf_counter()
    op_registry()
    registry_ms = (time.perf_counter() - start) * 1000
    info = read_saved_model(directory)
    ops = sum(count for _, count in info.main_meta_graph.op_counts)
    read_ms = median_ms(lambda: read_saved_model(directory), runs)
    plain_ms = median_ms(lambda: check(info, "eas"), runs)
    print(f"\n== check on a {ops:,}-op graph ({runs} runs, medians) ==")
    print(f"read_saved_model:               {read_ms:8.1f} ms")
    print(f"check(info, 'eas'):             {plain_ms:8.1f} ms")
    for runtime in CHECK_RUNTIMES:
        errors = sum(r.level == "error" for r in check(info, "eas", runtime=runtime))
        with_ms = median_ms(lambda runtime=runtime: check(info, "eas", runtime=runtime), runs)
        added = with_ms - plain_ms
        print(f"check(..., runtime={runtime!r}): {with_ms:8.1f} ms, {errors} errors; "
              f"the runtime adds {added:.1f} ms (target < {TARGET_MS:.0f} ms), "
              f"{added / read_ms:.2f} x reading the model")
    print(f"first load of the op registry:  {registry_ms:8.1f} ms (once per process)")


def bench_check(repeat: int) -> None:
    """The runtime check on a 20,000-op graph, against reading the model."""
    with tempfile.TemporaryDirectory() as temporary:
        graph_model = Path(temporary) / "graph_20000"
        print(f"writing a TF1 graph of {build_graph_model(graph_model):,} ops ...")
        check_section(graph_model, max(repeat, 7))


SECTIONS = {
    "bench_compatible_export": bench_compatible_export,
    "bench_runtime_verify": bench_runtime_verify,
    "bench_check": bench_check,
}
"""Each section of this file, run in order by :func:`main`."""


def main() -> None:
    run_sections(__doc__.splitlines()[0], SECTIONS, repeat=3)

if __name__ == "__main__":
    main()
