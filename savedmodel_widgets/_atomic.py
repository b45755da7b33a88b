"""Put a finished directory into place in one step, so a crash leaves no partial export.

A SavedModel is written into a staging directory beside the target
(``.NAME.partial-HOST-PID-TOKEN``) and then renamed onto the target. Stale
staging directories are removed only when this machine wrote them (its host
name) and their process no longer runs: on a shared volume (NFS, two
containers) another machine's export in progress is left alone. On Linux the
rename is ``renameat2`` with ``RENAME_NOREPLACE`` (a new target) or
``RENAME_EXCHANGE`` (replacing an existing one): at every moment the target is
either the old directory or the complete new one. Elsewhere two plain renames
are used, with the old directory kept until the new one is in place.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import secrets
import shutil
import socket
from pathlib import Path
from typing import Any

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_STAGING = re.compile(
    r"\.(?P<name>.+)\.(partial|replaced)-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]+\Z"
)


@functools.cache
def _renameat2() -> Any:
    """libc's ``renameat2``, or None where the C library lacks it."""
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    return function


def _rename(source: Path, target: Path, flags: int) -> bool:
    """Rename with ``renameat2``; False when the system or file system lacks it."""
    import ctypes

    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(target))


@functools.cache
def host_tag() -> str:
    """This machine's host name as it appears in staging names (letters, digits, ``_``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def staging_path(target: Path, what: str = "partial") -> Path:
    """A fresh hidden path beside ``target`` that names this machine and process."""
    token = secrets.token_hex(4)
    return target.parent / f".{target.name}.{what}-{host_tag()}-{os.getpid()}-{token}"


def remove_stale_staging(parent: Path) -> list[Path]:
    """Delete staging directories in ``parent`` that this machine's processes left and
    that no longer run; those of other machines are never touched."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        match = _STAGING.match(entry.name)
        if match and match["host"] == host_tag() and not _process_alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish_new(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, which must not exist (an empty directory is removed).

    Raises
    ------
    FileExistsError
        When ``target`` holds files, or another process created it meanwhile.
    """
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if _rename(staging, target, _RENAME_NOREPLACE):
        return
    if target.exists():
        raise FileExistsError(errno.EEXIST, "Target exists", str(target))
    os.rename(staging, target)


def publish_replacing(staging: Path, target: Path) -> None:
    """Swap ``staging`` in for an existing ``target`` and delete the old contents."""
    if not target.exists():
        publish_new(staging, target)
        return
    if _rename(staging, target, _RENAME_EXCHANGE):
        shutil.rmtree(staging)  # now holds the old contents
        return
    old = staging_path(target, "replaced")
    os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old)
