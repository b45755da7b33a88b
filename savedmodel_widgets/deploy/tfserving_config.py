"""What starts TF Serving on an export: ``models.config`` and the ``docker run`` line.

TF Serving serves a *base path* holding numeric version folders (``classifier/1``,
``classifier/2``), never a SavedModel folder itself. ``models.config`` lists such base
paths in ``ModelServerConfig``'s text format
(``tensorflow_serving/config/model_server_config.proto``; TF Serving's guide
"TensorFlow Serving Configuration", https://www.tensorflow.org/tfx/serving/serving_config),
each with the versions to serve.

The Docker image (TF Serving's guide "TensorFlow Serving with Docker",
https://www.tensorflow.org/tfx/serving/docker) answers gRPC on port 8500 and REST on 8501
and serves ``/models/${MODEL_NAME}``; ``--model_config_file`` replaces that with a config.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from ..errors import DeployError
from ._files import refuse_existing, write_bytes_atomically

__all__ = [
    "CONTAINER_MODELS_ROOT",
    "IMAGE",
    "ModelConfig",
    "VersionPolicy",
    "docker_run_command",
    "model_server_config_text",
    "serving_image",
    "versioned_layout",
    "write_model_server_config",
]

VersionPolicy = Literal["latest", "all"] | tuple[int, ...]
"""``"latest"`` (the highest version), ``"all"``, or the version numbers to serve."""

IMAGE = "tensorflow/serving"
"""TF Serving's image on Docker Hub."""

CONTAINER_MODELS_ROOT = "/models"
"""Where the image looks for models (its ``MODEL_BASE_PATH``)."""

_CONTAINER_GRPC_PORT = 8500
_CONTAINER_REST_PORT = 8501

_FIRST_RELEASES = {
    "1.12": "1.12.0", "1.13": "1.13.0", "1.14": "1.14.0", "1.15": "1.15.0",
    "2.0": "2.0.0", "2.1": "2.1.0", "2.2": "2.2.0", "2.3": "2.3.0", "2.4": "2.4.0",
    "2.5": "2.5.1", "2.6": "2.6.0", "2.7": "2.7.0", "2.8": "2.8.0", "2.9": "2.9.0",
    "2.10": "2.10.0", "2.11": "2.11.0", "2.12": "2.12.0", "2.13": "2.13.0",
    "2.14": "2.14.0", "2.15": "2.15.1", "2.16": "2.16.1", "2.17": "2.17.0",
    "2.18": "2.18.0", "2.19": "2.19.0", "2.20": "2.20.0", "2.21": "2.21.0",
}
"""The first TF Serving release of each major.minor, which names its image tag.

TF Serving publishes ``tensorflow/serving:X.Y.Z`` for each release X.Y.Z. Most minors
start at X.Y.0, but 2.5, 2.15 and 2.16 have no X.Y.0 release: their first are 2.5.1,
2.15.1 and 2.16.1. Taken from the release list of ``tensorflow-serving-api`` on PyPI
(published from the same release tags; ``pip index versions tensorflow-serving-api``,
checked 2026-12-01), and matching the tags public Dockerfiles pull
(``tensorflow/serving:2.7.0``, ``2.8.0``, ``2.16.1``; a Kubernetes guide's review notes
that ``2.15.0`` does not exist on Docker Hub and ``2.15.1`` does)."""

_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?\Z")
_POLICY_NAMES = ("latest", "all")


@dataclass(frozen=True)
class ModelConfig:
    """One model of ``models.config``.

    Attributes
    ----------
    name : str
        The name clients send (``/v1/models/NAME``, ``model_spec.name``).
    base_path : str
        The folder holding the numeric version folders, as the server sees it
        (``/models/NAME`` inside the Docker image).
    version_policy : "latest", "all" or tuple of int
        Which versions to serve: the highest, all, or these.
    """

    name: str
    base_path: str
    version_policy: VersionPolicy = "latest"

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise DeployError("A model's name is empty; give the name clients will send.")
        if not self.base_path:
            raise DeployError(f"Model {self.name!r} has an empty base_path; give the folder "
                              "that holds its numeric version folders.")
        policy = self.version_policy
        if isinstance(policy, str):
            if policy not in _POLICY_NAMES:
                raise DeployError(f"Model {self.name!r}: version_policy {policy!r} is unknown; "
                                  "use 'latest', 'all' or a tuple of version numbers.")
            return
        versions = tuple(policy)
        if not versions or any(isinstance(v, bool) or not isinstance(v, int) or v < 0
                               for v in versions):
            raise DeployError(f"Model {self.name!r}: version_policy {policy!r} must be 'latest', "
                              "'all' or a non-empty tuple of version numbers (integers >= 0).")
        object.__setattr__(self, "version_policy", versions)


