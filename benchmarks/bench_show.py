"""How fast is ``python -m savedmodel_widgets show`` next to ``saved_model_cli show --all``?

Builds a Keras 3 model with about 50 MB of float32 weights (12.6 million
parameters in Dense layers), saves it as a SavedModel, then times cold runs
(each a new process) of both commands on it and prints the median of each and
their ratio; the target is ``saved_model_cli`` at least 30 times slower. It
also reports whether ``import savedmodel_widgets`` loads TensorFlow, pandas or
ipywidgets. It prints and never asserts.

Usage::

    python benchmarks/bench_show.py [--runs 5] [--warmup 1] [--dir DIR]

With ``--dir``, the SavedModel is written there, or reused if it is already
there; without it, it goes to a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from checkout_env import checkout_env  # noqa: E402

TARGET_RATIO = 30.0
HEAVY = ("tensorflow", "pandas", "ipywidgets")

# 1024 -> 2048 -> 2048 -> 2048 -> 1024: 12,590,080 float32 parameters, 50.4 MB.
INPUT_WIDTH = 1024
LAYER_WIDTHS = (2048, 2048, 2048, 1024)


def build_saved_model(directory: Path) -> None:
    """Write the ~50 MB Keras 3 model to ``directory`` with ``tf.saved_model.save``.

    A ``tf.Module`` holds the model and serves it as ``features`` -> ``scores``.
    (Keras 3.15's ``model.export`` writes every weight twice, about 100 MB here.)
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(INPUT_WIDTH,), dtype="float32", name="features")
    x = inputs
    for number, width in enumerate(LAYER_WIDTHS[:-1]):
        x = keras.layers.Dense(width, activation="relu", name=f"dense_{number}")(x)
    outputs = keras.layers.Dense(LAYER_WIDTHS[-1], activation="softmax", name="scores")(x)
    model = keras.Model(inputs, outputs, name="bench_dense")

    class Serving(tf.Module):
        def __init__(self, model: keras.Model) -> None:
            super().__init__()
            self.model = model

        @tf.function(
            input_signature=[tf.TensorSpec([None, INPUT_WIDTH], tf.float32, name="features")]
        )
        def serve(self, features):
            return {"scores": self.model(features)}

    print(f"building a SavedModel with {model.count_params():,} parameters in {directory}")
    serving = Serving(model)
    tf.saved_model.save(serving, str(directory), signatures={"serving_default": serving.serve})


def directory_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def saved_model_cli() -> list[str]:
    """The ``saved_model_cli`` command (installed with TensorFlow)."""
    found = shutil.which("saved_model_cli")
    if found:
        return [found]
    return [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]


def time_command(command: list[str], runs: int, warmup: int) -> list[float] | None:
    """Wall-clock seconds of ``runs`` runs of ``command``, each a new process.

    The ``warmup`` runs first are not counted: they bring both commands' files
    into the operating system's cache alike. Returns None when a run fails.
    """
    seconds = []
    for run in range(warmup + runs):
        start = time.perf_counter()
        result = subprocess.run(
            command, env=checkout_env(), capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            print(f"  failed (exit code {result.returncode}): {' '.join(command)}")
            print("  " + (result.stderr.strip() or result.stdout.strip())[-2000:])
            return None
        if run >= warmup:
            seconds.append(elapsed)
    return seconds


def import_report(runs: int) -> tuple[dict[str, bool], float] | None:
    """Which heavy packages ``import savedmodel_widgets`` loads, and its median seconds."""
    code = (
        "import json, sys, time\n"
        "start = time.perf_counter()\n"
        "import savedmodel_widgets\n"
        "elapsed = time.perf_counter() - start\n"
        f"print(json.dumps({{'loaded': {{m: m in sys.modules for m in {HEAVY!r}}},"
        " 'seconds': elapsed}))\n"
    )
    loaded: dict[str, bool] = {}
    seconds = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=checkout_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            print(f"  import savedmodel_widgets failed: {result.stderr.strip()[-2000:]}")
            return None
        report = json.loads(result.stdout.strip().splitlines()[-1])
        loaded = report["loaded"]
        seconds.append(report["seconds"])
    return loaded, statistics.median(seconds)


def benchmark(directory: Path, runs: int, warmup: int) -> int:
    if (directory / "saved_model.pb").is_file():
        print(f"reusing the SavedModel in {directory}")
    else:
        build_saved_model(directory)
    print(f"SavedModel size on disk: {directory_bytes(directory) / 1e6:.1f} MB")

    ours_command = [sys.executable, "-m", "savedmodel_widgets", "show", str(directory)]
    theirs_command = [*saved_model_cli(), "show", "--dir", str(directory), "--all"]
    print(f"timing {runs} cold runs of each (after {warmup} uncounted)...")
    ours = time_command(ours_command, runs, warmup)
    theirs = time_command(theirs_command, runs, warmup)
    failed = ours is None or theirs is None

    if ours is not None:
        print(f"python -m savedmodel_widgets show DIR   median {statistics.median(ours):.3f} s")
    if theirs is not None:
        print(f"saved_model_cli show --dir DIR --all    median {statistics.median(theirs):.3f} s")
    if ours is not None and theirs is not None:
        ratio = statistics.median(theirs) / statistics.median(ours)
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(
            f"ratio saved_model_cli / ours: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x: {verdict})"
        )

    imports = import_report(runs)
    if imports is None:
        failed = True
    else:
        loaded, seconds = imports
        listed = ", ".join(f"{name} {'yes' if hit else 'no'}" for name, hit in loaded.items())
        print(f"import savedmodel_widgets loads: {listed} (median {seconds * 1000:.0f} ms)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument(
        "--warmup", type=int, default=1, help="uncounted runs of each command first"
    )
    parser.add_argument(
        "--dir", type=Path, help="where to write the SavedModel, or reuse the one already there"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.dir is not None:
        return benchmark(args.dir.resolve(), args.runs, args.warmup)
    with tempfile.TemporaryDirectory(prefix="bench_show_") as scratch:
        return benchmark(Path(scratch) / "model", args.runs, args.warmup)


if __name__ == "__main__":
    sys.exit(main())
