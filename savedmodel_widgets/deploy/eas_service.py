"""The service description JSON that PAI-EAS's console and EASCMD ``create`` take for a
TensorFlow processor, and its checks.

Every field written is one EAS's pages document (read 2026; the URLs are the constants
below):

- "TensorFlow processor" (:data:`TENSORFLOW_PROCESSOR_PAGE`): the example service
  ``{"name": "tf_serving_test", "model_path": "http://...oss-cn-shanghai.aliyuncs.com/
  models/model.tar.gz", "processor": "tensorflow_cpu_1.15", "warm_up_data_path":
  "oss://path/to/warm_up_test.bin", "metadata": {"instance": 1, "cpu": 1, "memory": 4000}}``
  and the processors ``tensorflow_cpu_1.12/1.14/1.15/2.3/2.4/2.7`` and
  ``tensorflow_gpu_1.12/1.14/1.15/2.4/2.7``.
- "Deploy services with JSON" (:data:`SERVICE_JSON_PAGE`): ``name`` (required, unique in
  a region), ``model_path`` (required with a processor: an OSS path, a file or a folder,
  or an HTTP address, which must be a ``TAR.GZ``, ``TAR``, ``BZ2`` or ``ZIP`` package),
  ``processor``, ``warm_up_data_path``, and ``metadata`` with ``instance``, ``cpu``,
  ``memory`` (MB) and ``gpu``.
- "Warm up model services" (:data:`WARM_UP_PAGE`): the warm-up file is uploaded to OSS and
  named by ``warm_up_data_path``.
- "EASCMD command reference" (:data:`EASCMD_PAGE`): ``eascmd create service.json`` with the
  example ``{"name": "mnist_saved_model_example", "model_path": ".../mnist_saved_model.tar.gz",
  "processor": "tensorflow_cpu_1.12", "metadata": {"instance": 1, "cpu": 1}}``.

Not found in any stored EAS page (searched again for the console's service name field,
the CreateService API and EASCMD): the characters a service name may hold.
:data:`SERVICE_NAME_RULE` is the EAS console's rule as the project knows it (a lowercase
letter, then lowercase letters, digits or underscores); every example name in the pages
fits it (``tf_serving_test``, ``warm_up_demo``, ``mnist_saved_model_example``). Since no
stored page states it, a name that breaks it is a warning, not an error.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import DeployError
from ..runtimes.catalogue import Runtime, get_runtime, runtimes
from ..savedmodel.checks import check
from ..savedmodel.finding import Finding
from ..savedmodel.info import SavedModelInfo
from ..savedmodel.runtime_checks import RUNTIME_CODES
from ._files import refuse_existing, write_bytes_atomically

__all__ = [
    "EASCMD_PAGE",
    "EAS_PROCESSORS",
    "MODEL_PATH_PLACEHOLDER",
    "SERVICE_JSON_PAGE",
    "SERVICE_NAME_RULE",
    "TENSORFLOW_PROCESSOR_PAGE",
    "WARM_UP_PAGE",
    "WARM_UP_PATH_PLACEHOLDER",
    "EasService",
    "check_service",
    "processor_for",
    "read_service_json",
    "service_name_problem",
    "write_service_json",
]

TENSORFLOW_PROCESSOR_PAGE = "https://www.alibabacloud.com/help/en/pai/user-guide/tensorflow-processor"
"""EAS's page "TensorFlow processor" (zh: https://help.aliyun.com/document_detail/468737.html)."""
WARM_UP_PAGE = "https://www.alibabacloud.com/help/en/pai/user-guide/warm-up-model-services"
"""EAS's page "Warm up model services" (zh: https://help.aliyun.com/document_detail/264606.htm)."""
SERVICE_JSON_PAGE = "https://www.alibabacloud.com/help/en/pai/user-guide/parameters-of-model-services"
"""EAS's page "Deploy services with JSON" (zh: https://help.aliyun.com/zh/pai/parameters-of-model-services)."""
EASCMD_PAGE = "https://help.aliyun.com/en/pai/developer-reference/run-commands-to-use-the-eascmd-client"
"""EAS's page "EASCMD command reference" (``create``)."""

MODEL_PATH_PLACEHOLDER = "oss://YOUR-BUCKET/path/to/model.tar.gz"
"""``model_path`` until the user names where the archive was uploaded."""
WARM_UP_PATH_PLACEHOLDER = "oss://YOUR-BUCKET/path/to/warm_up.bin"
"""``warm_up_data_path`` until the user names where the warm-up file was uploaded."""

