"""Extract every TensorFlow release's op registry into ``runtimes/op_registry.json.gz``.

Kept in the repository, not run by CI. For each release in ``RELEASES`` it downloads the
published wheel with ``pip download`` (no install: the old wheels are for Python 3.6-3.10),
extracts only the native libraries, loads them in a subprocess with ctypes (the framework
library with ``RTLD_GLOBAL``, then the library that holds TensorFlow's C API:
``libtensorflow_cc.so.2`` where the wheel has it, else ``python/_pywrap_tensorflow_internal.so``)
and calls ``TF_GetAllOpList()``: the ``OpList`` the runtime itself registers, with every
attribute and its default; and ``TF_GetAllRegisteredKernels()``, for the ops it has a CPU
kernel for. The installed TensorFlow's libraries are used in place for its
release. Wheels and libraries are deleted as soon as a release is read; the serialized
``OpList`` of each release stays in a cache directory, so a rerun only merges.

Wheels built for Python <= 3.8 reference ``_Py_CheckRecursionLimit``, a data symbol that
Python 3.9 removed; a one-line shared object built here with the C compiler defines it.

Usage::

    python tools/extract_op_registry.py [--cache DIR] [--releases 1.15 2.7]
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import gzip
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from savedmodel_widgets.runtimes.catalogue import (  # noqa: E402
    RELEASES,
    installed_release,
    release_key,
)

PLATFORMS = ("manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64",
             "manylinux_2_17_x86_64", "manylinux_2_27_x86_64", "manylinux_2_28_x86_64")
"""Every Linux x86-64 tag a release's wheel may carry (pip does not widen one tag)."""


def python_for(release: str) -> str:
    """The Python version whose wheel of ``release`` is downloaded (any one it has)."""
    major, minor = (int(part) for part in release.split("."))
    if major == 1:
        return "3.6" if minor <= 14 else "3.7"
    if minor <= 2:
        return "3.7"
    if minor <= 4:
        return "3.8"
    if minor <= 7:
        return "3.9"
    if minor <= 11:
        return "3.10"
    return "3.11"


def download(release: str, folder: Path) -> Path:
    """``pip download`` the wheel of ``release`` (``.0`` first, else the newest patch),
    trying ``tensorflow-cpu`` and then ``tensorflow``."""
    names = ("tensorflow", "tensorflow-cpu") if release_key(release) < (1, 15) \
        else ("tensorflow-cpu", "tensorflow")
    errors = []
    for name in names:
        for version in (f"{release}.0", f"{release}.*"):
            command = [sys.executable, "-m", "pip", "download", "--no-deps",
                       "--only-binary=:all:", "--python-version", python_for(release),
                       "-d", str(folder), "--quiet"]
            for platform in PLATFORMS:
                command += ["--platform", platform]
            command.append(f"{name}=={version}")
            run = subprocess.run(command, capture_output=True, text=True)
            wheels = sorted(folder.glob("*.whl"))
            if run.returncode == 0 and wheels:
                return wheels[0]
            errors.append(f"{name}=={version}: {run.stderr.strip().splitlines()[-1:]}")
    raise RuntimeError(f"no wheel for TensorFlow {release}: " + "; ".join(errors))


NATIVE_NAMES = ("libtensorflow_framework.so", "libtensorflow_cc.so",
                "_pywrap_tensorflow_internal.so")


