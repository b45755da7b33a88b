"""Which TensorFlow each serving system runs: the runtimes an export can be made for.

The names are what a user chooses (``runtime="eas:tensorflow_cpu_1.15"``):

- ``eas:<processor>``: an Alibaba PAI-EAS TensorFlow processor. The list and each
  processor's TensorFlow version come from EAS's documentation page "TensorFlow
  processor" (Platform For AI > EAS > Deploy services > Processors,
  https://www.alibabacloud.com/help/en/pai/user-guide/tensorflow-processor, revised 2026),
  whose processor table names ``tensorflow_cpu_1.12`` ... ``tensorflow_cpu_2.7`` and
  ``tensorflow_gpu_1.12`` ... ``tensorflow_gpu_2.7``; the number is the TensorFlow release.
- ``tfserving:<X.Y>``: a TensorFlow Serving release, which is built with the TensorFlow
  release of the same number (TF Serving's release notes).
- ``tf:<X.Y>``: a plain TensorFlow release, for any other server built on it.
- ``installed``: the TensorFlow installed beside this package (the default).

Nothing here imports TensorFlow; the installed version is read from the package metadata.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EAS_RELEASES",
    "INSTALLED",
    "RELEASES",
    "Runtime",
    "ServerKind",
    "get_runtime",
    "installed_release",
    "release_key",
    "runtimes",
]

ServerKind = Literal["eas", "tfserving", "tf", "installed"]

INSTALLED: Literal["installed"] = "installed"
"""The name of the runtime that is the TensorFlow installed here."""

RELEASES: tuple[str, ...] = (
    "1.12", "1.13", "1.14", "1.15",
    "2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10",
    "2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "2.17", "2.18", "2.19", "2.20", "2.21",
)
"""Every TensorFlow release (major.minor) the project knows, oldest first: the op
registry holds each of them."""

_EAS_CPU = ("1.12", "1.14", "1.15", "2.3", "2.4", "2.7")
_EAS_GPU = ("1.12", "1.14", "1.15", "2.4", "2.7")
EAS_RELEASES = frozenset(_EAS_CPU + _EAS_GPU)
"""The TensorFlow releases EAS's TensorFlow processors run."""
_TF_SERVING = RELEASES[RELEASES.index("1.15"):]

EAS_DOCUMENTATION = "https://www.alibabacloud.com/help/en/pai/user-guide/tensorflow-processor"
"""Where the EAS processor list comes from (the page "TensorFlow processor")."""


def release_key(release: str) -> tuple[int, ...]:
    """``"2.10"`` -> ``(2, 10)``, so releases sort by number rather than by text."""
    return tuple(int(part) for part in release.split(".")[:2])


@dataclass(frozen=True)
class Runtime:
    """A TensorFlow that serves exports: an EAS processor, a TF Serving release, or a release.

    Attributes
    ----------
    name : str
        What the user passes as ``runtime=``: ``"eas:tensorflow_cpu_1.15"``,
        ``"tfserving:2.7"``, ``"tf:1.14"`` or ``"installed"``.
    server : {"eas", "tfserving", "tf", "installed"}
        The kind of server.
    release : str
        The TensorFlow release it runs, major.minor (``"1.15"``).
    title : str
        How a menu shows it: ``"EAS tensorflow_cpu_1.15 (TensorFlow 1.15)"``.
    gpu : bool
        An EAS GPU processor; it runs the same TensorFlow release as the CPU one, which
        is the build that loads here.
    """

    name: str
    server: ServerKind
    release: str
    title: str
    gpu: bool = False

    @property
    def key(self) -> tuple[int, ...]:
        """The release as numbers, for comparing runtimes."""
        return release_key(self.release)

    @property
    def is_installed(self) -> bool:
        """True for the TensorFlow installed here (exports need no compatibility step)."""
        return self.server == INSTALLED

    def is_older_than(self, release: str) -> bool:
        """True when this runtime's release is older than ``release`` (major.minor)."""
        return self.key < release_key(release)


def installed_release() -> str:
    """The installed TensorFlow's release, major.minor, read without importing it.

    Returns the newest known release when no TensorFlow distribution is installed.
    """
    for distribution in ("tensorflow-cpu", "tensorflow", "tensorflow-intel", "tf-nightly"):
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
        return ".".join(version.split(".")[:2])
    return RELEASES[-1]


@functools.cache
def runtimes() -> tuple[Runtime, ...]:
    """Every runtime an export can be made for: EAS processors first (CPU, then GPU,
    newest first), then TF Serving releases and plain TensorFlow releases (newest first),
    then ``installed``.

    Examples
    --------
    >>> [r.name for r in runtimes()][:2]
    ['eas:tensorflow_cpu_2.7', 'eas:tensorflow_cpu_2.4']
    """
    found: list[Runtime] = []
    for gpu, releases in ((False, _EAS_CPU), (True, _EAS_GPU)):
        for release in reversed(releases):
            processor = f"tensorflow_{'gpu' if gpu else 'cpu'}_{release}"
            found.append(Runtime(f"eas:{processor}", "eas", release,
                                 f"EAS {processor} (TensorFlow {release})", gpu))
    found += [Runtime(f"tfserving:{release}", "tfserving", release,
                      f"TF Serving {release} (TensorFlow {release})")
              for release in reversed(_TF_SERVING)]
    found += [Runtime(f"tf:{release}", "tf", release, f"TensorFlow {release}")
              for release in reversed(RELEASES)]
    release = installed_release()
    found.append(Runtime(INSTALLED, INSTALLED, release,
                         f"Installed TensorFlow ({release})"))
    return tuple(found)


def get_runtime(name: str | Runtime | None) -> Runtime:
    """The runtime called ``name`` (``None`` means ``"installed"``).

    Raises
    ------
    ValueError
        For an unknown name; the message suggests the closest known names and says
        where the whole list is.
    """
    if isinstance(name, Runtime):
        return name
    wanted = INSTALLED if name is None else name
    for runtime in runtimes():
        if runtime.name == wanted:
            return runtime
    names = [runtime.name for runtime in runtimes()]
    close = difflib.get_close_matches(str(wanted), names, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Unknown runtime {wanted!r}.{hint} Runtimes are EAS processors "
        f"('eas:tensorflow_cpu_1.15'), TF Serving releases ('tfserving:2.7'), TensorFlow "
        f"releases ('tf:1.14') and 'installed'; savedmodel_widgets.runtimes() lists them all."
    )
