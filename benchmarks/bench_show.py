"""How fast is ``python -m savedmodel_widgets show`` next to ``saved_model_cli show --all``?

Two SavedModels: a Keras 3 model with about 50 MB of float32 weights (12.6
million parameters in Dense layers), and a TF1 graph of 300 dense layers written
as a ``saved_model.pbtxt`` of about 4.8 MB. For each, cold runs (each a new
process) of both commands are timed, and the median of each and their ratio are
printed, with the target ratio: ``saved_model_cli`` at least 60 times slower on
the 50 MB model, 20 times on the text one. It also reports whether
``import savedmodel_widgets`` loads TensorFlow, pandas or ipywidgets. It prints
and never asserts.

Usage::

    python benchmarks/bench_show.py [--runs 5] [--warmup 1] [--dir DIR]

With ``--dir``, the SavedModels are written under it (``model/``, ``pbtxt/``), or
reused if they are already there; without it, they go to a temporary directory
that is removed afterwards.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from checkout_env import checkout_env  # noqa: E402

HEAVY = ("tensorflow", "pandas", "ipywidgets")

# 1024 -> 2048 -> 2048 -> 2048 -> 1024: 12,590,080 float32 parameters, 50.4 MB.
INPUT_WIDTH = 1024
LAYER_WIDTHS = (2048, 2048, 2048, 1024)
# 300 layers of 16 -> 16: about 7,500 graph nodes, a saved_model.pbtxt of 4.8 MB.
PBTXT_LAYERS = 300
PBTXT_WIDTH = 16


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


def build_pbtxt_model(directory: Path) -> None:
    """Write a TF1 graph of :data:`PBTXT_LAYERS` dense layers with ``as_text=True``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    tf1 = tf.compat.v1
    print(f"building a saved_model.pbtxt of {PBTXT_LAYERS} layers in {directory}")
    with tf.Graph().as_default(), tf1.Session() as session:
        features = tf1.placeholder(tf.float32, [None, PBTXT_WIDTH], name="features")
        hidden = features
        for number in range(PBTXT_LAYERS):
            kernel = tf1.get_variable(f"dense_{number}/kernel", [PBTXT_WIDTH, PBTXT_WIDTH])
            bias = tf1.get_variable(
                f"dense_{number}/bias", [PBTXT_WIDTH], initializer=tf1.zeros_initializer()
            )
            hidden = tf.nn.relu(hidden @ kernel + bias)
        session.run(tf1.global_variables_initializer())
        signature = tf1.saved_model.predict_signature_def(
            {"features": features}, {"scores": hidden}
        )
        builder = tf1.saved_model.Builder(str(directory))
        builder.add_meta_graph_and_variables(
            session, ["serve"], signature_def_map={"serving_default": signature}
        )
        builder.save(as_text=True)


@dataclass(frozen=True)
class Case:
    """A SavedModel to time ``show`` on, and the ratio to reach."""

    label: str
    directory: str
    model_file: str
    build: Callable[[Path], None]
    target_ratio: float


CASES = (
    Case("50 MB SavedModel", "model", "saved_model.pb", build_saved_model, 60.0),
    Case("4.8 MB saved_model.pbtxt", "pbtxt", "saved_model.pbtxt", build_pbtxt_model, 20.0),
)


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


def time_case(case: Case, directory: Path, runs: int, warmup: int) -> bool:
    """Build (or reuse) the case's SavedModel, time both commands; False when one failed."""
    if (directory / case.model_file).is_file():
        print(f"reusing the SavedModel in {directory}")
    else:
        case.build(directory)
    print(f"{case.label}: {directory_bytes(directory) / 1e6:.1f} MB on disk")
    ours_command = [sys.executable, "-m", "savedmodel_widgets", "show", str(directory)]
    theirs_command = [*saved_model_cli(), "show", "--dir", str(directory), "--all"]
    print(f"timing {runs} cold runs of each (after {warmup} uncounted)...")
    ours = time_command(ours_command, runs, warmup)
    theirs = time_command(theirs_command, runs, warmup)
    if ours is not None:
        print(f"python -m savedmodel_widgets show DIR   median {statistics.median(ours):.3f} s")
    if theirs is not None:
        print(f"saved_model_cli show --dir DIR --all    median {statistics.median(theirs):.3f} s")
    if ours is None or theirs is None:
        return False
    ratio = statistics.median(theirs) / statistics.median(ours)
    verdict = "met" if ratio >= case.target_ratio else "NOT met"
    print(
        f"{case.label}: ratio saved_model_cli / ours: {ratio:.1f}x "
        f"(target >= {case.target_ratio:.0f}x: {verdict})"
    )
    return True


def compile_package() -> None:
    """Write the package's bytecode, as ``pip install`` does.

    Python reads ``.pyc`` files even under ``PYTHONDONTWRITEBYTECODE``, which would
    otherwise make every timed run compile the package's sources again, while
    TensorFlow's bytecode was written when it was installed.
    """
    package = Path(__file__).resolve().parent.parent / "savedmodel_widgets"
    compileall.compile_dir(str(package), quiet=1)


def benchmark(root: Path, runs: int, warmup: int) -> int:
    compile_package()
    failed = False
    for case in CASES:
        failed |= not time_case(case, root / case.directory, runs, warmup)
        print()
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
        "--dir", type=Path,
        help="where to write the SavedModels, or reuse the ones already there",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.dir is not None:
        return benchmark(args.dir.resolve(), args.runs, args.warmup)
    with tempfile.TemporaryDirectory(prefix="bench_show_") as scratch:
        return benchmark(Path(scratch), args.runs, args.warmup)


if __name__ == "__main__":
    sys.exit(main())