def _quoted(text: str) -> str:
    """A string literal of the protobuf text format."""
    from google.protobuf import text_encoding

    return '"' + text_encoding.CEscape(text.encode("utf-8"), as_utf8=True) + '"'


def _policy_lines(policy: VersionPolicy) -> list[str]:
    if policy == "latest":
        return ["latest {", "  num_versions: 1", "}"]
    if policy == "all":
        return ["all {", "}"]
    return ["specific {", *(f"  versions: {version}" for version in policy), "}"]


def model_server_config_text(models: Sequence[ModelConfig]) -> str:
    """``ModelServerConfig`` in text format, for ``--model_config_file``.

    Raises
    ------
    DeployError
        For no model, or two models of the same name (TF Serving refuses the file).
    """
    if not models:
        raise DeployError("models.config needs at least one model.")
    names = [model.name for model in models]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DeployError(f"Model name {repeated[0]!r} is listed more than once; TF Serving "
                          "refuses a config that lists a model twice. Give each a new name.")
    lines = ["model_config_list {"]
    for model in models:
        lines += ["  config {",
                  f"    name: {_quoted(model.name)}",
                  f"    base_path: {_quoted(model.base_path)}",
                  '    model_platform: "tensorflow"',
                  "    model_version_policy {",
                  *(f"      {line}" for line in _policy_lines(model.version_policy)),
                  "    }",
                  "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_model_server_config(
    path: str | os.PathLike[str], models: Sequence[ModelConfig], overwrite: bool = False
) -> Path:
    """Write :func:`model_server_config_text` to ``path``, whole or not at all.

    Raises
    ------
    DeployTargetExistsError
        When ``path`` exists and ``overwrite`` is False (it is left as it was).
    """
    text = model_server_config_text(models)
    refuse_existing([path], overwrite)
    return write_bytes_atomically(path, text.encode("utf-8"))


def serving_image(release: str) -> str:
    """The TF Serving image of a release: ``"2.7"`` -> ``"tensorflow/serving:2.7.0"``.

    A major.minor release gives its first X.Y.Z release (``"2.15"`` ->
    ``"tensorflow/serving:2.15.1"``, there being no 2.15.0); a full X.Y.Z is used as given.

    Raises
    ------
    DeployError
        For a release TF Serving has no image of.
    """
    match = _RELEASE.match(release.strip())
    known = ", ".join(_FIRST_RELEASES)
    if match is None:
        raise DeployError(f"{release!r} is not a TF Serving release; give major.minor such as "
                          f"'2.7'. Releases with images: {known}.")
    minor = f"{int(match[1])}.{int(match[2])}"
    if minor not in _FIRST_RELEASES:
        raise DeployError(f"TF Serving has no release {minor} with a Docker image known here; "
                          f"choose one of {known}.")
    tag = _FIRST_RELEASES[minor] if match[3] is None else f"{minor}.{int(match[3])}"
    return f"{IMAGE}:{tag}"


def _mount(models_root: Path) -> str:
    """``--mount``'s value, its source quoted as docker's comma-separated parser wants
    when the path holds a comma or a double quote."""
    source = f"source={models_root}"
    if "," in source or '"' in source:
        source = '"' + source.replace('"', '""') + '"'
    return f"type=bind,{source},target={CONTAINER_MODELS_ROOT},readonly"


