"""One call from a verified export to the files a serving team needs, checked by reading them back.

For an EAS TensorFlow processor (``target="eas:tensorflow_cpu_1.15"``) the kit is a folder
beside the export (``export/digits/1.eas/``) holding the model archive, the warm-up
request file and the service description that names both. For TensorFlow Serving
(``target="tfserving:2.7"``) it is the warm-up records inside the export
(``assets.extra/tf_serving_warmup_requests``), a ``models.config`` in the folder that holds
the model folders, and the ``docker run`` line that serves them. Every file is checked
after it is written by reading it back, and the model itself is checked for the target's
TensorFlow (:func:`~savedmodel_widgets.check` with the runtime).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from ..errors import DeployError
from ..runtimes.catalogue import Runtime, get_runtime, runtimes
from ..savedmodel.finding import LEVELS, Finding
from ..savedmodel.info import SavedModelInfo
from ..savedmodel.reader import read_saved_model
from ..savedmodel.runtime_checks import RUNTIME_CODES
from ..savedmodel.text import format_bytes
from ._files import refuse_existing
from .eas_service import MODEL_PATH_PLACEHOLDER, EasService, processor_for
from .requests import WarmupRequest, warmup_requests

if TYPE_CHECKING:
    from .tfserving_config import ModelConfig

__all__ = [
    "ARCHIVE_FORMATS",
    "DeploymentKit",
    "deployment_files",
    "deployment_kit",
    "deployment_targets",
]

ARCHIVE_FORMATS = ("tar.gz", "zip")
"""The model archives EAS takes for ``model_path`` (its examples use ``model.tar.gz``)."""

ArchiveFormat = Literal["tar.gz", "zip"]

SERVICE_FILE = "service.json"
EAS_WARMUP_FILE = "warm_up.bin"
MODELS_CONFIG_FILE = "models.config"

_PLACEHOLDER_FOLDER = MODEL_PATH_PLACEHOLDER.rsplit("/", 1)[0]

ROLE_TITLES = {
    "archive": "Model archive (upload to OSS; service.json's model_path)",
    "service": "EAS service description (eascmd create / JSON deployment)",
    "eas_warmup": "EAS warm-up request (upload to OSS; service.json's warm_up_data_path)",
    "tfserving_warmup": "TF Serving warm-up records (inside the export)",
    "models_config": "TF Serving model config (--model_config_file)",
}
"""What each file of a kit is, as the kit's table and the CLI name it."""


