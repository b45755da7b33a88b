"""What checking for a runtime costs: the runtime check on a 20,000-op graph.

Section "check on a 20,000-op graph": a TF1 graph of dense layers (resource variables, as
TensorFlow 2.21 writes them, so a check for TensorFlow 1.15 finds an unknown attribute on
thousands of nodes: the most work the check does) is written with the SavedModel builder.
Then, in this process, without TensorFlow:

- reading it (``read_saved_model``), the median of ``--runs``;
- ``check(info, "eas")`` and ``check(info, "eas", runtime=...)`` for an old and the
  installed runtime, the median of each; what the runtime adds is the difference;
- the first load of the op registry (package data, once per process).

It prints milliseconds and the ratio of the added time to reading the model, with the
target (under 50 ms added); it never asserts.

Usage::

    python benchmarks/bench_runtime.py [--runs 7] [--dir DIR]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GRAPH_OPS = 20_000
LAYER_WIDTH = 4
RUNTIMES = ("eas:tensorflow_cpu_1.15", "installed")
TARGET_MS = 50.0


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
    """Print the section "check on a 20,000-op graph"."""
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
    for runtime in RUNTIMES:
        errors = sum(r.level == "error" for r in check(info, "eas", runtime=runtime))
        with_ms = median_ms(lambda runtime=runtime: check(info, "eas", runtime=runtime), runs)
        added = with_ms - plain_ms
        print(f"check(..., runtime={runtime!r}): {with_ms:8.1f} ms, {errors} errors; "
              f"the runtime adds {added:.1f} ms (target < {TARGET_MS:.0f} ms), "
              f"{added / read_ms:.2f} x reading the model")
    print(f"first load of the op registry:  {registry_ms:8.1f} ms (once per process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", type=Path, help="keep (or reuse) the models here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = args.dir or Path(temporary)
        graph_model = root / "graph_20000"
        if not (graph_model / "saved_model.pb").exists():
            print(f"writing a TF1 graph of {build_graph_model(graph_model):,} ops ...")
        check_section(graph_model, args.runs)


if __name__ == "__main__":
    main()
