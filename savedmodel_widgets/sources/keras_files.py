"""Keras model files: ``.h5`` (Keras 2 or 3) and ``.keras`` (Keras 3), read safely.

The file is looked at before any loader runs (with h5py or zipfile, without
TensorFlow): whether it is a whole model or weights only, which Keras wrote it,
and whether it carries Python code (``Lambda`` layers, ``lambda`` activations),
which runs when the file is loaded. Then Keras 3 loads it without compiling;
where Keras 3 cannot read it and tf_keras is installed, tf_keras does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import (
    ConvertError,
    ModelCodeNeededError,
    UnknownCustomObjectError,
    UntrustedCodeError,
)
from ._source import Progress

__all__ = ["KerasFile", "load_keras_file", "read_keras_file"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
_UNKNOWN_NAME = re.compile(
    r"(?:Unknown (?:layer|object|class|activation|loss|metric|initializer|regularizer|"
    r"constraint|function)(?: name)?:? ?'?|Could not locate (?:class|function) ')(\w[\w>.]*)"
)


@dataclass(frozen=True)
class KerasFile:
    """What a Keras file holds, read without loading it.

    Attributes
    ----------
    path : pathlib.Path
    format : {"h5", "keras"}
        HDF5 (``model.save("m.h5")``, Keras 2 or 3) or the Keras 3 zip format.
    keras_version : str
        The version of Keras that wrote it ("" when not recorded).
    config : dict or None
        The model's architecture; None for a file holding weights only.
    code_layers : tuple of str
        The layers that carry Python code, each as ``'name' (what)``: ``Lambda``
        layers, and layers holding a Python ``lambda`` (an activation, ...).
    """

    path: Path
    format: Literal["h5", "keras"]
    keras_version: str
    config: dict[str, Any] | None
    code_layers: tuple[str, ...]

    @property
    def weights_only(self) -> bool:
        """Whether the file holds weights without the model's architecture."""
        return self.config is None

    @property
    def kind(self) -> Literal["keras-h5", "keras", "keras-weights"]:
        """What the file is, in the words of :class:`~savedmodel_widgets.ModelFile`."""
        if self.weights_only:
            return "keras-weights"
        return "keras" if self.format == "keras" else "keras-h5"

    @property
    def written_by(self) -> str:
        """``Keras 2.15.0``, ``Keras 3.5.0`` or ``an unknown Keras version``."""
        return f"Keras {self.keras_version}" if self.keras_version else "an unknown Keras version"


def read_keras_file(path: str | os.PathLike[str]) -> KerasFile:
    """Look into a Keras ``.h5`` or ``.keras`` file without loading the model.

    Raises
    ------
    ConvertError
        When the file is missing, not HDF5 or zip, truncated, or holds no Keras model.
    """
    path = Path(path).expanduser()
    try:
        with open(path, "rb") as file:
            head = file.read(8)
    except OSError as error:
        raise ConvertError(f"Cannot open {path}: {error.strerror}.") from error
    if head.startswith(ZIP_SIGNATURE):
        return _read_keras_zip(path)
    if head == HDF5_SIGNATURE:
        return _read_h5(path)
    raise ConvertError(
        f"{path} is neither an HDF5 file (a Keras .h5 model) nor a zip file (a .keras "
        f"model): it starts with {head!r}. Check that the download or copy finished, and "
        "that the file is a Keras model saved with model.save()."
    )


def _read_h5(path: Path) -> KerasFile:
    import h5py

    try:
        with h5py.File(path, "r") as file:
            attrs = {key: _text(value) for key, value in file.attrs.items()}
            groups = list(file.keys())
    except OSError as error:
        raise ConvertError(
            f"{path} is a damaged or truncated HDF5 file ({error}); copy or save it again."
        ) from error
    version = attrs.get("keras_version", "")
    if "model_config" not in attrs:
        if "layer_names" in attrs or {"layers", "vars"} & set(groups) or "model_weights" in groups:
            return KerasFile(path, "h5", version, None, ())
        raise ConvertError(
            f"{path} is an HDF5 file but holds no Keras model (no model_config, no layer "
            f"weights; top-level groups: {', '.join(groups) or 'none'})."
        )
    config = _json(attrs["model_config"], path)
    return KerasFile(path, "h5", version, config, _code_layer_names(config))


