"""Fetch an old TensorFlow's native libraries into the user's cache, once.

An old release's published wheel does not install under today's Python, but its C API
loads into it with ctypes. :func:`fetch_runtime` downloads the wheel with pip
(``python -m pip download --no-deps --only-binary=:all: --python-version .. --platform ..``),
keeps only the two libraries that hold the C API (``libtensorflow_framework.so*`` and
``python/_pywrap_tensorflow_internal.so``, or ``libtensorflow_cc.so*`` from the release
that moved the C API there), and deletes the wheel. The libraries go into
``$SAVEDMODEL_WIDGETS_CACHE/runtimes/<version>/`` (by default
``~/.cache/savedmodel-widgets/runtimes/<version>/``), written into a temporary directory
and renamed into place, so an interrupted fetch leaves nothing half-made; afterwards the
cache is used offline.

Libraries built for Python 3.8 or older import the data symbol
``_Py_CheckRecursionLimit``, which Python 3.9 removed; that one reference is made weak
at extraction (:mod:`._elf`), so the library loads without a C compiler.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import SavedModelWidgetsError
from ._elf import make_undefined_symbols_weak
from .catalogue import RELEASES, Runtime, get_runtime, release_key

__all__ = [
    "CACHE_VARIABLE",
    "FetchedRuntime",
    "RuntimeFetchError",
    "Wheel",
    "cache_root",
    "fetch_runtime",
    "wheel_for",
]

CACHE_VARIABLE = "SAVEDMODEL_WIDGETS_CACHE"
"""The environment variable that moves the cache (default ``~/.cache/savedmodel-widgets``)."""

REMOVED_PYTHON_SYMBOLS = {"_Py_CheckRecursionLimit"}
"""Python data symbols that old wheels import and Python 3.9+ no longer defines."""

PIP_TIMEOUT = 900.0
_MANIFEST = "runtime.json"
_PLATFORMS = ("manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64",
              "manylinux1_x86_64")
_FIRST_PATCH = {"1.13": "1.13.1", "2.16": "2.16.1"}  # no X.Y.0 was published

_WHEEL_MB = {"1.12.0": 83, "1.14.0": 109, "1.15.0": 111, "2.3.0": 137, "2.4.0": 145,
              "2.7.0": 180}
"""Measured sizes of the EAS releases' wheels, said before downloading them."""

Progress = Callable[[str], None]


class RuntimeFetchError(SavedModelWidgetsError, RuntimeError):
    """An old TensorFlow runtime could not be downloaded or unpacked; the message says
    what was tried and how to fetch it by hand."""


@dataclass(frozen=True)
class Wheel:
    """The published wheel that carries a release's C API.

    Attributes
    ----------
    distribution : str
        ``"tensorflow"`` or ``"tensorflow-cpu"``.
    version : str
        The full version downloaded (``"1.15.0"``).
    python : str
        The Python version the wheel is built for (``"3.7"``).
    """

    distribution: str
    version: str
    python: str

    @property
    def requirement(self) -> str:
        """``tensorflow-cpu==1.15.0``."""
        return f"{self.distribution}=={self.version}"

    def pip_command(self, destination: str) -> list[str]:
        """The ``pip download`` command that fetches this wheel into ``destination``."""
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--python-version", self.python, "--dest", destination,
                   "--disable-pip-version-check", "--progress-bar", "off"]
        for platform in _PLATFORMS:
            command += ["--platform", platform]
        return command + [self.requirement]


def wheel_for(release: str) -> Wheel:
    """The wheel of TensorFlow ``release`` (major.minor) whose C API this machine can load.

    CPU-only builds: ``tensorflow`` up to 1.14 and for 2.0 (CPU-only then),
    ``tensorflow-cpu`` otherwise; each built for the newest Python the release supports
    (so fewer removed Python symbols to work around).

    Raises
    ------
    ValueError
        For a release the project does not know.
    """
    if release not in RELEASES:
        raise ValueError(f"No TensorFlow release {release!r} is known; the known ones are "
                         f"{', '.join(RELEASES)}.")
    key = release_key(release)
    distribution = "tensorflow" if key <= (1, 14) or key == (2, 0) else "tensorflow-cpu"
    python = ("3.6" if key <= (1, 14) else "3.7" if key <= (2, 1) else "3.8" if key <= (2, 4)
              else "3.9" if key <= (2, 7) else "3.10" if key <= (2, 11) else "3.11")
    return Wheel(distribution, _FIRST_PATCH.get(release, f"{release}.0"), python)


@dataclass(frozen=True)
class FetchedRuntime:
    """An old TensorFlow's C API, unpacked in the cache.

    Attributes
    ----------
    release : str
        major.minor (``"1.15"``).
    version : str
        The full version (``"1.15.0"``).
    directory : Path
        The cache directory holding the libraries.
    framework : Path
        ``libtensorflow_framework.so*``, loaded first.
    library : Path
        The library exporting the C API (``_pywrap_tensorflow_internal.so`` or
        ``libtensorflow_cc.so*``).
    """

    release: str
    version: str
    directory: Path
    framework: Path
    library: Path


def cache_root() -> Path:
    """Where runtimes are kept: ``$SAVEDMODEL_WIDGETS_CACHE/runtimes`` or
    ``~/.cache/savedmodel-widgets/runtimes``."""
    base = os.environ.get(CACHE_VARIABLE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "savedmodel-widgets")
    return Path(base) / "runtimes"


