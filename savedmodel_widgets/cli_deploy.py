"""``python -m savedmodel_widgets deploy DIR --eas PROCESSOR | --tfserving RELEASE``.

Writes the deployment kit (:func:`~savedmodel_widgets.deploy.kit.deployment_kit`) and prints
its files, the checks of them read back, and the next steps. :mod:`savedmodel_widgets.cli`
turns the outcome into its exit codes: 0 ready, 1 written but a check found an error, 2
refused (nothing written).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import SavedModelWidgetsError

__all__ = [
    "add_deploy_parser",
    "run_deploy",
]

def add_deploy_parser(commands: Any) -> None:
    """Add the ``deploy`` command to ``python -m savedmodel_widgets``'s sub-commands."""
    deployer = commands.add_parser(
        "deploy",
        help="write the files that deploy a SavedModel on EAS or TF Serving",
        description="Write what a serving team needs, then read it back and check it. "
        "EAS: the model archive, the warm-up request file and the service description JSON "
        "(in DIR.eas/ by default). TF Serving: the warm-up records inside the export, "
        "models.config beside the model's folder, and the docker run line. Nothing is "
        "replaced without --overwrite.",
    )
    deployer.add_argument("path", help="the SavedModel directory (for TF Serving: a "
                          "numbered version folder, e.g. export/digits/1)")
    target = deployer.add_mutually_exclusive_group(required=True)
    target.add_argument("--eas", metavar="PROCESSOR",
                        help="an EAS TensorFlow processor, e.g. tensorflow_cpu_1.15")
    target.add_argument("--tfserving", metavar="RELEASE",
                        help="a TF Serving release, e.g. 2.7")
    deployer.add_argument("--out", metavar="DIR", help="where the files go (EAS: default "
                          "DIR.eas; TF Serving: the folder of models.config)")
    deployer.add_argument("--inputs", metavar="FILE.npz",
                          help="arrays for the warm-up requests, saved with numpy.savez "
                          "under the input aliases (default: sample values)")
    deployer.add_argument("--signature", action="append", dest="signatures", metavar="NAME",
                          help="a predict signature to warm up; repeat for more "
                          "(default: all; EAS uses the first)")
    deployer.add_argument("--rows-per-request", type=int, metavar="N",
                          help="split the arrays into warm-up requests of N rows")
    deployer.add_argument("--overwrite", action="store_true",
                          help="replace the files of an earlier kit")
    deployer.add_argument("--json", action="store_true", help="print JSON instead of text")
    eas = deployer.add_argument_group("EAS")
    eas.add_argument("--service-name", metavar="NAME",
                     help="the service's name (default: from the model's folder)")
    eas.add_argument("--model-path", metavar="URL",
                     help="where the archive will be, oss://... or http(s)://... "
                     "(default: a placeholder to replace)")
    eas.add_argument("--instances", type=int, default=1, help="instance count (default: 1)")
    eas.add_argument("--cpu", type=int, default=1, help="CPU cores per instance (default: 1)")
    eas.add_argument("--memory", type=int, default=4000,
                     help="memory per instance in MB (default: 4000)")
    eas.add_argument("--archive", choices=("tar.gz", "zip"), default="tar.gz",
                     help="the model archive's format (default: tar.gz)")
    serving = deployer.add_argument_group("TF Serving")
    serving.add_argument("--model-name", metavar="NAME",
                         help="the name TF Serving serves it under (default: its folder's)")
    serving.add_argument("--version-policy", default="latest", metavar="POLICY",
                         help="latest, all, or version numbers such as 1,3 (default: latest)")
    serving.add_argument("--also", action="append", default=[], metavar="MODEL_DIR",
                         help="another model to serve beside it, in the same models folder "
                         "(models.config lists it under its folder's name); repeat for more")


def run_deploy(args: argparse.Namespace) -> bool | None:
    """Run ``deploy``: whether the kit written is ready, or None when it was refused
    (the reason printed to stderr, nothing written)."""
    from .deploy.kit import deployment_kit

    target = f"eas:{args.eas}" if args.eas else f"tfserving:{args.tfserving}"
    try:
        inputs = _load_inputs(args.inputs) if args.inputs else None
        kit = deployment_kit(
            args.path, target, out=args.out, inputs=inputs, signature_names=args.signatures,
            rows_per_request=args.rows_per_request, service_name=args.service_name,
            model_path=args.model_path, instances=args.instances, cpu=args.cpu,
            memory=args.memory, archive_format=args.archive, model_name=args.model_name,
            version_policy=_version_policy(args.version_policy), more_models=args.also,
            overwrite=args.overwrite)
    except (SavedModelWidgetsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    print(json.dumps(kit.to_dict(), indent=2) if args.json else kit.summary())
    return kit.ready


def _load_inputs(path: str) -> dict[str, Any]:
    import numpy as np

    from .errors import DeployError

    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {alias: arrays[alias] for alias in arrays.files}
    except (OSError, ValueError) as error:
        raise DeployError(f"--inputs {path}: {error}. Save the arrays with "
                          "numpy.savez(path, alias=array, ...).") from None


def _version_policy(text: str) -> str | tuple[int, ...]:
    from .errors import DeployError

    if text in ("latest", "all"):
        return text
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise DeployError(f"--version-policy {text!r}: give latest, all, or version numbers "
                          "such as 1,3.") from None