SERVICE_NAME_RULE = re.compile(r"[a-z][a-z0-9_]*")
"""A service name: a lowercase letter, then lowercase letters, digits or underscores (the
EAS console's rule; no stored EAS page states it, see the module docstring)."""

EAS_PROCESSORS: tuple[str, ...] = tuple(
    runtime.name.split(":", 1)[1] for runtime in runtimes() if runtime.server == "eas")
"""The TensorFlow processors of EAS, as :mod:`~savedmodel_widgets.runtimes.catalogue`
lists them from :data:`TENSORFLOW_PROCESSOR_PAGE`."""

_HTTP_ARCHIVES = (".tar.gz", ".tar", ".bz2", ".zip", ".tgz")
_SCHEMES = ("oss", "http", "https")
_METADATA_FIELDS = {"instance": "instances", "cpu": "cpu", "memory": "memory", "gpu": "gpu"}
_TOP_FIELDS = ("name", "model_path", "processor", "warm_up_data_path", "metadata")


def service_name_problem(name: str) -> str | None:
    """Why ``name`` breaks :data:`SERVICE_NAME_RULE`, or None when it fits."""
    if not name:
        return "the service name is empty"
    if not name[0].isascii() or not name[0].islower():
        return (f"the service name {name!r} starts with {name[0]!r}; it must start with a "
                "lowercase letter")
    bad = sorted({char for char in name if not SERVICE_NAME_RULE.fullmatch("a" + char)})
    if bad:
        return (f"the service name {name!r} holds {', '.join(map(repr, bad))}; use only "
                "lowercase letters, digits and underscores")
    return None


def processor_for(runtime: str | Runtime) -> str:
    """The EAS processor of an EAS runtime: ``"eas:tensorflow_cpu_1.15"`` ->
    ``"tensorflow_cpu_1.15"``.

    Raises
    ------
    DeployError
        For a runtime that is no EAS processor; the message lists the processors.
    """
    try:
        chosen = get_runtime(runtime)
    except ValueError as error:
        raise DeployError(str(error)) from None
    if chosen.server != "eas":
        raise DeployError(
            f"{chosen.name} is not an EAS processor; export for one of "
            f"{', '.join('eas:' + name for name in EAS_PROCESSORS)} to deploy on EAS.")
    return chosen.name.split(":", 1)[1]