def _read_keras_zip(path: Path) -> KerasFile:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise ConvertError(
                    f"{path} is a zip file without config.json, so it is not a .keras model "
                    f"(it holds {', '.join(sorted(names)[:5]) or 'nothing'}). If it is an "
                    "archive of a SavedModel or a checkpoint, unzip it and give the folder."
                )
            config = _json(archive.read("config.json").decode("utf-8"), path)
            metadata = (_json(archive.read("metadata.json").decode("utf-8"), path)
                        if "metadata.json" in names else {})
    except (zipfile.BadZipFile, EOFError) as error:
        raise ConvertError(
            f"{path} is a damaged or truncated .keras (zip) file ({error}); save it again."
        ) from error
    version = str(metadata.get("keras_version", ""))
    return KerasFile(path, "keras", version, config, _code_layer_names(config))


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _json(text: str, path: Path) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ConvertError(f"{path} holds a damaged model description ({error}).") from error
    if not isinstance(value, dict):
        raise ConvertError(f"{path} holds a model description that is not a JSON object.")
    return value


_MARSHALLED_CODE = re.compile(r"(4w|Yw)[A-Za-z0-9+/=\n]{38,}\Z")
"""Base64 of a marshalled Python code object (type byte ``0xe3`` or ``c``), as Keras
stores a Python ``lambda``: in a ``Lambda`` layer, or as an activation or other function."""


def _code_layers(config: Any, layer: str = "model") -> Iterator[tuple[str, str]]:
    """``(layer name, what)`` for each layer whose config carries Python code: every
    ``Lambda`` layer, and any layer holding a marshalled ``lambda`` (an activation, ...)."""
    if isinstance(config, dict):
        inner = config.get("config")
        if "class_name" in config and isinstance(inner, dict) and "name" in inner:
            layer = str(inner["name"])
            if config["class_name"] == "Lambda":
                yield layer, "Lambda layer"
        for value in config.values():
            yield from _code_layers(value, layer)
    elif isinstance(config, list):
        for value in config:
            yield from _code_layers(value, layer)
    elif isinstance(config, str) and _MARSHALLED_CODE.match(config):
        yield layer, "Python lambda"


