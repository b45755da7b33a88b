"""Extract every TensorFlow release's op registry into ``runtimes/op_registry.json.gz``.

Kept in the repository, not run by CI. For each release in ``RELEASES`` it fetches the
release's C API as verification does (:func:`~savedmodel_widgets.runtimes.fetch.fetch_runtime`:
the published wheel downloaded with pip, only the framework library and the library that
holds TensorFlow's C API kept, patched to load under this Python), loads them in a
subprocess (:class:`~savedmodel_widgets.runtimes._c_api.CApi`) and calls
``TF_GetAllOpList()``: the ``OpList`` the runtime itself registers, with every attribute
and its default; and ``TF_GetAllRegisteredKernels()``, for the ops it has a CPU kernel
for. The installed TensorFlow's libraries are used in place for its release. A runtime
fetched for this is removed as soon as it is read (one already in the cache is kept); the
serialized ``OpList`` of each release stays in a cache directory, so a rerun only merges.

Usage::

    python tools/extract_op_registry.py [--cache DIR] [--releases 1.15 2.7]
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from savedmodel_widgets.runtimes.catalogue import RELEASES, installed_release  # noqa: E402
from savedmodel_widgets.runtimes.fetch import cache_root, fetch_runtime, wheel_for  # noqa: E402


def child_main(framework: str, library: str, output: str) -> None:
    """In a fresh process: load one release's C API and write its ``OpList`` (and the
    ``KernelList`` of its registered kernels, where the release has that call)."""
    from savedmodel_widgets.runtimes._c_api import CApi, TFBuffer

    api = CApi(Path(framework), Path(library))
    api.TF_GetAllOpList.restype = ctypes.POINTER(TFBuffer)
    buffer = api.TF_GetAllOpList().contents
    write_atomically(output, ctypes.string_at(buffer.data, buffer.length))
    if hasattr(api.lib, "TF_GetAllRegisteredKernels"):
        api.TF_GetAllRegisteredKernels.restype = ctypes.POINTER(TFBuffer)
        api.TF_GetAllRegisteredKernels.argtypes = [ctypes.c_void_p]
        status = api.TF_NewStatus()
        kernels = api.TF_GetAllRegisteredKernels(status)
        if api.TF_GetCode(status) == 0:
            write_atomically(output.replace("oplist-", "kernels-"),
                             ctypes.string_at(kernels.contents.data, kernels.contents.length))
        api.TF_DeleteStatus(status)
    print(api.version)


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so no half file is left."""
    with open(path + ".tmp", "wb") as sink:
        sink.write(data)
    os.replace(path + ".tmp", path)


def release_libraries(release: str) -> tuple[Path, Path, str, Path | None]:
    """``(framework, C-API library, where they came from, a directory to remove after)``:
    the installed TensorFlow's own libraries for its release, else the release's runtime
    fetched into the project's cache (:func:`fetch_runtime`: the wheel, its C API,
    patched to load here), removed after reading unless it was cached before."""
    if release == installed_release():
        spec = importlib.util.find_spec("tensorflow")
        assert spec is not None and spec.submodule_search_locations
        package = Path(list(spec.submodule_search_locations)[0])
        version = importlib.metadata.version("tensorflow-cpu")
        return (package / "libtensorflow_framework.so.2", package / "libtensorflow_cc.so.2",
                f"the installed tensorflow-cpu {version}", None)
    wheel = wheel_for(release)
    cached = (cache_root() / wheel.version).is_dir()
    fetched = fetch_runtime(release, progress=print)
    return (fetched.framework, fetched.library, wheel.requirement,
            None if cached else fetched.directory)


def read_release(release: str, cache: Path) -> dict:
    """The cached ``OpList`` of ``release`` and where it came from, extracting it if needed."""
    op_list = cache / f"oplist-{release}.pb"
    meta = cache / f"oplist-{release}.json"
    if op_list.exists() and meta.exists():
        return json.loads(meta.read_text())
    framework, library, origin, remove = release_libraries(release)
    try:
        run = subprocess.run([sys.executable, __file__, "--child", str(framework),
                              str(library), str(op_list)], capture_output=True, text=True)
    finally:
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)
    if run.returncode != 0:
        raise RuntimeError(f"TensorFlow {release} did not load: {run.stderr[-2000:]}")
    info = {"release": release, "wheel": origin, "tf_version": run.stdout.strip()}
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
    sources = {}
    for release in args.releases:
        sources[release] = read_release(release, args.cache)
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
