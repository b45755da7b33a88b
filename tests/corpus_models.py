"""The corpus of SavedModels that ``test_corpus.py`` holds the checks against.

Three kinds, named by where they come from (``tests/corpus/SOURCES.md`` says
more):

- ``tfx/...``: SavedModels that the TFX project writes and ships inside its
  published wheel (``tfx/components/testdata``), by TensorFlow 2.1 to 2.15.
  The wheel is downloaded once with pip into a cache folder
  (``SMW_CORPUS_CACHE``, else ``savedmodel-widgets/corpus`` in the user's cache
  directory) and checked against its SHA-256; nothing of it is checked in.
- ``written/...``: exports written in this test session by the writers
  installed here (Keras 3 ``model.export``, tf_keras ``model.save``,
  ``simple_save``, ``SavedModelBuilder``, ``tf.saved_model.save``, pbtxt), by
  the tests' own ``conftest.py``.
- ``extra/...``: any SavedModel under ``tests/corpus/`` or under the folder
  that ``SMW_CORPUS`` names.

Each may come damaged (``.../truncated-pb`` and the like): a copy in the
test's temporary folder with one file cut or removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent

TFX_REQUIREMENT = "tfx==1.21.0"
TFX_WHEEL = "tfx-1.21.0-py3-none-any.whl"
TFX_SHA256 = "51032ac740ac6d28185c2814ada5a7e917f3016bcd2043f03ba98e7e674e4165"
TFX_TESTDATA = "tfx/components/testdata/"
TFX_MODELS = {
    "tfx/estimator-tf2.1": "pusher/model_push/1584391735",
    "tfx/estimator-tf2.9": "trainer/current/Format-Serving/export/chicago-taxi/1646034756",
    "tfx/tfma-eval-tf2.9": "trainer/current/Format-TFMA/1646034758",
    "tfx/keras-tf2.3": "trainer/keras/Format-Serving",
    "tfx/transform-tf2.15": "transform/transform_graph/transform_fn",
}
"""Corpus name -> folder under ``tfx/components/testdata`` in the wheel. The
wheel's other SavedModels are byte-for-byte copies of these."""

WRITTEN = (
    "keras3", "module", "simple_save", "builder", "pbtxt", "multi_tag", "string_input",
    "sparse_input", "ragged_input", "fixed_batch", "unknown_rank", "table_simple_save",
    "table_legacy_init_op", "table_unread", "table_module",
)
"""The single-directory exports of ``conftest.EXPORTERS`` (each ``written/<name>``);
:data:`WRITTEN_HERE` adds others."""

CORPUS_ENV = "SMW_CORPUS"
CACHE_ENV = "SMW_CORPUS_CACHE"


# --- damage ----------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _variable_files(model: Path, pattern: str) -> list[Path]:
    files = sorted((model / "variables").glob(pattern))
    assert files, f"{model} has no variables/{pattern} to damage"
    return files


def truncate_graph(model: Path) -> None:
    """Cut ``saved_model.pb`` to half its bytes."""
    _truncate(model / "saved_model.pb")


def scramble_graph(model: Path) -> None:
    """Overwrite 64 bytes in the middle of ``saved_model.pb`` with 0xFF (a disk or copy error:
    the protobuf has wrong wire types and lengths from there on)."""
    path = model / "saved_model.pb"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def remove_data_shards(model: Path) -> None:
    """Remove ``variables/variables.data-*``."""
    for shard in _variable_files(model, "variables.data-*"):
        shard.unlink()


def truncate_data_shards(model: Path) -> None:
    """Cut each ``variables/variables.data-*`` to half its bytes."""
    for shard in _variable_files(model, "variables.data-*"):
        _truncate(shard)


def remove_index(model: Path) -> None:
    """Remove ``variables/variables.index``."""
    _variable_files(model, "variables.index")[0].unlink()


def remove_assets(model: Path) -> None:
    """Remove the files under ``assets/`` (vocabularies a lookup table is filled from)."""
    files = [f for f in (model / "assets").rglob("*") if f.is_file()]
    assert files, f"{model} has no assets to remove"
    for file in files:
        file.unlink()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated-pb": truncate_graph,
    "scrambled-pb": scramble_graph,
    "no-data-shard": remove_data_shards,
    "truncated-data-shard": truncate_data_shards,
    "no-index": remove_index,
    "no-assets": remove_assets,
}

DAMAGED = {
    "tfx/estimator-tf2.9": tuple(DAMAGES),  # the one with assets
    "tfx/keras-tf2.3": ("truncated-pb", "scrambled-pb", "no-data-shard", "no-index"),
    "written/keras3": tuple(damage for damage in DAMAGES if damage != "no-assets"),
    "written/builder": ("truncated-pb", "scrambled-pb", "no-data-shard", "no-index"),
    "written/tf_keras_save": ("no-data-shard",),
}
"""Which damages each model is tested with."""


# --- the models ------------------------------------------------------------------------


def extra_models() -> dict[str, Path]:
    """``extra/<folder>`` -> path for each SavedModel under ``tests/corpus`` or ``SMW_CORPUS``."""
    roots = [TESTS / "corpus"]
    if os.environ.get(CORPUS_ENV):
        roots.append(Path(os.environ[CORPUS_ENV]))
    found = {}
    for root in roots:
        for marker in sorted([*root.rglob("saved_model.pb"), *root.rglob("saved_model.pbtxt")]):
            found[f"extra/{marker.parent.relative_to(root).as_posix()}"] = marker.parent
    return found