def _code_layer_names(config: dict[str, Any]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for layer, what in _code_layers(config):
        found.setdefault(layer, what)
    return tuple(f"{layer!r} ({what})" for layer, what in found.items())


def _untrusted_message(info: KerasFile) -> str:
    count = len(info.code_layers)
    return (
        f"{info.path.name} holds Python code in {count} layer{'s' * (count != 1)}: "
        f"{', '.join(info.code_layers)}. Loading the file runs that code with your "
        "permissions, so it could do anything a program can. Nothing was loaded. If you "
        "trust where the file comes from (you or your team saved it), load it with "
        "trust=True."
    )


def load_keras_file(
    info: KerasFile,
    *,
    custom_objects: Mapping[str, Any] | None = None,
    trust: bool = False,
    progress: Progress | None = None,
) -> tuple[Any, str, tuple[str, ...]]:
    """Load a whole Keras model from a file, with Keras 3 and else tf_keras.

    Parameters
    ----------
    info : KerasFile
        From :func:`read_keras_file`; must not be weights only.
    custom_objects : Mapping[str, object], optional
        Custom layer classes and functions by the names the file uses.
    trust : bool
        Load a file that carries Python code (``Lambda`` layers, ``lambda``
        activations), which runs when it is loaded. Default False.
    progress : callable, optional
        Called with a short message at each step.

    Returns
    -------
    model : keras.Model or tf_keras.Model
        Not compiled: the training settings of the file are not needed to serve it.
    loader : str
        ``Keras 3.x.y`` or ``tf_keras 2.x.y``: which one loaded it.
    notes : tuple of str
        Why Keras 3 was not used, when tf_keras loaded the file.

    Raises
    ------
    UntrustedCodeError
        The file carries Python code and ``trust`` is False.
    UnknownCustomObjectError
        The file names a custom layer or function not in ``custom_objects``.
    ModelCodeNeededError
        The file stores a Python ``lambda`` as a function, which Keras cannot load.
    ConvertError
        Neither loader can read the file.
    """
    report = progress or (lambda message: None)
    if info.code_layers and not trust:
        raise UntrustedCodeError(_untrusted_message(info))
    objects = dict(custom_objects or {})
    errors: dict[str, Exception] = {}
    report(f"Loading {info.path.name} with Keras 3 (written by {info.written_by})")
    try:
        import keras

        model = keras.models.load_model(info.path, custom_objects=objects, compile=False,
                                        safe_mode=not trust)
        return model, f"Keras {keras.__version__}", ()
    except Exception as error:  # noqa: BLE001 - any loader failure leads to the fallback
        errors["Keras 3"] = error
    written_by_keras3 = info.keras_version.startswith("3.")
    if not (written_by_keras3 and info.format == "keras") and importlib.util.find_spec(
            "tf_keras") is not None:
        report(f"Keras 3 cannot read {info.path.name}; loading it with tf_keras")
        try:
            import tf_keras

            model = tf_keras.models.load_model(info.path, custom_objects=objects,
                                               compile=False, safe_mode=not trust)
            note = f"Keras 3 could not read the file: {_first_line(errors['Keras 3'])}."
            return model, f"tf_keras {tf_keras.__version__}", (note,)
        except Exception as error:  # noqa: BLE001
            errors["tf_keras"] = error
    raise _load_failure(info, errors, objects) from list(errors.values())[-1]


def _first_line(error: Exception, limit: int = 160) -> str:
    """The sentence of a Keras error that says what went wrong."""
    text = str(error).strip()
    if "Exception encountered:" in text:  # Keras 3 wraps the cause in a long preamble
        text = text.split("Exception encountered:", 1)[1].strip()
    text = text.splitlines()[0] if text else type(error).__name__
    text = text.split(". ")[0].rstrip(".")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _load_failure(info: KerasFile, errors: Mapping[str, Exception],
                  objects: Mapping[str, Any]) -> ConvertError:
    """The error to raise when no loader could read the file."""
    lambdas = [layer for layer in info.code_layers if layer.endswith("(Python lambda)")]
    if lambdas:
        return ModelCodeNeededError(
            f"{info.path.name} stores a Python lambda as a function of "
            f"{', '.join(lambdas)}, and Keras cannot load that back, even when trusted. Build "
            "the model in Python and pass it, so that only the weights are read from the "
            "file: load_model_file(path, model=build_model). Nothing was written."
        )
    # tf_keras' view first when it tried: it knows TFOpLambda, which Keras 3 does not.
    matches = [_UNKNOWN_NAME.search(str(error)) for error in reversed(list(errors.values()))]
    names = [match.group(1).split(">")[-1] for match in matches if match]
    if names and names[0] not in objects:
        name = names[0]
        return UnknownCustomObjectError(
            f"{info.path.name} uses the custom layer or function {name!r}, which is not part "
            f"of Keras. Import or define its class and pass it: "
            f"convert(path, ..., custom_objects={{{name!r}: {name}}}) or "
            f"load_model_file(path, custom_objects={{{name!r}: {name}}}). Nothing was written.",
            name,
        )
    reasons = "; ".join(f"{loader}: {_first_line(error)}" for loader, error in errors.items())
    advice = ("" if "tf_keras" in errors or info.format == "keras" else
              " Files written by Keras 2 often load with tf_keras: "
              "pip install --no-deps tf-keras.")
    return ConvertError(
        f"{info.path.name} (written by {info.written_by}) cannot be loaded. {reasons}.{advice}"
        " Nothing was written."
    )


def load_keras_weights(info: KerasFile, model: Any, progress: Progress | None = None) -> None:
    """Load a weights-only file into a built model of the same architecture.

    Raises
    ------
    ConvertError
        When the weights do not fit the model (the layers or shapes differ).
    """
    if progress:
        progress(f"Loading the weights of {info.path.name} into the given model")
    try:
        model.load_weights(info.path)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds here
        raise ConvertError(
            f"The weights in {info.path.name} do not fit the given model "
            f"({_first_line(error)}). Build the same architecture that saved them."
        ) from error


def weights_only_message(info: KerasFile) -> str:
    """What to do with a file that holds weights but no architecture."""
    return (
        f"{info.path.name} holds weights only (saved with save_weights), not the model's "
        "architecture, so there is nothing to export yet. Build the same model in Python and "
        "pass it: load_model_file(path, model=build_model()), or save the whole model with "
        "model.save('model.keras') and convert that file."
    )