def _port(name: str, port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise DeployError(f"{name} must be a port number from 1 to 65535, not {port!r}.")
    return port


def _container_config(config_file: str) -> str:
    relative = PurePosixPath(config_file)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise DeployError(f"config_file {config_file!r} must be a file name inside the models "
                          "root (it is read in the container under /models), such as "
                          "'models.config'.")
    return f"{CONTAINER_MODELS_ROOT}/{relative}"


def _check_container_paths(models: Sequence[ModelConfig]) -> None:
    for model in models:
        path = PurePosixPath(model.base_path)
        if not path.is_relative_to(CONTAINER_MODELS_ROOT) or ".." in path.parts:
            raise DeployError(
                f"Model {model.name!r} has base_path {model.base_path!r}, which the container "
                f"cannot see: the models root is mounted at {CONTAINER_MODELS_ROOT}. Write "
                f"models.config with ModelConfig({model.name!r}, "
                f"'{CONTAINER_MODELS_ROOT}/{model.name}') for the folder "
                f"MODELS_ROOT/{model.name}.")


def docker_run_command(
    models_root: str | os.PathLike[str],
    models: Sequence[ModelConfig] | str,
    release: str,
    *,
    rest_port: int = 8501,
    grpc_port: int = 8500,
    config_file: str = "models.config",
) -> str:
    """The ``docker run`` line that serves the models under ``models_root`` with TF Serving.

    Parameters
    ----------
    models_root : str or os.PathLike
        The host folder that holds the versioned model folders (``models_root/NAME/1``);
        it is bind-mounted read-only at ``/models``.
    models : str or sequence of ModelConfig
        One model's name (its folder ``models_root/NAME``, passed as ``MODEL_NAME``), or
        the models of ``models_root/config_file``, whose base paths are container paths
        under ``/models``.
    release : str
        The TF Serving release (``"2.7"``), which picks the image tag.
    rest_port, grpc_port : int
        The host ports for REST (the image's 8501) and gRPC (its 8500).
    config_file : str
        The config's file name inside ``models_root`` (several models only).

    Returns
    -------
    str
        One shell command line; paths are quoted for a POSIX shell.

    Raises
    ------
    DeployError
        For an unknown release, a bad port or config file name, or a model whose base
        path the container cannot see.
    """
    root = Path(models_root).absolute()
    parts = ["docker", "run", "--rm",
             "-p", f"{_port('rest_port', rest_port)}:{_CONTAINER_REST_PORT}",
             "-p", f"{_port('grpc_port', grpc_port)}:{_CONTAINER_GRPC_PORT}",
             "--mount", _mount(root)]
    image = serving_image(release)
    if isinstance(models, str):
        if not models or "/" in models:
            raise DeployError(f"Model name {models!r} must be the name of a folder in "
                              f"{root}, without '/'.")
        parts += ["-e", f"MODEL_NAME={models}", image]
    else:
        if not models:
            raise DeployError("Give a model name or at least one ModelConfig.")
        _check_container_paths(models)
        parts += [image, f"--model_config_file={_container_config(config_file)}"]
    return shlex.join(parts)


def versioned_layout(export_dir: str | os.PathLike[str]) -> tuple[Path, str, int]:
    """Where a SavedModel sits in TF Serving's layout: ``BASE/NAME/VERSION``.

    Returns
    -------
    tuple of (pathlib.Path, str, int)
        The base path (the model's folder, absolute), the model name (that folder's
        name) and the version number.

    Raises
    ------
    DeployError
        When ``export_dir`` holds no ``saved_model.pb``, or its folder's name is not a
        version number; the message says how to move it into one.
    """
    export = Path(export_dir).absolute()
    if not ((export / "saved_model.pb").is_file() or (export / "saved_model.pbtxt").is_file()):
        raise DeployError(f"{export} holds no saved_model.pb; give the folder of an export.")
    name = export.name
    if not name.isascii() or not name.isdigit() or int(name) >= 2**63:
        model = export.parent / "my_model"
        raise DeployError(
            f"{export} is not in a numeric version folder: TF Serving serves a model folder "
            f"holding version folders such as {model / '1'}, and would find no version "
            "here. Export again with a version (an ExportSpec with version=1 or 'auto' "
            f"writes PATH/1), or move it: mkdir -p {shlex.quote(str(model))} && mv "
            f"{shlex.quote(str(export))} {shlex.quote(str(model / '1'))}")
    base = export.parent
    return base, base.name, int(name)