def extract_native(wheel: Path, folder: Path) -> Path:
    """Unpack the framework, C++ and pywrap libraries of ``wheel`` into ``folder``."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            base = os.path.basename(member)
            if any(base.startswith(name) for name in NATIVE_NAMES) and "/_solib" not in member:
                target = folder / base
                with archive.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
    return folder


def build_shim(cache: Path) -> Path:
    """The shared object defining ``_Py_CheckRecursionLimit`` (built once, cached)."""
    shim = cache / "libpy_recursion_limit_shim.so"
    if not shim.exists():
        source = cache / "shim.c"
        source.write_text("int _Py_CheckRecursionLimit = 1000;\n")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", str(shim), str(source)], check=True)
    return shim


def child_main(folder: str, shim: str, output: str) -> None:
    """In a fresh process: load one release's libraries and write its ``OpList``."""
    ctypes.CDLL(shim, mode=ctypes.RTLD_GLOBAL)
    found = {os.path.basename(path): path for path in glob.glob(os.path.join(folder, "*.so*"))}

    def library(prefix: str) -> str | None:
        names = sorted(name for name in found if name.startswith(prefix))
        return found[names[-1]] if names else None

    # The C++ libraries first; the Python extension only where the C API is in it (the
    # older releases), since it also registers Python-only and test ops no server has.
    loaded: list[ctypes.CDLL] = []
    for prefix in NATIVE_NAMES:
        path = library(prefix)
        if path is None or any(hasattr(lib, "TF_GetAllOpList") for lib in loaded):
            continue
        loaded.append(ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL | os.RTLD_LAZY))
    api = next(lib for lib in loaded if hasattr(lib, "TF_GetAllOpList"))

    class Buffer(ctypes.Structure):
        _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t),
                    ("dealloc", ctypes.c_void_p)]

    api.TF_GetAllOpList.restype = ctypes.POINTER(Buffer)
    api.TF_Version.restype = ctypes.c_char_p
    buffer = api.TF_GetAllOpList().contents
    write_atomically(output, ctypes.string_at(buffer.data, buffer.length))
    if hasattr(api, "TF_GetAllRegisteredKernels"):
        api.TF_NewStatus.restype = ctypes.c_void_p
        api.TF_GetAllRegisteredKernels.restype = ctypes.POINTER(Buffer)
        api.TF_GetAllRegisteredKernels.argtypes = [ctypes.c_void_p]
        api.TF_GetCode.argtypes = [ctypes.c_void_p]
        status = api.TF_NewStatus()
        kernels = api.TF_GetAllRegisteredKernels(status)
        if api.TF_GetCode(status) == 0:
            write_atomically(output.replace("oplist-", "kernels-"),
                             ctypes.string_at(kernels.contents.data, kernels.contents.length))
    print(api.TF_Version().decode())


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so no half file is left."""
    with open(path + ".tmp", "wb") as sink:
        sink.write(data)
    os.replace(path + ".tmp", path)


def read_release(release: str, cache: Path, shim: Path) -> dict:
    """The cached ``OpList`` of ``release`` and where it came from, extracting it if needed."""
    op_list = cache / f"oplist-{release}.pb"
    meta = cache / f"oplist-{release}.json"
    if op_list.exists() and meta.exists():
        return json.loads(meta.read_text())
    with tempfile.TemporaryDirectory(dir=cache) as work:
        if release == installed_release():
            spec = importlib.util.find_spec("tensorflow")
            assert spec is not None and spec.submodule_search_locations
            folder = Path(work) / "libs"
            folder.mkdir()
            package = Path(list(spec.submodule_search_locations)[0])
            for name in ("libtensorflow_framework.so.2", "libtensorflow_cc.so.2"):
                os.symlink(package / name, folder / name)
            version = importlib.metadata.version("tensorflow-cpu")
            wheel_name = f"the installed tensorflow-cpu {version}"
        else:
            wheel = download(release, Path(work))
            wheel_name = wheel.name
            folder = Path(work) / "libs"
            folder.mkdir()
            extract_native(wheel, folder)
            wheel.unlink()
        run = subprocess.run([sys.executable, __file__, "--child", str(folder), str(shim),
                              str(op_list)], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"TensorFlow {release} did not load: {run.stderr[-2000:]}")
    info = {"release": release, "wheel": wheel_name, "tf_version": run.stdout.strip()}
    meta.write_text(json.dumps(info))
    return info


KERNEL_SCHEMA = """
message KernelDef {
  string op = 1;
  string device_type = 2;
}

