"""Write deployment files whole or not at all, and never replace one without being asked.

Each file is written under a hidden staging name beside its target (the one
:func:`~savedmodel_widgets._atomic.staging_path` gives, which names this machine and
process) and renamed onto the target with :func:`os.replace`, so a reader sees the old
file or the complete new one, never a part. :func:`refuse_existing` is called for every
file of a kit before the first is written, so a refusal leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .._atomic import staging_path
from ..errors import DeployTargetExistsError

__all__ = [
    "refuse_existing",
    "write_atomically",
    "write_bytes_atomically",
]


def refuse_existing(paths: Iterable[str | os.PathLike[str]], overwrite: bool) -> None:
    """Raise :class:`DeployTargetExistsError` naming every path that exists, unless
    ``overwrite``; a directory in the way is refused even with ``overwrite``."""
    targets = [Path(path) for path in paths]
    directories = [str(path) for path in targets if path.is_dir()]
    if directories:
        raise DeployTargetExistsError(
            f"{directories[0]} is a directory, where a file is to be written; choose another "
            "output folder or move the directory away.", directories)
    existing = [str(path) for path in targets if path.exists() or path.is_symlink()]
    if existing and not overwrite:
        listed = ", ".join(existing)
        raise DeployTargetExistsError(
            f"{listed} already exist{'s' if len(existing) == 1 else ''}; pass overwrite=True "
            "(--overwrite on the command line, 'Replace existing files' in the widget) to "
            "replace them, or choose another output folder. Nothing was written.", existing)


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(staging)`` to fill a staging file beside ``path``, then rename it onto
    ``path``; on any error the staging file is removed and ``path`` is untouched.

    Returns the target path. Missing parent directories are created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(target)
    try:
        write(staging)
        with open(staging, "rb") as written:
            os.fsync(written.fileno())
        os.replace(staging, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise
    return target


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` with :func:`write_atomically`."""
    return write_atomically(path, lambda staging: staging.write_bytes(data))