@dataclass(frozen=True)
class DeploymentKit:
    """The files written for one serving target, what reading them back found, what to do next.

    Attributes
    ----------
    path : str
        The SavedModel directory the kit is for.
    target : Runtime
        The EAS processor or TF Serving release.
    files : dict of str to pathlib.Path
        ``{role: path}``; the roles are the keys of :data:`ROLE_TITLES`.
    findings : tuple of Finding
        The checks of the written files and of the model for the target's TensorFlow.
    next_steps : tuple of str
        What to do with the files, in order.
    docker_command : str
        The ``docker run`` line that serves the export (TF Serving kits; empty for EAS).
    service : EasService or None
        The EAS service description written (EAS kits).
    requests : tuple of WarmupRequest
        The warm-up requests written.
    """

    path: str
    target: Runtime
    files: dict[str, Path] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    next_steps: tuple[str, ...] = ()
    docker_command: str = ""
    service: EasService | None = None
    requests: tuple[WarmupRequest, ...] = ()

    def __repr__(self) -> str:
        files = ", ".join(f"{role}={str(path)!r}" for role, path in self.files.items())
        return (f"DeploymentKit({self.target.name!r}, {'ready' if self.ready else 'not ready'},"
                f" {files})")

    @property
    def ready(self) -> bool:
        """True when no check found an error."""
        return not any(finding.level == "error" for finding in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The kit as plain data (what ``deploy --json`` prints)."""
        return {
            "path": self.path,
            "target": self.target.name,
            "ready": self.ready,
            "files": {role: str(path) for role, path in self.files.items()},
            "findings": [finding._asdict() for finding in self.findings],
            "next_steps": list(self.next_steps),
            "docker_command": self.docker_command,
            "service": self.service.to_dict() if self.service else None,
            "requests": [{"signature_name": r.signature_name,
                          "inputs": {alias: list(array.shape)
                                     for alias, array in r.inputs.items()}}
                         for r in self.requests],
        }

    def summary(self) -> str:
        """The kit as plain text: verdict, files, findings, next steps."""
        lines = [f"Deployment kit for {self.target.title}: "
                 f"{'ready' if self.ready else 'not ready'}"]
        lines += [f"  {ROLE_TITLES.get(role, role)}: {path}" for role, path in self.files.items()]
        for finding in self.findings:
            lines.append(f"  {finding.level} {finding.code}: {finding.message}")
            if finding.fix:
                lines.append(f"    fix: {finding.fix}")
        lines.append("Next steps:")
        lines += [f"  {number}. {step}" for number, step in enumerate(self.next_steps, 1)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        verdict = ("<b style='color:#1a7f37'>ready</b>" if self.ready
                   else "<b style='color:#cf222e'>not ready</b>")
        rows = "".join(
            f"<tr><td>{escape(ROLE_TITLES.get(role, role))}</td><td><code>{escape(str(path))}"
            f"</code></td><td style='text-align:right;white-space:nowrap'>{_size(path)}</td></tr>"
            for role, path in self.files.items())
        findings = "".join(
            f"<li><b>{escape(f.level)}</b> <code>{escape(f.code)}</code>: {escape(f.message)}"
            + (f"<br><i>fix:</i> {escape(f.fix)}" if f.fix else "") + "</li>"
            for f in self.findings) or "<li>Every file read back as written.</li>"
        steps = "".join(f"<li>{escape(step)}</li>" for step in self.next_steps)
        docker = (f"<pre>{escape(self.docker_command)}</pre>" if self.docker_command else "")
        return (f"<div class='smw-deployment-kit'><p>Deployment kit for "
                f"{escape(self.target.title)}: {verdict}</p>"
                f"<table><tr><th>File</th><th>Path</th><th>Size</th></tr>{rows}</table>"
                f"<p>Checks</p><ul>{findings}</ul><p>Next steps</p><ol>{steps}</ol>{docker}"
                "</div>")


def deployment_targets() -> tuple[Runtime, ...]:
    """The runtimes a kit can be made for: EAS's TensorFlow processors, then TF Serving's
    releases (newest first)."""
    eas = [runtime for runtime in runtimes() if runtime.server == "eas"]
    serving = sorted((runtime for runtime in runtimes() if runtime.server == "tfserving"),
                     key=lambda runtime: runtime.key, reverse=True)
    return (*eas, *serving)


def deployment_target(target: str | Runtime) -> Runtime:
    """The EAS processor or TF Serving release ``target`` names; a bare processor name
    (``tensorflow_cpu_1.15``) means that EAS processor.

    Raises
    ------
    DeployError
        For a runtime that is neither, naming the ones that are.
    """
    if isinstance(target, str) and target.startswith(("tensorflow_cpu_", "tensorflow_gpu_")):
        target = f"eas:{target}"
    try:
        runtime = get_runtime(target)
    except ValueError as error:
        raise DeployError(f"{error} A kit is made for {_target_names()}.") from None
    if runtime.server not in ("eas", "tfserving"):
        raise DeployError(
            f"{runtime.name} is no serving system, so there is no kit to make for it; choose "
            f"{_target_names()}.")
    return runtime


def _target_names() -> str:
    names = [runtime.name for runtime in deployment_targets()]
    return f"an EAS processor or a TF Serving release: {', '.join(names)}"


def deployment_files(
    path: str | os.PathLike[str],
    target: str | Runtime,
    *,
    out: str | os.PathLike[str] | None = None,
    archive_format: ArchiveFormat = "tar.gz",
) -> dict[str, Path]:
    """Where :func:`deployment_kit` writes each file, ``{role: path}``, without writing.

    Parameters
    ----------
    path : str or os.PathLike
        The SavedModel directory (for TF Serving, inside a numbered version folder).
    target : str or Runtime
        ``"eas:tensorflow_cpu_1.15"``, ``"tfserving:2.7"``, ...
    out : str or os.PathLike, optional
        The folder for the EAS files (default: ``<export>.eas`` beside the export) or for
        ``models.config`` (default: the folder holding the model's folder).
    archive_format : {"tar.gz", "zip"}
        The EAS model archive's format.

    Raises
    ------
    DeployError
        For an unknown target or archive format, or (TF Serving) an export outside a
        numbered version folder.
    """
    runtime = deployment_target(target)
    export = Path(path)
    if runtime.server == "eas":
        if archive_format not in ARCHIVE_FORMATS:
            raise DeployError(f"archive_format must be one of {', '.join(ARCHIVE_FORMATS)}, "
                              f"not {archive_format!r}.")
        folder = Path(out) if out is not None else export.parent / f"{export.name}.eas"
        return {"archive": folder / f"model.{archive_format}",
                "service": folder / SERVICE_FILE,
                "eas_warmup": folder / EAS_WARMUP_FILE}
    from .tfserving_config import versioned_layout
    from .tfserving_warmup import WARMUP_PATH

    base, _, _ = versioned_layout(export)
    folder = Path(out) if out is not None else base.parent
    return {"tfserving_warmup": export / WARMUP_PATH,
            "models_config": folder / MODELS_CONFIG_FILE}


def deployment_kit(
    path: str | os.PathLike[str],
    target: str | Runtime,
    *,
    out: str | os.PathLike[str] | None = None,
    inputs: Mapping[str, Any] | None = None,
    signature_names: Sequence[str] | None = None,
    rows_per_request: int | None = None,
    service_name: str | None = None,
    model_path: str | None = None,
    instances: int = 1,
    cpu: int = 1,
    memory: int = 4000,
    archive_format: ArchiveFormat = "tar.gz",
    model_name: str | None = None,
    version_policy: str | Sequence[int] = "latest",
    more_models: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> DeploymentKit:
    """Write the files that deploy a SavedModel on EAS or TF Serving, and check them.

    Parameters
    ----------
    path : str or os.PathLike
        The SavedModel directory, ideally an export made for ``target``'s runtime
        (``ExportSpec(runtime=...)``).
    target : str or Runtime
        An EAS TensorFlow processor (``"eas:tensorflow_cpu_1.15"``, or just
        ``"tensorflow_cpu_1.15"``) or a TF Serving release (``"tfserving:2.7"``).
    out : str or os.PathLike, optional
        Where the files go (see :func:`deployment_files`).
    inputs : mapping, optional
        Arrays for the warm-up requests, ``{input alias: array}`` or
        ``{signature name: {input alias: array}}``; sample values for the rest.
    signature_names : sequence of str, optional
        The predict signatures to warm up (all by default; EAS uses the first).
    rows_per_request : int, optional
        Split the arrays into TF Serving warm-up requests of this many rows.
    service_name : str, optional
        The EAS service's name (default: made from the model's folder name).
    model_path : str, optional
        Where the archive will be on OSS or HTTP (default: a placeholder to replace).
    instances, cpu, memory : int
        The EAS service's instance count, CPU cores and memory (MB) per instance.
    archive_format : {"tar.gz", "zip"}
        The EAS model archive's format.
    model_name : str, optional
        The name TF Serving serves the model under (default: its base folder's name).
    version_policy : "latest", "all" or sequence of int
        Which versions TF Serving loads (``models.config``).
    more_models : sequence of str or os.PathLike
        Other models TF Serving serves beside this one, each an export in a version folder
        or a model folder holding them, in the same models folder; ``models.config`` lists
        each under its folder's name with the same version policy.
    overwrite : bool
        Replace files of an earlier kit; without it an existing file stops the call
        before anything is written.

    Returns
    -------
    DeploymentKit
        The files, the checks of them read back, and the next steps.

    Raises
    ------
    DeployError
        For a bad target, input, service setting or layout; nothing is written.
    DeployTargetExistsError
        When a file exists and ``overwrite`` is False; nothing is written.

    Examples
    --------
    >>> kit = smw.deployment_kit("export/digits/1", "eas:tensorflow_cpu_1.15",  # doctest: +SKIP
    ...                          service_name="digits", inputs={"images": x_test[:1]})
    >>> kit.files["archive"]                                          # doctest: +SKIP
    PosixPath('export/digits/1.eas/model.tar.gz')
    """
    runtime = deployment_target(target)
    info = read_saved_model(path)
    files = deployment_files(info.path, runtime, out=out, archive_format=archive_format)
    requests = warmup_requests(info, inputs, signature_names=signature_names,
                               rows_per_request=rows_per_request)
    if runtime.server == "eas":
        service = _eas_service(info, runtime, files, service_name, model_path,
                               instances, cpu, memory)
        refuse_existing(files.values(), overwrite)
        return _write_eas_kit(info, runtime, files, service, requests)
    configs = _model_configs(info, model_name, version_policy, more_models)
    refuse_existing(files.values(), overwrite)
    return _write_tfserving_kit(info, runtime, files, requests, configs)


def _eas_service(info: SavedModelInfo, runtime: Runtime, files: Mapping[str, Path],
                 service_name: str | None, model_path: str | None, instances: int,
                 cpu: int, memory: int) -> EasService:
    folder = model_path.rsplit("/", 1)[0] if model_path else _PLACEHOLDER_FOLDER
    model_path = model_path or f"{folder}/{files['archive'].name}"
    warm_up = f"{folder}/{files['eas_warmup'].name}"
    return EasService(
        name=service_name or _service_name_from(Path(info.base_path).name),
        processor=processor_for(runtime), model_path=model_path, instances=instances,
        cpu=cpu, memory=memory, gpu=1 if runtime.gpu else 0, warm_up_data_path=warm_up)


def _service_name_from(folder: str) -> str:
    """A name that keeps EAS's rule (a lowercase letter, then lowercase letters, digits and
    underscores) made from a folder name: ``Digits-v2`` -> ``digits_v2``."""
    name = re.sub(r"[^a-z0-9_]+", "_", folder.lower()).strip("_")
    return name if name[:1].isalpha() else f"model_{name}".rstrip("_")


def _write_eas_kit(info: SavedModelInfo, runtime: Runtime, files: dict[str, Path],
                   service: EasService, requests: list[WarmupRequest]) -> DeploymentKit:
    from .archive import check_model_archive, write_model_archive
    from .eas_service import check_service, write_service_json
    from .eas_warmup import check_eas_warmup, write_eas_warmup

    request = requests[0]
    write_model_archive(info.path, files["archive"], overwrite=True)
    write_eas_warmup(files["eas_warmup"], request, overwrite=True)
    write_service_json(files["service"], service, overwrite=True)
    findings = [*check_model_archive(files["archive"], info),
                *check_eas_warmup(files["eas_warmup"], info),
                *check_service(service, info),  # with the processor's refusals of the model
                *_model_findings(info, runtime, besides=set(RUNTIME_CODES.values()))]
    if len(requests) > 1:
        findings.append(Finding(
            "info", "eas-warmup-first-request",
            f"EAS's warm-up file holds one request; the first ({request.signature_name!r}, "
            f"{request.batch_size} row(s)) was written, {len(requests) - 1} more were left out.",
            "Choose the signature and rows production requests use."))
    folder = files["archive"].parent
    steps = [
        f"Upload {files['archive'].name} and {files['eas_warmup'].name} from {folder} to OSS "
        f"(for example: ossutil cp {files['archive']} {service.model_path}).",
        ("Put their OSS paths in service.json: model_path and warm_up_data_path still hold "
         "placeholders." if service.model_path.startswith(_PLACEHOLDER_FOLDER)
         else f"Check that service.json's model_path ({service.model_path}) and "
              f"warm_up_data_path ({service.warm_up_data_path}) are where you uploaded them."),
        f"Create the service: eascmd create {files['service']} (or paste service.json into "
        "the console's JSON deployment).",
        "Call it with the EAS SDK: the Try it tab's EAS code, with the service's endpoint and "
        "token.",
    ]
    return DeploymentKit(info.path, runtime, dict(files), _by_level(findings), tuple(steps),
                         "", service, (request,))


def _model_configs(info: SavedModelInfo, model_name: str | None,
                   version_policy: str | Sequence[int],
                   more_models: Sequence[str | os.PathLike[str]]) -> list[ModelConfig]:
    """The ``models.config`` entries: this export's model first, then ``more_models``.

    Raises
    ------
    DeployError
        For an unknown policy, a model outside this model's models folder, or two models
        of one name.
    """
    from .tfserving_config import ModelConfig, VersionPolicy

    # ModelConfig refuses a policy other than "latest", "all" or version numbers.
    policy = cast(VersionPolicy, version_policy if isinstance(version_policy, str)
                  else tuple(version_policy))
    base = Path(info.base_path)  # the version folder's parent (deployment_files checked it)
    configs = [ModelConfig(model_name or base.name, f"/models/{base.name}", policy)]
    for other in more_models:
        folder = _model_folder(Path(other))
        if folder.parent != base.parent:
            raise DeployError(
                f"{folder} is not in {base.parent}, the folder the docker line mounts at "
                f"/models; move or copy it there ({base.parent / folder.name}).")
        configs.append(ModelConfig(folder.name, f"/models/{folder.name}", policy))
    names = [config.name for config in configs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DeployError(f"Two models are named {twice[0]!r}; TF Serving needs a name per "
                          "model: give model_name=, or leave out the repeated folder.")
    return configs


def _model_folder(path: Path) -> Path:
    """The model folder of an export in a version folder, or of a folder of versions."""
    from ..savedmodel.layout import model_file, scan_versions
    from .tfserving_config import versioned_layout

    if model_file(str(path)):
        return versioned_layout(path)[0]
    if scan_versions(str(path))[0]:
        return path.absolute()
    raise DeployError(f"{path} is neither an export in a numbered version folder nor a model "
                      "folder holding numbered versions.")


def _write_tfserving_kit(info: SavedModelInfo, runtime: Runtime, files: dict[str, Path],
                         requests: list[WarmupRequest],
                         configs: list[ModelConfig]) -> DeploymentKit:
    from .tfserving_config import docker_run_command, write_model_server_config
    from .tfserving_warmup import check_tfserving_warmup, write_tfserving_warmup

    name = configs[0].name
    models_root = Path(info.base_path).parent
    write_tfserving_warmup(info.path, requests, model_name=name, overwrite=True)
    write_model_server_config(files["models_config"], configs, overwrite=True)
    # The checks read nothing under assets.extra: the info read before writing serves.
    findings = [*check_tfserving_warmup(info), *_model_findings(info, runtime)]
    if files["models_config"].parent.absolute() == models_root:
        docker = docker_run_command(models_root, configs, runtime.release)
    else:  # the container sees only the models folder: serve by name, the latest version
        docker = docker_run_command(models_root, Path(info.base_path).name, runtime.release)
        findings.append(Finding(
            "info", "models-config-outside-models-folder",
            f"{files['models_config']} is outside {models_root}, which the docker line "
            "mounts, so the line serves the model by its folder's name (its latest version).",
            f"Copy models.config into {models_root} and add "
            "--model_config_file=/models/models.config to serve it as configured."))
    steps = [
        f"Copy the folder {models_root} to the serving machine; the warm-up records travel "
        f"inside the export ({files['tfserving_warmup'].relative_to(models_root)}).",
        f"Start TF Serving {runtime.release}: {docker}",
        "Check that it loaded the model: "
        + " ; ".join(f"curl http://localhost:8501/v1/models/{c.name}" for c in configs),
        "Send a request: the Try it tab's REST or gRPC code, with the server's address.",
    ]
    return DeploymentKit(info.path, runtime, dict(files), _by_level(findings), tuple(steps),
                         docker, None, tuple(requests))


def _model_findings(info: SavedModelInfo, runtime: Runtime,
                    besides: set[str] | frozenset[str] = frozenset()) -> list[Finding]:
    """The model's own serving checks for the target's TensorFlow, as findings (notes, and
    errors of the codes ``besides``, left out)."""
    from ..savedmodel.checks import check

    return [Finding(result.level, result.code, result.message, result.fix, result.signature)
            for result in check(info, "eas" if runtime.server == "eas" else "tfserving",
                               runtime=runtime.name)
            if result.level != "info"
            and not (result.level == "error" and result.code in besides)]


def _by_level(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Errors first, then warnings, then notes; in their order within a level."""
    return tuple(sorted(findings, key=lambda finding: LEVELS.index(finding.level)))


def _size(path: Path) -> str:
    try:
        return format_bytes(path.stat().st_size)
    except OSError:
        return ""