def case_names() -> list[str]:
    """Every corpus case, intact and damaged, in a stable order."""
    intact = [*TFX_MODELS, *(f"written/{name}" for name in WRITTEN), *WRITTEN_HERE,
              *extra_models()]
    damaged = [f"{name}/{damage}" for name, damages in DAMAGED.items() for damage in damages]
    return intact + damaged


def cache_folder() -> Path:
    """Where the downloaded wheel and its extracted SavedModels are kept between runs."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "savedmodel-widgets" / "corpus"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tfx_testdata() -> Path:
    """The TFX wheel's ``tfx/components/testdata``, downloaded and extracted once.

    Raises
    ------
    RuntimeError
        When pip cannot download the wheel (no route to PyPI), or it is not the
        one whose SHA-256 is recorded.
    """
    cache = cache_folder()
    extracted = cache / "tfx-1.21.0"
    if (extracted / TFX_TESTDATA).is_dir():
        return extracted / TFX_TESTDATA
    wheel = cache / TFX_WHEEL
    if not wheel.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        completed = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--ignore-requires-python", "--disable-pip-version-check", "-d", str(cache),
             TFX_REQUIREMENT],
            capture_output=True, text=True, timeout=600, check=False,
        )
        if completed.returncode != 0 or not wheel.is_file():
            raise RuntimeError(f"pip could not download {TFX_REQUIREMENT}: "
                               f"{completed.stderr.strip()[-500:]}")
    if _sha256(wheel) != TFX_SHA256:
        raise RuntimeError(f"{wheel} is not the wheel whose SHA-256 is {TFX_SHA256}; "
                           "remove it and run again.")
    partial = cache / "tfx-1.21.0.partial"
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.startswith(TFX_TESTDATA)]
        archive.extractall(partial, members)
    partial.rename(extracted)
    return extracted / TFX_TESTDATA


def write_tf_keras_save(path: Path) -> None:
    """A tf_keras (Keras 2) model saved with ``model.save(path, save_format="tf")``."""
    import tf_keras

    inputs = tf_keras.Input((6,), name="pixels")
    hidden = tf_keras.layers.Dense(5, activation="relu", name="hidden")(inputs)
    outputs = tf_keras.layers.Dense(3, activation="softmax", name="probabilities")(hidden)
    tf_keras.Model(inputs, outputs).save(str(path), save_format="tf")


def _write_tf1(path: Path, tags: list[str], use_resource: bool, output_variable: bool) -> None:
    """``x [None, 4]`` -> ``x * w`` (or the variable ``w`` itself) with ``SavedModelBuilder``."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as session:
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        weight = tf1.get_variable("w", initializer=tf.ones([4]), use_resource=use_resource)
        output = weight if output_variable else tf.multiply(x, weight, name="y")
        session.run(tf1.global_variables_initializer())
        utils = tf1.saved_model.utils
        signature = tf1.saved_model.signature_def_utils.build_signature_def(
            {"x": utils.build_tensor_info(x)}, {"y": utils.build_tensor_info(output)},
            tf1.saved_model.PREDICT_METHOD_NAME)
        builder = tf1.saved_model.Builder(str(path))
        builder.add_meta_graph_and_variables(session, tags,
                                             signature_def_map={"serving_default": signature})
        builder.save()


def write_serve_train(path: Path) -> None:
    """A TF1 graph tagged ``serve`` and ``train``: a server wants a tag set of exactly serve."""
    _write_tf1(path, ["serve", "train"], use_resource=True, output_variable=False)


def write_ref_output(path: Path) -> None:
    """A TF1 graph whose output is a reference variable itself (dtype ``float32_ref``)."""
    _write_tf1(path, ["serve"], use_resource=False, output_variable=True)


WRITTEN_HERE: dict[str, Callable[[Path], None]] = {
    "written/tf_keras_save": write_tf_keras_save,
    "written/serve_train": write_serve_train,
    "written/ref_output": write_ref_output,
}
"""Models that no ``conftest.py`` export covers, written here when first needed."""


class Corpus:
    """Finds or makes the folder of each corpus case.

    Parameters
    ----------
    written : dict of str to str
        The session's exports (the ``saved_models`` fixture).
    scratch : Path
        A session folder for the models written here.
    """

    def __init__(self, written: dict[str, str], scratch: Path) -> None:
        self._written = {f"written/{name}": Path(written[name]) for name in WRITTEN}
        self._scratch = scratch
        self._tfx_error = ""

    def model(self, name: str) -> Path:
        """The intact model ``name``; raises RuntimeError when the TFX wheel cannot be had."""
        if name in self._written:
            return self._written[name]
        if name in WRITTEN_HERE:
            path = self._scratch / name.split("/")[-1]
            WRITTEN_HERE[name](path)
            self._written[name] = path
            return path
        if name in TFX_MODELS:
            if self._tfx_error:
                raise RuntimeError(self._tfx_error)
            try:
                return tfx_testdata() / TFX_MODELS[name]
            except RuntimeError as error:
                self._tfx_error = str(error)
                raise
        return extra_models()[name]

    def case(self, name: str, scratch: Path) -> Path:
        """The folder of case ``name``: the model itself, or a damaged copy in ``scratch``."""
        base, _, damage = name.rpartition("/")
        if damage not in DAMAGES:
            return self.model(name)
        copy = scratch / "damaged"
        shutil.copytree(self.model(base), copy)
        DAMAGES[damage](copy)
        return copy


def describe(value: Any) -> str:
    """One line of at most 300 characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= 300 else text[:299] + "…"