@dataclass(frozen=True)
class EasService:
    """An EAS service description for a TensorFlow processor.

    Attributes
    ----------
    name : str
        The service name (unique in its region).
    processor : str
        An EAS TensorFlow processor, ``"tensorflow_cpu_1.15"`` (:data:`EAS_PROCESSORS`).
    model_path : str
        Where EAS fetches the model archive: ``oss://...`` or an ``http(s)://`` URL.
    instances : int
        ``metadata.instance``: how many instances serve, 1 or more.
    cpu : int
        ``metadata.cpu``: CPU cores per instance, 1 or more.
    memory : int
        ``metadata.memory``: memory per instance in MB, more than 0.
    gpu : int
        ``metadata.gpu``: GPUs per instance (written only when more than 0).
    warm_up_data_path : str or None
        The uploaded warm-up request file, or None for no warm-up.

    Raises
    ------
    DeployError
        When a number is not a whole number in its range, or a text field is not text.
    """

    name: str
    processor: str
    model_path: str = MODEL_PATH_PLACEHOLDER
    instances: int = 1
    cpu: int = 1
    memory: int = 4000
    gpu: int = 0
    warm_up_data_path: str | None = None

    def __post_init__(self) -> None:
        for field_name in ("name", "processor", "model_path"):
            if not isinstance(getattr(self, field_name), str):
                raise DeployError(f"{field_name} must be text, not "
                                  f"{getattr(self, field_name)!r}.")
        if self.warm_up_data_path is not None and not isinstance(self.warm_up_data_path, str):
            raise DeployError(f"warm_up_data_path must be text or None, not "
                              f"{self.warm_up_data_path!r}.")
        for field_name, least, unit in (("instances", 1, ""), ("cpu", 1, " cores"),
                                        ("memory", 1, " MB"), ("gpu", 0, "")):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise DeployError(f"{field_name} must be a whole number of {least}{unit} or "
                                  f"more, not {value!r}.")

    def to_dict(self) -> dict[str, Any]:
        """The service JSON as a dict, fields in the order of EAS's example."""
        metadata = {"instance": self.instances, "cpu": self.cpu, "memory": self.memory}
        if self.gpu:
            metadata["gpu"] = self.gpu
        described: dict[str, Any] = {"name": self.name, "model_path": self.model_path,
                                     "processor": self.processor}
        if self.warm_up_data_path is not None:
            described["warm_up_data_path"] = self.warm_up_data_path
        described["metadata"] = metadata
        return described

    def to_json(self) -> str:
        """The service JSON text (two-space indents, a final newline)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, described: dict[str, Any]) -> EasService:
        """The service a service JSON object describes.

        Raises
        ------
        DeployError
            For a field this description does not hold (it would be lost), a missing
            ``name``, ``processor`` or ``model_path``, or a bad value.
        """
        if not isinstance(described, dict):
            raise DeployError("A service description is a JSON object.")
        unknown = [key for key in described if key not in _TOP_FIELDS]
        metadata = described.get("metadata", {})
        if not isinstance(metadata, dict):
            raise DeployError(f"metadata must be a JSON object, not {metadata!r}.")
        unknown += [f"metadata.{key}" for key in metadata if key not in _METADATA_FIELDS]
        if unknown:
            raise DeployError(
                f"The service description has field(s) {', '.join(map(repr, unknown))}, which "
                f"EasService does not hold (they would be lost); it holds "
                f"{', '.join(_TOP_FIELDS)}, and in metadata {', '.join(_METADATA_FIELDS)}.")
        missing = [key for key in ("name", "processor", "model_path") if key not in described]
        if missing:
            raise DeployError(f"The service description lacks {', '.join(missing)}.")
        numbers = {_METADATA_FIELDS[key]: value for key, value in metadata.items()}
        return cls(name=described["name"], processor=described["processor"],
                   model_path=described["model_path"],
                   warm_up_data_path=described.get("warm_up_data_path"), **numbers)


def write_service_json(path: str | os.PathLike[str], service: EasService,
                       overwrite: bool = False) -> Path:
    """Write ``service.to_json()`` to ``path``, whole or not at all.

    Raises
    ------
    DeployTargetExistsError
        When ``path`` exists and ``overwrite`` is False.
    """
    refuse_existing([path], overwrite)
    return write_bytes_atomically(path, service.to_json().encode("utf-8"))


def read_service_json(path: str | os.PathLike[str]) -> EasService:
    """The service described by the JSON file at ``path``.

    Raises
    ------
    DeployError
        When the file is missing, is not JSON, or does not describe an
        :class:`EasService` (see :meth:`EasService.from_dict`).
    """
    try:
        described = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"{path} does not exist; write it with write_service_json.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DeployError(f"{path} is not a readable JSON file ({error}).") from None
    return EasService.from_dict(described)


def check_service(
    service: EasService,
    info: SavedModelInfo | None = None,
    runtime: str | Runtime | None = None,
) -> list[Finding]:
    """What EAS would refuse or stumble on in ``service``.

    Parameters
    ----------
    service : EasService
        The description.
    info : SavedModelInfo, optional
        The export it serves: its graph is checked against the processor's TensorFlow
        (:func:`~savedmodel_widgets.savedmodel.checks.check` with that runtime).
    runtime : str or Runtime, optional
        The runtime the export was made for (``"eas:tensorflow_cpu_2.7"``).

    Returns
    -------
    list of Finding
        Errors: ``unknown-processor``, ``gpu-processor-without-gpu``,
        ``model-path-not-archive`` (an HTTP ``model_path`` that is no archive),
        ``processor-refuses-model`` (the processor's TensorFlow lacks an op or attribute
        the export uses). Warnings: ``service-name-rule`` (see the module docstring),
        ``model-path-placeholder``, ``warm-up-path-placeholder``, ``model-path-scheme``,
        ``warm-up-path-scheme``, ``processor-differs-from-runtime``. Note: ``no-warm-up``.
    """
    findings = list(_field_findings(service))
    if service.processor not in EAS_PROCESSORS:
        return findings
    serves = get_runtime(f"eas:{service.processor}")
    if runtime is not None:
        made_for = get_runtime(runtime)
        if made_for.release != serves.release:
            choose = (f"Set processor to {processor_for(made_for)!r}, or export"
                      if made_for.server == "eas" else "Export")
            findings.append(Finding(
                "warning", "processor-differs-from-runtime",
                f"The export was made for {made_for.title}, but {service.processor} runs "
                f"TensorFlow {serves.release}.",
                f"{choose} again for {serves.name!r}."))
    if info is not None:
        findings += _refusals(service, serves, info)
    return findings


def _field_findings(service: EasService) -> list[Finding]:
    findings = []
    problem = service_name_problem(service.name)
    if problem:
        findings.append(Finding(
            "warning", "service-name-rule", f"{problem[0].upper()}{problem[1:]}.",
            "Name the service with a lowercase letter followed by lowercase letters, digits "
            "or underscores (the EAS console's rule; the EAS pages stored here do not state "
            "it), e.g. 'digits_classifier'."))
    if service.processor not in EAS_PROCESSORS:
        findings.append(Finding(
            "error", "unknown-processor",
            f"{service.processor!r} is not an EAS TensorFlow processor.",
            f"Use one of {', '.join(EAS_PROCESSORS)} (EAS's page 'TensorFlow processor', "
            f"{TENSORFLOW_PROCESSOR_PAGE})."))
    elif service.processor.startswith("tensorflow_gpu_") and service.gpu < 1:
        findings.append(Finding(
            "error", "gpu-processor-without-gpu",
            f"{service.processor} runs on a GPU, but metadata.gpu is {service.gpu}.",
            "Set gpu to 1 or more, or choose the tensorflow_cpu_ processor of the same "
            "release."))
    findings += _path_findings("model_path", service.model_path, MODEL_PATH_PLACEHOLDER,
                               "the model archive (write_model_archive)")
    if service.warm_up_data_path is None:
        findings.append(Finding(
            "info", "no-warm-up",
            "The service names no warm-up file, so its first requests load the model's "
            "graph and may be slow (EAS's page 'Warm up model services').",
            "Write one with write_eas_warmup, upload it and set warm_up_data_path."))
    else:
        findings += _path_findings("warm_up_data_path", service.warm_up_data_path,
                                   WARM_UP_PATH_PLACEHOLDER,
                                   "the warm-up file (write_eas_warmup)")
    return findings


def _path_findings(field_name: str, value: str, placeholder: str, what: str) -> list[Finding]:
    code = field_name.replace("_data", "").replace("_", "-")
    if value.startswith(placeholder.rsplit("/", 1)[0] + "/"):
        return [Finding("warning", f"{code}-placeholder",
                        f"{field_name} is still the placeholder {placeholder!r}.",
                        f"Upload {what} to OSS and set {field_name} to its oss:// path or "
                        "HTTP URL before deploying.")]
    parsed = urlparse(value)
    if parsed.scheme not in _SCHEMES:
        return [Finding("warning", f"{code}-scheme",
                        f"{field_name} {value!r} is neither an oss:// path nor an HTTP URL, "
                        f"which is what EAS fetches from ({SERVICE_JSON_PAGE}).",
                        f"Upload {what} to OSS and name its oss:// path.")]
    if (field_name == "model_path" and parsed.scheme != "oss"
            and not parsed.path.lower().endswith(_HTTP_ARCHIVES)):
        return [Finding("error", "model-path-not-archive",
                        f"model_path {value!r} is an HTTP address that names no archive; EAS "
                        "takes an HTTP model_path only as a TAR.GZ, TAR, BZ2 or ZIP package "
                        f"({SERVICE_JSON_PAGE}).",
                        "Point it at the .tar.gz or .zip that write_model_archive made.")]
    return []


def _refusals(service: EasService, serves: Runtime, info: SavedModelInfo) -> list[Finding]:
    """One error when the processor's TensorFlow refuses an op or attribute of the export."""
    results = check(info, "eas", runtime=serves)
    refused = [r for r in results
               if r.level == "error" and r.code in set(RUNTIME_CODES.values())]
    if not refused:
        return []
    more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
    return [Finding(
        "error", "processor-refuses-model",
        f"{service.processor} runs TensorFlow {serves.release}, which will not load {info.path}: "
        f"{refused[0].message}{more}",
        f"Export again for 'eas:{service.processor}' (smw.export with that runtime), or "
        "choose the processor the export was made for.")]
