"""Model files -> live model -> ExportSpec -> SavedModel.

:func:`load_model_file` opens a Keras ``.h5`` (Keras 2 or 3) or ``.keras``
file, a TF1 checkpoint (directory, prefix or ``.meta``) or a TF2 object
checkpoint into a live model that the export backend understands, so the
tensors, aliases and signature names are picked exactly as for a model built
in the notebook. :func:`convert` does all of it in one call.

Examples
--------
>>> result = convert("mnist.h5", "export/mnist", version="auto")          # doctest: +SKIP
>>> loaded = load_model_file("train_dir")                                 # doctest: +SKIP
>>> list_candidates(loaded.model)[:3]                                     # doctest: +SKIP
>>> spec = loaded.spec("export/lr", inputs={"image": "x:0"},              # doctest: +SKIP
...                    outputs={"scores": "y:0"}, signature_name="predict_images")
>>> export(spec)                                                          # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._load_code import (
    checkpoint_read_code,
    keras_load_code,
    meta_graph_load_code,
    saver_restore_code,
    weights_load_code,
)
from .errors import ConvertError, ModelCodeNeededError, UnknownCustomObjectError
from .exporter import export
from .runtimes.catalogue import INSTALLED
from .savedmodel.info import DEFAULT_SIGNATURE
from .savedmodel.layout import KERAS_SUFFIXES
from .sources import Source, model_kind, open_source
from .sources._source import suggest_aliases
from .sources.checkpoint_files import CheckpointFiles, find_checkpoint, list_checkpoint_variables
from .sources.file_search import FoundModelFile, find_model_files
from .sources.keras_files import HDF5_SIGNATURE, ZIP_SIGNATURE, KerasFile, read_keras_file
from .spec import ExportProgress, ExportResult, ExportSpec, SignatureSpec, Version
from .verifier import Inputs

__all__ = [
    "FoundModelFile",
    "ModelFile",
    "convert",
    "find_model_files",
    "list_checkpoint_variables",
    "load_model_file",
]

FileFormat = Literal["keras-h5", "keras", "keras-weights", "tf1-checkpoint", "tf2-checkpoint"]
FORMAT_LABELS: dict[str, str] = {
    "keras-h5": "Keras HDF5 model (.h5)",
    "keras": "Keras 3 model (.keras)",
    "keras-weights": "Keras weights (.h5)",
    "tf1-checkpoint": "TF1 checkpoint (tf.compat.v1.train.Saver)",
    "tf2-checkpoint": "TF2 object checkpoint (tf.train.Checkpoint)",
}
ModelArgument = Any
"""A built model or session, or a function without arguments that returns one."""
Picks = Mapping[str, str] | Iterable[str | tuple[str | None, str]] | None
"""``{alias: candidate}``; or candidate names and ``(alias, candidate)`` pairs, where a
name alone or an alias of None takes the candidate's suggested alias; or None for the
backend's suggestion."""


