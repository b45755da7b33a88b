"""Converting files with ``convert`` against the reference's hand-written conversions.

Prints, from one run, the median seconds and bytes on disk of:

- a Keras 3 ``.h5`` of about 12M parameters: ``convert(h5, dir)`` against the
  reference's way in Keras 3, ``keras.models.load_model`` + ``model.export``;
- a TF1 ``tf.train.Saver`` checkpoint of the same size: ``convert(ckpt_dir, dir, ...)``
  against ``import_meta_graph`` + ``saver.restore`` + ``simple_save``;
- listing a checkpoint of 2,000 variables: ``list_checkpoint_variables`` (reads
  the index, no TensorFlow) against ``tf.train.list_variables``.

Each conversion includes loading the file; ours also validates, writes
atomically and reads the export back.

    python benchmarks/bench_convert.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

WIDTHS = (2000, 3000, 2000, 10)


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def median_seconds(run: Callable[[Path], None], work: Path, repeat: int) -> tuple[float, int]:
    """Median wall time of ``run(target)`` over fresh targets, and the bytes of the last."""
    times, size = [], 0
    for index in range(repeat):
        target = work / f"{run.__name__}_{index}"
        started = time.perf_counter()
        run(target)
        times.append(time.perf_counter() - started)
        size = directory_bytes(target)
        if index < repeat - 1:
            shutil.rmtree(target)
    return statistics.median(times), size


def write_keras_h5(path: Path) -> None:
    import keras

    inputs = keras.Input((WIDTHS[0],), name="features")
    hidden = inputs
    for index, width in enumerate(WIDTHS[1:-1]):
        hidden = keras.layers.Dense(width, activation="relu", name=f"dense_{index}")(hidden)
    outputs = keras.layers.Dense(WIDTHS[-1], activation="softmax", name="scores")(hidden)
    keras.Model(inputs, outputs).save(path)


def write_tf1_checkpoint(directory: Path, variables: int = 0) -> None:
    """A TF1 graph x -> dense layers -> scores, saved with a Saver; ``variables`` extra
    small variables make a checkpoint with many entries."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, WIDTHS[0]], name="x")
        hidden = x
        for index, (rows, cols) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:], strict=True)):
            weights = tf1.get_variable(f"W{index}", [rows, cols])
            hidden = tf.matmul(hidden, weights)
        tf.nn.softmax(hidden, name="scores")
        for index in range(variables):
            tf1.get_variable(f"extra/v{index}", [4])
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            saver.save(session, str(directory / "model.ckpt"), global_step=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    import savedmodel_widgets as smw

    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        h5 = work / "model.h5"
        write_keras_h5(h5)
        parameters = keras.models.load_model(h5, compile=False).count_params()

        def ours_h5(target: Path) -> None:
            smw.convert(h5, target)

        def reference_h5(target: Path) -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # export prints its endpoints
                keras.models.load_model(h5, compile=False).export(str(target))

        ours, ours_bytes = median_seconds(ours_h5, work, args.repeat)
        theirs, their_bytes = median_seconds(reference_h5, work, args.repeat)
        print(f"Keras .h5, {parameters / 1e6:.1f}M parameters:")
        print(f"  convert             {ours:7.2f} s  {ours_bytes / 1e6:7.1f} MB")
        print(f"  load_model + export {theirs:7.2f} s  {their_bytes / 1e6:7.1f} MB")
        print(f"  ratio: time {ours / theirs:.2f}x, bytes {ours_bytes / their_bytes:.2f}x")

        checkpoint = work / "tf1"
        checkpoint.mkdir()
        write_tf1_checkpoint(checkpoint)

        def ours_tf1(target: Path) -> None:
            with smw.load_model_file(checkpoint) as loaded:
                smw.convert(loaded, target, inputs={"image": "x:0"},
                            outputs={"scores": "scores:0"})

        def reference_tf1(target: Path) -> None:
            graph = tf.Graph()
            with graph.as_default():
                saver = tf.compat.v1.train.import_meta_graph(
                    str(checkpoint / "model.ckpt-1.meta"), clear_devices=True)
                with tf.compat.v1.Session(graph=graph) as session:
                    saver.restore(session, str(checkpoint / "model.ckpt-1"))
                    tf.compat.v1.saved_model.simple_save(
                        session, str(target),
                        inputs={"image": graph.get_tensor_by_name("x:0")},
                        outputs={"scores": graph.get_tensor_by_name("scores:0")})

        ours, ours_bytes = median_seconds(ours_tf1, work, args.repeat)
        theirs, their_bytes = median_seconds(reference_tf1, work, args.repeat)
        print("TF1 checkpoint, same size:")
        print(f"  convert                          {ours:7.2f} s  {ours_bytes / 1e6:7.1f} MB")
        print(f"  import_meta_graph + simple_save  {theirs:7.2f} s  {their_bytes / 1e6:7.1f} MB")
        print(f"  ratio: time {ours / theirs:.2f}x, bytes {ours_bytes / their_bytes:.2f}x")

        many = work / "many"
        many.mkdir()
        write_tf1_checkpoint(many, variables=2000)
        prefix = str(many / "model.ckpt-1")
        listing = []
        for lister in (lambda: smw.list_checkpoint_variables(many),
                       lambda: tf.train.list_variables(prefix)):
            times = []
            for _ in range(max(args.repeat, 5)):
                started = time.perf_counter()
                count = len(lister())
                times.append(time.perf_counter() - started)
            listing.append(statistics.median(times))
        print(f"Listing a checkpoint of {count} variables:")
        print(f"  list_checkpoint_variables {listing[0] * 1e3:7.1f} ms (no TensorFlow)")
        print(f"  tf.train.list_variables   {listing[1] * 1e3:7.1f} ms")
        print(f"  ratio: {listing[0] / listing[1]:.2f}x")


if __name__ == "__main__":
    main()