message KernelList {
  repeated KernelDef kernel = 1;
}
"""
"""The part of TensorFlow's ``kernel_def.proto`` that says which op runs on which device."""

CPU_DEVICES = frozenset({"CPU", "DEFAULT"})
"""Kernel device types a CPU server runs (``DEFAULT`` kernels run on any device)."""


def merge(releases: list[str], cache: Path, sources: dict[str, dict]) -> dict:
    """The package data: each op's and attribute's releases as bitmasks over ``releases``,
    each attribute's default (compact form) for the releases that have it, and the releases
    whose library has a CPU kernel for the op."""
    from savedmodel_widgets.runtimes.op_registry import GRAPH_SCHEMA, compact_attr_value
    from savedmodel_widgets.savedmodel._schema import message_class

    parse_op_list = message_class("OpList", GRAPH_SCHEMA).FromString
    parse_kernels = message_class("KernelList", KERNEL_SCHEMA).FromString
    ops: dict[str, list] = {}
    kernel_releases = 0
    for bit, release in enumerate(releases):
        op_list = parse_op_list((cache / f"oplist-{release}.pb").read_bytes())
        for op in op_list.op:
            entry = ops.setdefault(op.name, [0, {}, 0])
            entry[0] |= 1 << bit
            for attr in op.attr:
                forms = entry[1].setdefault(attr.name, [])
                default = (compact_attr_value(attr.default_value),) \
                    if attr.HasField("default_value") else ()
                for form in forms:
                    if tuple(form[1:]) == default:
                        form[0] |= 1 << bit
                        break
                else:
                    forms.append([1 << bit, *default])
        kernels = cache / f"kernels-{release}.pb"
        if kernels.exists():
            kernel_releases |= 1 << bit
            for kernel in parse_kernels(kernels.read_bytes()).kernel:
                if kernel.device_type in CPU_DEVICES and kernel.op in ops:
                    ops[kernel.op][2] |= 1 << bit
    return {
        "format": 1,
        "about": "Ops and attributes each TensorFlow release registers, and the ops it has a "
                 "CPU kernel for, read with TF_GetAllOpList() and TF_GetAllRegisteredKernels() "
                 "from its published wheel by tools/extract_op_registry.py. Masks: bit i = "
                 "releases[i]. ops: name -> [mask, attrs, cpu kernel mask]; attrs: name -> "
                 "[[mask, default?], ...]; kernel_releases: the releases with kernel data.",
        "releases": releases,
        "sources": {release: sources[release] for release in releases},
        "kernel_releases": kernel_releases,
        "ops": {name: ops[name] for name in sorted(ops)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "savedmodel-widgets" / "op_registry")
    parser.add_argument("--releases", nargs="*", default=list(RELEASES))
    parser.add_argument("--extract-only", action="store_true",
                        help="fill the cache without writing the package data")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    shim = build_shim(args.cache)
    sources = {}
    for release in args.releases:
        sources[release] = read_release(release, args.cache, shim)
        print(f"{release}: {sources[release]['tf_version']} from {sources[release]['wheel']}",
              flush=True)
    if args.extract_only or args.releases != list(RELEASES):
        return
    from savedmodel_widgets.runtimes.op_registry import DATA_FILE

    data = merge(list(RELEASES), args.cache, sources)
    target = ROOT / "savedmodel_widgets" / "runtimes" / DATA_FILE
    text = json.dumps(data, separators=(",", ":"), sort_keys=False).encode()
    with gzip.GzipFile(str(target) + ".tmp", "wb", compresslevel=9, mtime=0) as sink:
        sink.write(text)
    os.replace(str(target) + ".tmp", target)
    print(f"wrote {target}: {len(data['ops'])} ops, {target.stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child_main(*sys.argv[2:])
    else:
        main()