def _cached(directory: Path, release: str) -> FetchedRuntime | None:
    manifest = directory / _MANIFEST
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    framework, library = directory / data["framework"], directory / data["library"]
    if not (framework.is_file() and library.is_file()):
        return None
    return FetchedRuntime(release, data["version"], directory, framework, library)


def fetch_runtime(
    release_or_runtime: str | Runtime, *, progress: Progress | None = None
) -> FetchedRuntime:
    """The C API of a TensorFlow release, downloaded into the cache the first time.

    Parameters
    ----------
    release_or_runtime : str or Runtime
        A release (``"1.15"``), a runtime name (``"eas:tensorflow_cpu_1.15"``) or a
        :class:`Runtime`.
    progress : callable, optional
        Called with a message before each slow step
        (``"Downloading tensorflow-cpu 1.15.0 (111 MB) ..."``).

    Returns
    -------
    FetchedRuntime

    Raises
    ------
    RuntimeFetchError
        When pip cannot download the wheel (no network, no such wheel) or it lacks the
        libraries; the message says what was run and how to fetch it by hand.
    ValueError
        For an unknown release or runtime name, or the ``installed`` runtime (which
        needs no fetching).
    """
    release = _release_of(release_or_runtime)
    wheel = wheel_for(release)
    directory = cache_root() / wheel.version
    found = _cached(directory, release)
    if found is not None:
        return found
    directory.parent.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: None)
    staging = Path(tempfile.mkdtemp(prefix=f".{wheel.version}.partial-", dir=directory.parent))
    try:
        wheel_file = _download(wheel, staging, say)
        say(f"Unpacking the TensorFlow {wheel.version} C API from {wheel_file.name} ...")
        framework, library = _extract(wheel_file, staging)
        wheel_file.unlink()
        make_undefined_symbols_weak(staging / library, REMOVED_PYTHON_SYMBOLS)
        (staging / _MANIFEST).write_text(json.dumps(
            {"version": wheel.version, "wheel": wheel_file.name, "framework": framework,
             "library": library}), encoding="utf-8")
        try:
            os.rename(staging, directory)
        except OSError:  # another process finished the same fetch first
            if _cached(directory, release) is None:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    fetched = _cached(directory, release)
    assert fetched is not None
    say(f"TensorFlow {wheel.version} is ready in {directory}.")
    return fetched


def _release_of(release_or_runtime: str | Runtime) -> str:
    if isinstance(release_or_runtime, str) and release_or_runtime in RELEASES:
        return release_or_runtime
    runtime = get_runtime(release_or_runtime)
    if runtime.is_installed:
        raise ValueError("The 'installed' runtime is the TensorFlow installed here; only "
                         "other runtimes are fetched.")
    return runtime.release


def _download(wheel: Wheel, staging: Path, say: Progress) -> Path:
    command = wheel.pip_command(str(staging))
    size = _WHEEL_MB.get(wheel.version)
    say(f"Downloading {wheel.distribution} {wheel.version}"
        + (f" ({size} MB)" if size else "") + " ...")
    by_hand = (f"To fetch it by hand, run\n  {' '.join(command[:2])} {' '.join(command[2:])}"
               f"\nwhere the network allows, and copy the .whl file into a folder given "
               f"to pip with PIP_FIND_LINKS, or set {CACHE_VARIABLE} to a cache filled on "
               "another machine.")
    try:
        completed = subprocess.run(command, capture_output=True, text=True,
                                   timeout=PIP_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeFetchError(f"Downloading {wheel.requirement} for Python {wheel.python} "
                                f"failed: {error}. {by_hand}") from error
    wheels = sorted(staging.glob("*.whl"))
    if completed.returncode != 0 or not wheels:
        tail = "\n".join(completed.stderr.strip().splitlines()[-6:])
        raise RuntimeFetchError(
            f"pip could not download {wheel.requirement} (the wheel for Python "
            f"{wheel.python}, manylinux x86_64): exit code {completed.returncode}.\n{tail}\n"
            f"{by_hand}")
    say(f"Downloaded {wheels[0].name} ({wheels[0].stat().st_size / 1e6:.0f} MB).")
    return wheels[0]


def _extract(wheel_file: Path, staging: Path) -> tuple[str, str]:
    """Copy the framework and C-API libraries out of the wheel; their names in ``staging``."""
    with zipfile.ZipFile(wheel_file) as archive:
        names = archive.namelist()
        frameworks = [n for n in names if _base(n).startswith("libtensorflow_framework.so")
                      and _depth(n) <= 3]
        libraries = ([n for n in names if _base(n).startswith("libtensorflow_cc.so")
                      and _depth(n) <= 3]
                     or [n for n in names if n.endswith("python/_pywrap_tensorflow_internal.so")])
        if not frameworks or not libraries:
            raise RuntimeFetchError(
                f"{wheel_file.name} holds no libtensorflow_framework.so* or C-API library "
                "(_pywrap_tensorflow_internal.so, libtensorflow_cc.so*); it cannot be used.")
        chosen = [min(frameworks, key=len), min(libraries, key=len)]
        for name in chosen:
            with archive.open(name) as member, open(staging / _base(name), "wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
    return _base(chosen[0]), _base(chosen[1])


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _depth(name: str) -> int:
    return name.count("/")
