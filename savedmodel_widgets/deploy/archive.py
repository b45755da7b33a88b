"""The model archive a PAI-EAS service loads: a SavedModel packed as ``.tar.gz`` or ``.zip``.

What EAS's pages say (the pages are named in :mod:`.eas_service`):

- "Deploy services with JSON" (zh: https://help.aliyun.com/zh/pai/parameters-of-model-services):
  ``model_path`` is an OSS path (a file or a folder) or an HTTP address, and an HTTP address
  must be a compressed package, ``TAR.GZ``, ``TAR``, ``BZ2`` or ``ZIP``.
- "Export TensorFlow models in the SavedModel format"
  (https://www.alibabacloud.com/help/doc-detail/111030.htm): the TensorFlow processor loads
  a SavedModel, ``saved_model.pb`` (or ``.pbtxt``), ``variables/`` and optional ``assets/``.
- The EASCMD example service points ``model_path`` at ``mnist_saved_model.tar.gz``
  (https://help.aliyun.com/en/pai/developer-reference/run-commands-to-use-the-eascmd-client).

Not stated by any page stored here: where the SavedModel sits inside the archive. This
module puts the SavedModel's own files at the archive root (``saved_model.pb``,
``variables/...``), what ``tar czf model.tar.gz -C export/1 .`` makes, so a finding that
rests on that layout alone (:func:`check_model_archive`'s ``archive-nested``) is a warning.
What the tests back with a real run: the extracted archive loads in TensorFlow's serve
loader and in the real TensorFlow 1.15 of ``tensorflow_cpu_1.15``.

The archive is deterministic (sorted names, owner and group cleared, fixed modes, a gzip
header without a time), holds no links and no absolute or ``..`` names, and is written
whole or not at all. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import stat
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from .._atomic import staging_path
from ..errors import DeployError, DeployTargetExistsError
from ..savedmodel.finding import Finding
from ..savedmodel.info import SavedModelInfo
from ..savedmodel.layout import PB_FILE, PBTXT_FILE
from ._files import refuse_existing, write_atomically

__all__ = [
    "ARCHIVE_SUFFIXES",
    "archive_members",
    "check_model_archive",
    "extract_model_archive",
    "write_model_archive",
]

ARCHIVE_SUFFIXES = (".tar.gz", ".zip")
"""The archive formats written, chosen by the target file's name."""

_MODEL_FILES = (PB_FILE, PBTXT_FILE)
_ZIP_EPOCH = time.mktime((1980, 1, 1, 0, 0, 0, 0, 0, -1))


@dataclass(frozen=True)
class _Member:
    """One entry of an archive, as read back: its name, kind and size."""

    name: str
    is_dir: bool
    is_file: bool
    size: int


