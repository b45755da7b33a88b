"""Exports for the runtime one deploys to, against today's default export.

Section ``bench_compatible_export``: on a Keras 3 model of about 2.9M parameters
(Embedding, Conv1D, BatchNormalization, pooling, Dense), from one run, the median seconds
and bytes on disk of ``export(spec)`` for ``eas:tensorflow_cpu_1.15`` (freeze, rebuild
with reference variables, op check, SavedModelBuilder) and of the default export
(``runtime="installed"``), and their ratios. A fresh model per repeat, so each export
traces its signature once, as a user's first export does.

    python benchmarks/bench_runtime.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_compatible_export(args.repeat)


if __name__ == "__main__":
    main()
