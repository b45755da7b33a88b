"""numpy arrays to C-API tensors and back, for every dtype a signature may use.

Numbers and booleans are the array's bytes. Strings changed layout: up to TensorFlow
2.3, a ``TF_STRING`` tensor holds a table of 64-bit offsets followed by each element's
bytes prefixed with their varint length (``TF_StringEncode``); from 2.4 on it is an
array of 24-byte ``TF_TString`` structures (``tensorflow/core/platform/ctstring_internal.h``:
small strings inline, others behind a pointer). Both are written and read here.
Used only inside the runtime worker process.
"""

from __future__ import annotations

import ctypes
import struct
from typing import TYPE_CHECKING, Any

from .catalogue import release_key

if TYPE_CHECKING:
    import numpy

    from ._c_api import CApi

__all__ = ["TSTRING_FIRST_RELEASE", "from_tensor", "to_tensor", "uses_tstring"]

TSTRING_FIRST_RELEASE = (2, 4)
"""The first release whose C API lays string tensors out as ``TF_TString``s
(measured: 2.3 reads the offset table, 2.4 the ``TF_TString`` array)."""

_TF_STRING = 7
_TF_BOOL = 10
_NUMPY_OF_TF = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
                8: "complex64", 9: "int64", 10: "bool", 17: "uint16", 18: "complex128",
                19: "float16", 22: "uint32", 23: "uint64"}
_TF_OF_NUMPY = {name: number for number, name in _NUMPY_OF_TF.items()}
_TSTRING_SIZE = 24
_TSTRING_SMALL_CAPACITY = 22
_SMALL, _LARGE, _OFFSET, _VIEW = 0, 1, 2, 3


def uses_tstring(version: str) -> bool:
    """True when TensorFlow ``version`` (``"2.7.0"``) lays strings out as ``TF_TString``."""
    return release_key(version) >= TSTRING_FIRST_RELEASE


def to_tensor(api: CApi, array: numpy.ndarray, tstring: bool) -> int:
    """A new ``TF_Tensor`` holding ``array`` (bytes or str arrays become ``TF_STRING``).

    Raises
    ------
    TypeError
        For a dtype the C API has no type for.
    """
    import numpy as np

    dims = (ctypes.c_int64 * array.ndim)(*array.shape)
    if array.dtype.kind in "SUO":
        items = [v.encode() if isinstance(v, str) else bytes(v) for v in array.reshape(-1)]
        data = _tstrings(items) if tstring else _offset_table(items)
        tensor = api.TF_AllocateTensor(_TF_STRING, dims, array.ndim, len(data))
        ctypes.memmove(api.TF_TensorData(tensor), data, len(data))
        return int(tensor)
    if array.dtype.name not in _TF_OF_NUMPY:
        raise TypeError(f"No TensorFlow dtype for numpy {array.dtype}.")
    contiguous = np.ascontiguousarray(array)
    tensor = api.TF_AllocateTensor(_TF_OF_NUMPY[array.dtype.name], dims, array.ndim,
                                   contiguous.nbytes)
    ctypes.memmove(api.TF_TensorData(tensor), contiguous.ctypes.data, contiguous.nbytes)
    return int(tensor)


def from_tensor(api: CApi, tensor: int, tstring: bool) -> numpy.ndarray:
    """A numpy copy of ``tensor`` (strings as a ``bytes`` array).

    Raises
    ------
    TypeError
        For a dtype numpy cannot hold (resources, variants, quantized types).
    """
    import numpy as np

    shape = tuple(api.TF_Dim(tensor, i) for i in range(api.TF_NumDims(tensor)))
    dtype = api.TF_TensorType(tensor)
    data, size = api.TF_TensorData(tensor), api.TF_TensorByteSize(tensor)
    count = int(np.prod(shape, dtype=np.int64))
    if dtype == _TF_STRING:
        if count == 0:
            return np.zeros(shape, dtype="S1")
        items = _read_tstrings(data, count) if tstring else _read_offset_table(data, size, count)
        return np.array(items, dtype=bytes).reshape(shape)
    if dtype not in _NUMPY_OF_TF:
        raise TypeError(f"The output has TensorFlow dtype number {dtype}, which numpy "
                        "cannot hold.")
    raw = ctypes.string_at(data, size) if size else b""
    return np.frombuffer(raw, dtype=_NUMPY_OF_TF[dtype]).reshape(shape).copy()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _offset_table(items: list[bytes]) -> bytes:
    encoded = [_varint(len(item)) + item for item in items]
    offsets, position = [], 0
    for piece in encoded:
        offsets.append(position)
        position += len(piece)
    return struct.pack(f"<{len(items)}Q", *offsets) + b"".join(encoded)


def _read_offset_table(data: int, size: int, count: int) -> list[bytes]:
    raw = ctypes.string_at(data, size)
    start = 8 * count
    items = []
    for offset in struct.unpack_from(f"<{count}Q", raw):
        position, length, shift = start + offset, 0, 0
        while True:
            byte = raw[position]
            position += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        items.append(raw[position:position + length])
    return items


def _tstrings(items: list[bytes]) -> bytes:
    """``TF_TString``s: inline when short, else a ``malloc``'d copy TensorFlow may free."""
    out = bytearray()
    for item in items:
        if len(item) <= _TSTRING_SMALL_CAPACITY:
            out += bytes([len(item) << 2 | _SMALL]) + item.ljust(_TSTRING_SIZE - 1, b"\0")
        else:
            pointer = _libc().malloc(len(item) + 1)
            ctypes.memmove(pointer, item + b"\0", len(item) + 1)
            out += struct.pack("<QQQ", len(item) << 2 | _LARGE, len(item), pointer)
    return bytes(out)


def _read_tstrings(data: int, count: int) -> list[bytes]:
    items = []
    for element in range(count):
        address = data + element * _TSTRING_SIZE
        raw = ctypes.string_at(address, _TSTRING_SIZE)
        kind = raw[0] & 3
        if kind == _SMALL:
            items.append(raw[1:1 + (raw[0] >> 2)])
            continue
        if kind == _OFFSET:
            size, offset = struct.unpack_from("<II", raw)
            items.append(ctypes.string_at(address + offset, size >> 2))
            continue
        size, = struct.unpack_from("<Q", raw)
        pointer, = struct.unpack_from("<Q", raw, 16 if kind == _LARGE else 8)
        items.append(ctypes.string_at(pointer, size >> 2))
    return items


def _libc() -> Any:
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    return libc
