"""Time the ExportWidget on a TF1 graph of about 20,000 ops.

Prints, each as the median of several runs in one process:

- building an ExportWidget for the graph, and its ratio to listing the
  candidates alone (``list_candidates`` on a fresh source), the least any
  picker must do;
- one filter-as-you-type step: setting the output filter box to a longer
  prefix, as each keystroke does (target: under 50 ms).

    python benchmarks/bench_widget.py [--ops 20000] [--repeat 5]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_candidates import build_graph, graph_arguments, median_seconds  # noqa: E402

TYPED = "relu_1234"
"""What the benchmark types into the filter box, one character at a time."""


def main() -> None:
    args = graph_arguments(__doc__.splitlines()[0])

    import tensorflow as tf

    from savedmodel_widgets.sources.graphs import GraphSource
    from savedmodel_widgets.widgets import ExportWidget

    graph = build_graph(tf, args.ops)
    session = tf.compat.v1.Session(graph=graph)
    count = len(graph.get_operations())

    listing = median_seconds(lambda: GraphSource(session, "session").candidates(), args.repeat)
    building = median_seconds(lambda: ExportWidget(session, namespace={}), args.repeat)

    widget = ExportWidget(session, namespace={})
    picker = widget.signature_list.editors[0].outputs
    keystrokes = []
    for _ in range(args.repeat):
        for end in range(1, len(TYPED) + 1):
            started = time.perf_counter()
            picker.filter.value = TYPED[:end]
            keystrokes.append(time.perf_counter() - started)
        picker.filter.value = ""
    typing = statistics.median(keystrokes)
    slowest = max(keystrokes)

    print(f"graph: {count:,} ops, {len(picker.candidates):,} output candidates")
    print(f"list_candidates alone:   {listing * 1000:7.1f} ms")
    print(f"build the ExportWidget:  {building * 1000:7.1f} ms  "
          f"({building / listing:.2f}x listing the candidates)")
    print(f"filter, one keystroke:   {typing * 1000:7.1f} ms median, {slowest * 1000:.1f} ms "
          f"slowest of {len(keystrokes)} (target < 50 ms)")
    session.close()


if __name__ == "__main__":
    main()