def write_model_archive(
    export_dir: str | os.PathLike[str],
    target_file: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Path:
    """Pack the SavedModel in ``export_dir`` into ``target_file`` for EAS.

    Parameters
    ----------
    export_dir : str or os.PathLike
        The SavedModel directory (the one that holds ``saved_model.pb``; for a versioned
        export, the version folder).
    target_file : str or os.PathLike
        Ends in ``.tar.gz`` or ``.zip``, which picks the format. It must not lie inside
        ``export_dir``.
    overwrite : bool
        Replace an existing ``target_file``.

    Returns
    -------
    pathlib.Path
        ``target_file``.

    Raises
    ------
    DeployError
        For another suffix, a folder without ``saved_model.pb``, a target inside the
        export, or a symbolic link or special file in the export.
    DeployTargetExistsError
        When ``target_file`` exists and ``overwrite`` is False; nothing is written.
    """
    source = Path(export_dir)
    target = Path(target_file)
    suffix = _archive_suffix(target)
    entries = list(_export_entries(source))
    if target.resolve().is_relative_to(source.resolve()):
        raise DeployError(f"{target} lies inside the export {source}; the archive would "
                          "contain itself. Write it next to the export folder instead.")
    refuse_existing([target], overwrite)
    writer = _write_tar if suffix == ".tar.gz" else _write_zip
    return write_atomically(target, lambda staging: writer(staging, entries))


def archive_members(path: str | os.PathLike[str]) -> list[str]:
    """The names in the archive at ``path``, in its order; directories end with ``/``.

    Raises
    ------
    DeployError
        When ``path`` is not a readable ``.tar.gz``/``.tar`` or ``.zip`` archive.
    """
    return [member.name + "/" if member.is_dir else member.name
            for member in _read_members(Path(path))]


def check_model_archive(path: str | os.PathLike[str], info: SavedModelInfo) -> list[Finding]:
    """Read the archive at ``path`` back and compare it with the export it was made from.

    Parameters
    ----------
    path : str or os.PathLike
        The archive.
    info : SavedModelInfo
        The export (:func:`~savedmodel_widgets.read_saved_model`); its files on disk are
        what the archive must hold.

    Returns
    -------
    list of Finding
        Errors: ``archive-unreadable``, ``archive-unsafe-member`` (a link, an absolute or
        ``..`` name), ``archive-no-saved-model``, ``archive-missing-file``,
        ``archive-file-differs`` (another size). Warnings: ``archive-nested`` (the
        SavedModel sits in a folder inside the archive rather than at its root; the
        stored EAS pages do not state the layout, see the module docstring) and
        ``archive-extra-file``. Empty when the archive holds exactly the export.
    """
    try:
        members = _read_members(Path(path))
    except DeployError as error:
        return [Finding("error", "archive-unreadable", str(error),
                        "Write the archive again with write_model_archive.")]
    unsafe = [member.name for member in members if _unsafe_reason(member)]
    if unsafe:
        return [Finding("error", "archive-unsafe-member",
                        f"{path} holds {_unsafe_reason(_find(members, unsafe[0]))}: "
                        f"{', '.join(map(repr, unsafe[:5]))}.",
                        "Pack the export again with write_model_archive: it writes plain "
                        "files and folders only, named relative to the archive root.")]
    files = {member.name: member.size for member in members if member.is_file}
    root = _saved_model_root(files)
    if root is None:
        return [Finding("error", "archive-no-saved-model",
                        f"{path} holds no {PB_FILE} (nor {PBTXT_FILE}), so the TensorFlow "
                        "processor finds no SavedModel in it.",
                        "Pack the SavedModel's folder (the one holding saved_model.pb).")]
    findings = []
    if root:
        findings.append(Finding(
            "warning", "archive-nested",
            f"The SavedModel sits in the folder {root!r} of {path}, not at its root. The "
            "EAS pages stored here do not say which layout the processor expects; the "
            "SavedModel's files at the archive root is what this kit writes.",
            "Pack the contents of the SavedModel folder (tar czf model.tar.gz -C export/1 .)."))
    expected = {entry.path: entry.size for entry in info.files if not entry.is_dir}
    prefix = f"{root}/" if root else ""
    inside = {name[len(prefix):]: size for name, size in files.items() if name.startswith(prefix)}
    missing = sorted(set(expected) - set(inside))
    if missing:
        findings.append(Finding(
            "error", "archive-missing-file",
            f"{path} lacks {len(missing)} file(s) of {info.path}: "
            f"{', '.join(map(repr, missing[:5]))}.",
            "Pack the export again; the processor needs every file of the SavedModel."))
    differs = sorted(name for name in set(expected) & set(inside) if expected[name] != inside[name])
    if differs:
        findings.append(Finding(
            "error", "archive-file-differs",
            f"In {path}, {', '.join(map(repr, differs[:5]))} differ(s) in size from "
            f"{info.path}: the archive was made from another version of the export.",
            "Pack the export again after it was written."))
    extra = sorted(set(files) - {prefix + name for name in expected})
    if extra:
        findings.append(Finding(
            "warning", "archive-extra-file",
            f"{path} holds file(s) the export {info.path} lacks: "
            f"{', '.join(map(repr, extra[:5]))}.",
            "Pack the export folder alone, so the service loads what was checked."))
    return findings


def extract_model_archive(path: str | os.PathLike[str],
                          dest: str | os.PathLike[str]) -> Path:
    """Unpack the archive at ``path`` into the new folder ``dest``, safely.

    Every member is checked before anything is written: a link, a device, an absolute
    name or one with ``..`` refuses the whole archive. The files go into a staging
    folder beside ``dest``, renamed to ``dest`` when complete.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DeployError
        For an unreadable archive or an unsafe member (named in the message).
    DeployTargetExistsError
        When ``dest`` exists.
    """
    archive = Path(path)
    target = Path(dest)
    members = _read_members(archive)
    for member in members:
        reason = _unsafe_reason(member)
        if reason:
            raise DeployError(f"{archive} holds {reason} ({member.name!r}); it was not "
                              "extracted. Unpack only archives made by write_model_archive "
                              "or another trusted tool.")
    if target.exists() or target.is_symlink():
        raise DeployTargetExistsError(
            f"{target} already exists; extract into a new folder.", [str(target)])
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(target, "extracting")
    staging.mkdir()
    try:
        _extract_into(archive, staging)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


# --- writing -------------------------------------------------------------------------


def _archive_suffix(target: Path) -> str:
    name = target.name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    raise DeployError(f"{target.name!r} ends in neither {' nor '.join(ARCHIVE_SUFFIXES)}; "
                      "the suffix picks the archive format. Name the file model.tar.gz "
                      "or model.zip.")


def _export_entries(source: Path) -> Iterator[tuple[str, Path]]:
    """``(archive name, file)`` of every folder and file under ``source``, sorted;
    folders end with ``/``."""
    if not source.is_dir() or not any((source / name).is_file() for name in _MODEL_FILES):
        raise DeployError(f"{source} holds no {PB_FILE}; pass the SavedModel's folder (for "
                          "a versioned export, its version folder such as export/1).")
    for folder, subfolders, files in os.walk(source):
        subfolders.sort()
        here = Path(folder)
        relative = here.relative_to(source).as_posix()
        prefix = "" if relative == "." else relative + "/"
        if prefix:
            yield prefix, here
        for name in sorted(subfolders + files):
            item = here / name
            if item.is_symlink() or not (item.is_dir() or item.is_file()):
                raise DeployError(f"{item} is a symbolic link or special file; an archive "
                                  "for EAS holds plain files only. Copy what it points to "
                                  "into the export.")
        for name in sorted(files):
            yield prefix + name, here / name


def _write_tar(staging: Path, entries: list[tuple[str, Path]]) -> None:
    with open(staging, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, item in entries:
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = int(item.stat().st_mtime)
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = item.stat().st_size, 0o644
                with open(item, "rb") as data:
                    tar.addfile(info, data)


def _write_zip(staging: Path, entries: list[tuple[str, Path]]) -> None:
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, item in entries:
            stamp = time.localtime(max(item.stat().st_mtime, _ZIP_EPOCH))[:6]
            info = zipfile.ZipInfo(name, date_time=stamp)
            if name.endswith("/"):
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                archive.writestr(info, b"")
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                large = item.stat().st_size >= zipfile.ZIP64_LIMIT
                with open(item, "rb") as data, \
                        archive.open(info, "w", force_zip64=large) as packed:
                    shutil.copyfileobj(data, packed)


# --- reading -------------------------------------------------------------------------


def _read_members(archive: Path) -> list[_Member]:
    if not archive.is_file():
        raise DeployError(f"{archive} is not a file; pass the .tar.gz or .zip archive.")
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as opened:
                return [_zip_member(info) for info in opened.infolist()]
        with tarfile.open(archive, "r:*") as tar:
            return [_Member(_normal_name(info.name), info.isdir(), info.isfile(), info.size)
                    for info in tar.getmembers()]
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as error:
        raise DeployError(f"{archive} is not a readable .tar.gz or .zip archive ({error}).") \
            from None


def _zip_member(info: zipfile.ZipInfo) -> _Member:
    mode = info.external_attr >> 16
    is_link = stat.S_ISLNK(mode)
    is_dir = info.is_dir()
    return _Member(_normal_name(info.filename), is_dir, not is_dir and not is_link,
                   info.file_size)


def _normal_name(name: str) -> str:
    """The name without a trailing ``/`` and without leading ``./`` (as ``tar -C dir .``
    writes them); ``..`` and absolute names are kept, to be refused."""
    stripped = name.rstrip("/")
    while stripped.startswith("./"):
        stripped = stripped[2:]
    return stripped or "."


def _unsafe_reason(member: _Member) -> str:
    path = PurePosixPath(member.name)
    first = path.parts[0] if path.parts else ""
    if path.is_absolute() or member.name.startswith("\\") or ":" in first:
        return "a member with an absolute name"
    if ".." in path.parts or "\\" in member.name:
        return "a member whose name leaves the archive folder"
    if not member.is_dir and not member.is_file:
        return "a link or special file"
    return ""


def _find(members: list[_Member], name: str) -> _Member:
    return next(member for member in members if member.name == name)


def _saved_model_root(files: dict[str, int]) -> str | None:
    """``""`` when the model file is at the root, the folder holding it when it is deeper
    (the shallowest), None when there is none."""
    found = sorted((name for name in files if PurePosixPath(name).name in _MODEL_FILES),
                   key=lambda name: name.count("/"))
    if not found:
        return None
    return str(PurePosixPath(found[0]).parent).removeprefix(".")


def _extract_into(archive: Path, staging: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as opened:
            for zip_info in opened.infolist():
                _extract_one(staging, _normal_name(zip_info.filename), zip_info.is_dir(),
                             functools.partial(opened.open, zip_info))
        return
    with tarfile.open(archive, "r:*") as tar:
        for tar_info in tar.getmembers():
            _extract_one(staging, _normal_name(tar_info.name), tar_info.isdir(),
                         functools.partial(_tar_file, tar, tar_info))


def _tar_file(tar: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    data = tar.extractfile(info)
    if data is None:
        raise DeployError(f"{info.name!r} of the archive holds no data.")
    return data


def _extract_one(root: Path, name: str, is_dir: bool,
                 open_data: Callable[[], IO[bytes]]) -> None:
    target = root / name
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open_data() as data, open(target, "xb") as written:
            shutil.copyfileobj(data, written)
    except FileExistsError:
        raise DeployError(f"The archive holds {name!r} twice; it was not extracted.") from None
