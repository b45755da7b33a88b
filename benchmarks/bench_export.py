"""Our export against plain TensorFlow on a Keras 3 model of about 25M parameters.

Prints, from one run, the median seconds and the bytes on disk of:

- ``export(spec)`` (validation, tracing, writing, the atomic rename and reading
  the export back);
- raw ``tf.saved_model.save(model, dir, signatures=...)`` with the same
  signature (a ``tf.function`` over the model with the same input spec);
- Keras ``model.export(dir)`` (bytes only: it writes every weight twice).

Targets: time <= 1.1x raw, bytes <= 1.02x raw.

    python benchmarks/bench_export.py [--repeat 3]
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


def build_model():
    """Dense 2500 -> 4000 -> 3000 -> 1000 -> 10: about 25.1M parameters."""
    import keras

    inputs = keras.Input((2500,), name="features")
    hidden = inputs
    for index, width in enumerate((4000, 3000, 1000)):
        hidden = keras.layers.Dense(width, activation="relu", name=f"dense_{index}")(hidden)
    outputs = keras.layers.Dense(10, activation="softmax", name="scores")(hidden)
    return keras.Model(inputs, outputs)


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import tensorflow as tf

    from savedmodel_widgets import export, suggest_spec

    model = build_model()
    params = model.count_params()
    root = Path(tempfile.mkdtemp(prefix="bench_export_"))

    def ours(path: Path) -> None:
        export(suggest_spec(model, path))

    def raw(path: Path) -> None:
        spec = tf.TensorSpec((None, 2500), tf.float32, name="features")
        serve = tf.function(lambda features: {"scores": model(features, training=False)},
                            input_signature=[spec])
        tf.saved_model.save(model, str(path), signatures={"serving_default": serve})

    def keras_export(path: Path) -> None:
        model.export(str(path), verbose=False)

    times: dict[str, list[float]] = {"ours": [], "raw": []}
    sizes: dict[str, int] = {}
    try:
        for run in range(args.repeat):
            for name, function in (("ours", ours), ("raw", raw)):  # alternate, same conditions
                path = root / f"{name}_{run}"
                started = time.perf_counter()
                function(path)
                times[name].append(time.perf_counter() - started)
                sizes[name] = size_of(path)
                shutil.rmtree(path)
        keras_export(root / "keras")
        sizes["keras"] = size_of(root / "keras")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    ours_s, raw_s = statistics.median(times["ours"]), statistics.median(times["raw"])
    print(f"model: {params / 1e6:.1f}M parameters ({params * 4 / 1e6:.1f} MB of float32)")
    print(f"time   ours {ours_s:.2f} s, raw tf.saved_model.save {raw_s:.2f} s: "
          f"{ours_s / raw_s:.2f}x (target <= 1.1x)")
    print(f"bytes  ours {sizes['ours'] / 1e6:.1f} MB, raw {sizes['raw'] / 1e6:.1f} MB: "
          f"{sizes['ours'] / sizes['raw']:.3f}x (target <= 1.02x)")
    print(f"bytes  Keras model.export {sizes['keras'] / 1e6:.1f} MB: ours is "
          f"{sizes['ours'] / sizes['keras']:.2f}x of it")


if __name__ == "__main__":
    main()