@dataclass(frozen=True, eq=False)
class ModelFile:
    """A model file opened into a live model.

    Attributes
    ----------
    path : pathlib.Path
        The file or checkpoint prefix that was read.
    format : str
        One of ``keras-h5``, ``keras``, ``keras-weights``, ``tf1-checkpoint``,
        ``tf2-checkpoint``.
    model : object
        The live model: a Keras 3 or tf_keras model, a ``tf.compat.v1.Session``
        holding the restored graph, or the model object given for a TF2 checkpoint.
    loader : str
        What loaded it, e.g. ``Keras 3.15.1`` or ``tf_keras 2.21.0``.
    notes : tuple of str
        Things worth knowing (why tf_keras was used, which ``.meta`` was taken).
    load_code : str
        The plain TensorFlow code that loads the file the same way.
    source_name : str
        The variable name ``load_code`` gives the model (``model`` or ``sess``).
    """

    path: Path
    format: FileFormat
    model: Any = field(repr=False)
    loader: str
    notes: tuple[str, ...] = ()
    load_code: str = field(default="", repr=False)
    source_name: str = "model"

    @functools.cached_property
    def source(self) -> Source:
        """The model wrapped for the export backend (candidates, suggestions); made once."""
        return open_source(self.model)

    def describe(self) -> str:
        """One line: the file, its format and what loaded it."""
        return f"{self.path.name}: {FORMAT_LABELS[self.format]}, loaded with {self.loader}"

    def spec(
        self,
        directory: str | os.PathLike[str],
        *,
        inputs: Picks = None,
        outputs: Picks = None,
        signature_name: str = DEFAULT_SIGNATURE,
        method: str = "predict",
        version: Version = None,
        overwrite: bool = False,
        runtime: str = INSTALLED,
    ) -> ExportSpec:
        """An :class:`ExportSpec` for this model, with the backend's defaults where not given.

        Parameters
        ----------
        directory : str or os.PathLike
            Where the SavedModel goes.
        inputs, outputs : Mapping[str, str] or iterable, optional
            ``{alias: candidate name}``; or candidate names and ``(alias,
            candidate name)`` pairs, where a name alone (or an alias of None)
            keeps the candidate's suggested alias, made unique. Default: the
            backend's suggestion.
        signature_name, method, version, overwrite, runtime
            As for :class:`SignatureSpec` and :class:`ExportSpec`.
        """
        source = self.source
        suggestion = functools.cache(source.suggest)  # listed only when a side is not given
        signature = SignatureSpec(
            signature_name,
            _picks(inputs, lambda: suggestion()[0], source.input_candidate),
            _picks(outputs, lambda: suggestion()[1], source.output_candidate),
            method,
        )
        return ExportSpec(self.model, (signature,), directory, version, overwrite=overwrite,
                          source_name=self.source_name, load_code=self.load_code,
                          runtime=runtime)

    def close(self) -> None:
        """Close the session of a restored TF1 checkpoint (other models need nothing)."""
        if model_kind(self.model) == "session" and self.format == "tf1-checkpoint":
            self.model.close()

    def __enter__(self) -> ModelFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repr_html_(self) -> str:
        from html import escape

        notes = "".join(f"<li>{escape(note)}</li>" for note in self.notes)
        return (f"<p>{escape(self.describe())}</p>"
                + (f"<ul>{notes}</ul>" if notes else "")
                + f"<p>{escape(self.source.describe())}</p>")


def _picks(picks: Picks, suggested: Callable[[], dict[str, str]],
           find: Callable[[str], Any]) -> list[tuple[str, str]]:
    """``(alias, candidate name)`` pairs, in order, with the missing aliases suggested."""
    if picks is None:
        return list(suggested().items())
    if isinstance(picks, Mapping):
        return [(str(alias), str(name)) for alias, name in picks.items()]
    pairs = [(None, item) if isinstance(item, str) else item for item in picks]
    given = [alias for alias, _ in pairs if alias is not None]
    aliases = iter(suggest_aliases([find(name) for alias, name in pairs if alias is None],
                                   taken=given))
    return [(alias or next(aliases), name) for alias, name in pairs]


