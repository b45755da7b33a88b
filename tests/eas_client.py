"""The real ``eas-prediction`` client, in a virtual environment of its own.

The SDK pins ``protobuf<=3.20.3``, which TensorFlow cannot use, so it cannot live in
the test process: :func:`eas_client_python` builds a second virtual environment with it
(once; reused while it imports), and :func:`run_eas_job` runs one request there with
``eas_client_job.py`` and returns what the client got.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import venv
from pathlib import Path

import pytest

EAS_PREDICTION = "eas-prediction==0.36"
JOB_SCRIPT = Path(__file__).with_name("eas_client_job.py")


def eas_client_python(cache_dir: Path) -> Path:
    """The Python of a virtual environment under ``cache_dir`` with ``eas-prediction``.

    Built in a temporary directory beside it and renamed into place when complete, so
    a failed build leaves nothing that looks finished.
    """
    home = cache_dir / EAS_PREDICTION.replace("==", "-")
    python = home / "bin" / "python"
    if python.exists() and _imports_sdk(python):
        return python
    building = Path(tempfile.mkdtemp(prefix="building-", dir=cache_dir))
    try:
        venv.EnvBuilder(with_pip=True).create(building)
        subprocess.run([building / "bin" / "python", "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", EAS_PREDICTION],
                       check=True, timeout=600, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
        building.rename(home)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    if not _imports_sdk(python):
        raise RuntimeError(f"{EAS_PREDICTION} was installed in {home} but does not import.")
    return python


def _imports_sdk(python: Path) -> bool:
    result = subprocess.run([python, "-c", "import eas_prediction, numpy"],
                            capture_output=True, timeout=120)
    return result.returncode == 0


@pytest.fixture(scope="session")
def eas_python(request, tmp_path_factory) -> Path:
    """The Python that has the real ``eas-prediction`` SDK (built once per cache)."""
    cache = getattr(request.config, "cache", None)
    directory = Path(cache.mkdir("eas-client")) if cache else tmp_path_factory.mktemp("eas")
    return eas_client_python(directory)


def run_eas_job(python: Path, job: dict) -> dict:
    """Run one request with the real client (see ``eas_client_job.py`` for the job's keys).

    Returns ``{"outputs": {alias: {"shape": [...], "values": [...]}}}`` or
    ``{"status": HTTP status, "message": text}`` when the client raised.
    """
    result = subprocess.run([python, JOB_SCRIPT], input=json.dumps(job), text=True,
                            capture_output=True, timeout=180)
    if result.returncode != 0:
        raise AssertionError(f"The EAS client failed:\n{result.stderr}")
    return json.loads(result.stdout)


def run_in_client_venv(python: Path, code: str, npz: Path) -> None:
    """Run generated client code in the client's venv; its ``outputs`` go to ``npz``."""
    script = f"{code}\nnp.savez({str(npz)!r}, **outputs)\n"
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise AssertionError(f"The generated code failed:\n{code}\n{result.stderr}")

