"""Time listing the candidate tensors of a TF1 graph of about 20,000 ops.

Prints the median seconds of ``list_candidates`` on a fresh source (nothing
cached) and its ratio to walking the graph's ops in Python alone
(``graph.get_operations()`` and every op's outputs), the least any listing does.
Target: well under 0.2 s.

    python benchmarks/bench_candidates.py [--ops 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def build_graph(tf, ops: int):
    """A chain of dense steps with a placeholder input and a softmax output."""
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        hidden = tf1.placeholder(tf.float32, [None, 8], name="features")
        while len(graph.get_operations()) < ops - 2:
            hidden = tf.nn.relu(hidden * 1.0001 + 0.5)
        tf.nn.softmax(hidden, name="scores")
    return graph


def median_seconds(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def graph_arguments(description: str) -> argparse.Namespace:
    """``--ops`` (graph size) and ``--repeat`` (runs per median) from the command line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def main() -> None:
    args = graph_arguments(__doc__.splitlines()[0])

    import tensorflow as tf

    from savedmodel_widgets.sources.graphs import GraphSource

    graph = build_graph(tf, args.ops)
    count = len(graph.get_operations())

    def walk() -> None:
        for op in graph.get_operations():
            for tensor in op.outputs:
                tensor.dtype  # noqa: B018

    def listing() -> None:
        GraphSource(graph, "graph").candidates()

    walk_seconds = median_seconds(walk, args.repeat)
    list_seconds = median_seconds(listing, args.repeat)
    first_shapes = median_seconds(
        lambda: [c.shape for c in GraphSource(graph, "graph").candidates()[:50]], args.repeat
    )
    print(f"graph: {count} ops")
    print(f"list_candidates: {list_seconds:.3f} s (target < 0.2 s)")
    print(f"python walk over ops: {walk_seconds:.3f} s; ratio {list_seconds / walk_seconds:.2f}x")
    print(f"listing plus the first 50 shapes (what a picker shows): {first_shapes:.3f} s")


if __name__ == "__main__":
    main()