def load_model_file(
    path: str | os.PathLike[str],
    *,
    model: ModelArgument = None,
    custom_objects: Mapping[str, Any] | None = None,
    namespace: Mapping[str, Any] | None = None,
    trust: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ModelFile:
    """Open a model file into a live model for export.

    Parameters
    ----------
    path : str or os.PathLike
        A Keras ``.h5`` (written by Keras 2 or 3) or ``.keras`` file; a TF1
        checkpoint directory, prefix (``model.ckpt-1000``) or ``.meta`` file;
        or a TF2 ``tf.train.Checkpoint`` directory or prefix. In a directory
        the latest checkpoint is taken, found from the files (the
        ``checkpoint`` file's absolute paths are not trusted).
    model : object or callable, optional
        The model's code, for files that hold values only: a built model (or
        a function that builds one) for a TF2 checkpoint or a weights-only
        ``.h5``; a ``tf.compat.v1.Session`` whose graph was rebuilt, for a TF1
        checkpoint without ``.meta``. For a whole Keras model file it means:
        load only the weights into this model (no code from the file runs).
    custom_objects : Mapping[str, object], optional
        Custom Keras layer classes and functions, by the names the file uses.
    namespace : Mapping[str, object], optional
        Where else to look for the custom classes and functions the file names,
        such as a notebook's ``globals()``: each one the file needs and
        ``custom_objects`` lacks is taken from here by its name.
    trust : bool
        Load ``Lambda`` layers, which run Python code stored in the file.
        Without it such a file is refused. Default False.
    progress : callable, optional
        Called with a short message at each step.

    Returns
    -------
    ModelFile

    Raises
    ------
    ConvertError
        The file is missing, damaged, incomplete or needs what was not given;
        the message says what to do. Nothing is written.
    ModelCodeNeededError
        The file holds values without the model's code and ``model`` is not given.
    UnknownCustomObjectError
        The file names a custom layer that neither ``custom_objects`` nor
        ``namespace`` has.
    UntrustedCodeError
        The file holds ``Lambda`` layers and ``trust`` is False.
    """
    report = progress or (lambda message: None)
    path = Path(path).expanduser()
    if not _is_keras_file(path):
        return _load_checkpoint(find_checkpoint(_checkpoint_path(path)), model, report)
    info = read_keras_file(path)
    objects = dict(custom_objects or {})
    while True:
        try:
            return _load_keras(info, model, objects, trust, report)
        except UnknownCustomObjectError as error:
            if namespace is None or error.name in objects or error.name not in namespace:
                raise
            report(f"Taking the custom class {error.name!r} from the namespace")
            objects[error.name] = namespace[error.name]


def convert(
    path: str | os.PathLike[str] | ModelFile,
    directory: str | os.PathLike[str],
    *,
    inputs: Picks = None,
    outputs: Picks = None,
    signature_name: str = DEFAULT_SIGNATURE,
    method: str = "predict",
    version: Version = None,
    overwrite: bool = False,
    runtime: str = INSTALLED,
    model: ModelArgument = None,
    custom_objects: Mapping[str, Any] | None = None,
    namespace: Mapping[str, Any] | None = None,
    trust: bool = False,
    verify: bool = False,
    verify_inputs: Inputs | None = None,
    progress: Callable[[str | ExportProgress], None] | None = None,
) -> ExportResult:
    """Convert a model file to a SavedModel in one call.

    Parameters
    ----------
    path : str, os.PathLike or ModelFile
        The file, as for :func:`load_model_file`, or a file already opened.
    directory : str or os.PathLike
        Where the SavedModel goes.
    inputs, outputs : Mapping[str, str] or iterable, optional
        As for :meth:`ModelFile.spec`: ``{alias: candidate name}``, or names
        and ``(alias, name)`` pairs; the backend's suggestion where not given.
        ``list_candidates(load_model_file(path).model)`` lists the names.
    signature_name, method, version, overwrite, runtime
        As for :class:`~savedmodel_widgets.SignatureSpec` and
        :class:`~savedmodel_widgets.ExportSpec`; with an older ``runtime`` (such as
        ``"eas:tensorflow_cpu_1.15"``) the SavedModel is written so that runtime loads it.
    model, custom_objects, namespace, trust
        As for :func:`load_model_file`.
    verify, verify_inputs
        As ``verify`` and ``inputs`` of :func:`~savedmodel_widgets.export`: reload the
        SavedModel in a fresh process and compare it with the loaded model.
    progress : callable, optional
        Called with a message at each step of loading the file, then with each
        :class:`~savedmodel_widgets.ExportProgress` of the export.

    Returns
    -------
    ExportResult
        Its ``spec.source`` is the loaded model, so ``verify(result)`` compares
        the SavedModel with it.
    """
    loaded = path if isinstance(path, ModelFile) else load_model_file(
        path, model=model, custom_objects=custom_objects, namespace=namespace, trust=trust,
        progress=progress)
    spec = loaded.spec(directory, inputs=inputs, outputs=outputs,
                       signature_name=signature_name, method=method, version=version,
                       overwrite=overwrite, runtime=runtime)
    return export(spec, verify=verify, inputs=verify_inputs, progress=progress)


# Which kind of file ---------------------------------------------------------------


def _is_keras_file(path: Path) -> bool:
    if path.suffix in KERAS_SUFFIXES:
        return True
    if not path.is_file() or path.suffix in (".meta", ".index"):
        return False
    with open(path, "rb") as file:
        head = file.read(8)
    return head == HDF5_SIGNATURE or head.startswith(ZIP_SIGNATURE)


def _checkpoint_path(path: Path) -> Path:
    """The path for :func:`find_checkpoint`; the ``checkpoint`` text file means its directory."""
    return path.parent if path.name == "checkpoint" and path.is_file() else path


def _resolve_model(model: ModelArgument) -> Any:
    """A model object, calling a builder function when one is given."""
    if model_kind(model) is not None:
        return model
    if callable(model):
        built = model()
        if model_kind(built) is None:
            raise ConvertError(
                f"The model function returned {type(built).__qualname__}, not a model; it "
                "must return a built Keras model, a tf.Module or a tf.compat.v1.Session."
            )
        return built
    raise ConvertError(
        f"model= must be a built model, a tf.compat.v1.Session, or a function that returns "
        f"one, not {type(model).__qualname__}."
    )


# Keras files ----------------------------------------------------------------------


def _load_keras(info: KerasFile, model: ModelArgument, custom_objects: Mapping[str, Any] | None,
                trust: bool, report: Callable[[str], None]) -> ModelFile:
    from .sources.keras_files import load_keras_file, load_keras_weights, weights_only_message

    path = os.fspath(info.path)
    if model is not None:
        target = _resolve_model(model)
        load_keras_weights(info, target, report)
        code = weights_load_code(path)
        return ModelFile(info.path, info.kind, target, "the given model's load_weights",
                         (f"Only the weights were read from {info.path.name}.",), code)
    if info.weights_only:
        raise ModelCodeNeededError(weights_only_message(info))
    loaded, loader, notes = load_keras_file(info, custom_objects=custom_objects, trust=trust,
                                            progress=report)
    module = "tf_keras" if loader.startswith("tf_keras") else "keras"
    code = keras_load_code(module, path, custom_objects or {}, bool(info.code_layers))
    notes = (f"Written by {info.written_by}.", *notes)
    return ModelFile(info.path, info.kind, loaded, loader, notes, code)


# Checkpoints ----------------------------------------------------------------------


def _load_checkpoint(files: CheckpointFiles, model: ModelArgument,
                     report: Callable[[str], None]) -> ModelFile:
    from .sources import checkpoint_loaders

    notes = [files.describe() + "."]
    if files.other_prefixes:
        notes.append(f"Other checkpoints beside it: {', '.join(files.other_prefixes)}.")
    prefix = os.fspath(files.prefix)
    if model is not None:
        target = _resolve_model(model)
        if model_kind(target) == "session" and not files.object_based:
            checkpoint_loaders.restore_into_session(files, target, report)
            code = saver_restore_code(prefix)
            return ModelFile(files.prefix, "tf1-checkpoint", target,
                             "tf.compat.v1.train.Saver", tuple(notes), code, "sess")
        if not files.object_based:
            raise ConvertError(
                f"{files.prefix.name} is a TF1 checkpoint: it restores into a "
                "tf.compat.v1.Session, not into a Keras or TF2 model. Pass model=sess, a "
                "session whose graph your code rebuilt, or convert the .meta graph."
            )
        child = checkpoint_loaders.restore_object_checkpoint(files, target, report)
        code = checkpoint_read_code(child, prefix)
        notes.append("Restored as the checkpoint's root." if child is None
                     else f"Restored as the checkpoint's {child!r}.")
        return ModelFile(files.prefix, "tf2-checkpoint", target, "tf.train.Checkpoint",
                         tuple(notes), code)
    if files.object_based:
        raise ModelCodeNeededError(_needs_code_message(files))
    if files.meta is None:
        raise ModelCodeNeededError(
            f"{files.prefix.name} is a TF1 checkpoint without a .meta graph: it holds the "
            "variable values but not the graph. Run the code that builds the graph in a "
            "tf.compat.v1.Session and pass it: load_model_file(path, model=sess)."
        )
    if files.meta.with_suffix("") != files.prefix:
        notes.append(f"The graph comes from {files.meta.name}; {files.prefix.name} has no "
                     ".meta of its own.")
    session = checkpoint_loaders.restore_meta_graph(files, report)
    tables = bool(session.graph.get_collection("table_initializer"))
    code = meta_graph_load_code(os.fspath(files.meta), prefix, tables)
    loader = "tf.compat.v1.train.import_meta_graph + Saver.restore"
    return ModelFile(files.prefix, "tf1-checkpoint", session, loader, tuple(notes), code,
                     "sess")


def _needs_code_message(files: CheckpointFiles) -> str:
    from .sources.checkpoint_loaders import checkpoint_root_names

    return (
        f"{files.prefix.name} is a TF2 object checkpoint (tf.train.Checkpoint): it holds "
        f"{len(files.variables)} variable values (of {', '.join(checkpoint_root_names(files))})"
        " but not the model's code or graph. Build the same model in Python and pass it, or "
        "a function that builds it: load_model_file(path, model=build_model()) or "
        "convert(path, out, model=build_model)."
    )
