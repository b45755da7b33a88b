"""TFRecord files, written and read without TensorFlow.

A TFRecord file is a sequence of records, each framed as TensorFlow's
``tensorflow/core/lib/io/record_writer.cc`` writes it (and ``record_reader.cc``
checks it)::

    uint64  length           little-endian
    uint32  masked_crc32c(length bytes)
    byte    data[length]
    uint32  masked_crc32c(data)

where ``masked_crc32c(x) = rotate_right(crc32c(x), 15) + 0xa282ead8`` (mod 2**32), and
CRC-32C is the Castagnoli polynomial (``tensorflow/core/lib/hash/crc32c.h``). TF Serving
reads its warm-up file with this reader and refuses a record whose checksums do not match.

The CRC is computed without compiled code of our own: table-driven, eight bytes per
Python step, for short data; for data of :data:`LANES_FROM` bytes or more, numpy runs the
CRC of every 256-byte chunk side by side (two bytes a step) and the chunks' CRCs are
joined in order, using that the CRC is linear: the state after a chunk is the state
before it carried over the chunk's length in zero bytes, XOR the chunk's own CRC from 0.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import DeployError
from ._files import write_atomically

__all__ = [
    "LANES_FROM",
    "crc32c",
    "masked_crc32c",
    "read_records",
    "write_records",
]

_POLYNOMIAL = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_HEADER = _LENGTH.size + _CRC.size
_WORDS = struct.Struct("<II")
_CHUNK = 256

LANES_FROM = 16 * 1024
"""From this many bytes on, :func:`crc32c` runs chunks side by side in numpy (below it,
numpy's per-call cost outweighs the gain; measured on 2 cores: equal near 8 KiB, 15
times faster than the table loop at 3 MB)."""


def _tables() -> tuple[tuple[int, ...], ...]:
    """The eight lookup tables of slicing-by-8: ``tables[k][b]`` is the CRC of byte ``b``
    followed by ``k`` zero bytes."""
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        previous = tables[-1]
        tables.append([(previous[byte] >> 8) ^ first[previous[byte] & 0xFF]
                       for byte in range(256)])
    return tuple(tuple(table) for table in tables)


_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7 = _tables()


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) of ``data``, as ``crc32c::Value`` computes it."""
    if len(data) >= LANES_FROM:
        return _update_in_lanes(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    return _update(0xFFFFFFFF, data) ^ 0xFFFFFFFF


def _update(crc: int, data: bytes) -> int:
    """The CRC state after ``data``, from state ``crc`` (slicing-by-8)."""
    whole = len(data) - len(data) % 8
    for low, high in _WORDS.iter_unpack(memoryview(data)[:whole]):
        low ^= crc
        crc = (_T7[low & 0xFF] ^ _T6[(low >> 8) & 0xFF] ^ _T5[(low >> 16) & 0xFF]
               ^ _T4[low >> 24] ^ _T3[high & 0xFF] ^ _T2[(high >> 8) & 0xFF]
               ^ _T1[(high >> 16) & 0xFF] ^ _T0[high >> 24])
    for byte in data[whole:]:
        crc = _T0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


@functools.cache
def _pair_table() -> np.ndarray:
    """``table[v]``: the CRC state after the two bytes of ``v`` (little-endian) from 0."""
    values = np.arange(1 << 16)
    return np.array(_T1, dtype=np.uint32)[values & 0xFF] ^ np.array(_T0, np.uint32)[values >> 8]


def _run_lanes(states: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Advance every lane's state over its column of two-byte values, row by row."""
    table = _pair_table()
    for row in pairs:
        states = table[(states ^ row) & 0xFFFF] ^ (states >> 16)
    return states


@functools.cache
def _zeros_tables() -> tuple[list[int], list[int], list[int], list[int]]:
    """Byte tables of the linear map "carry a state over one chunk of zero bytes"."""
    basis = np.array([1 << bit for bit in range(32)], dtype=np.uint32)
    images = _run_lanes(basis, np.zeros((_CHUNK // 2, 1), dtype=np.uint32)).tolist()
    tables = []
    for low_bit in range(0, 32, 8):
        table = [0] * 256
        for byte in range(1, 256):
            lowest = byte & -byte
            table[byte] = table[byte ^ lowest] ^ images[low_bit + lowest.bit_length() - 1]
        tables.append(table)
    return tables[0], tables[1], tables[2], tables[3]


def _update_in_lanes(crc: int, data: bytes) -> int:
    """:func:`_update` for long data: the chunks' CRCs in numpy lanes, joined in order."""
    count = len(data) // _CHUNK
    pairs = np.frombuffer(data, "<u2", count * _CHUNK // 2).reshape(count, _CHUNK // 2)
    lanes = _run_lanes(np.zeros(count, np.uint32), pairs.T.astype(np.uint32)).tolist()
    zeros0, zeros1, zeros2, zeros3 = _zeros_tables()
    for lane in lanes:
        crc = (zeros0[crc & 0xFF] ^ zeros1[(crc >> 8) & 0xFF] ^ zeros2[(crc >> 16) & 0xFF]
               ^ zeros3[crc >> 24] ^ lane)
    return _update(crc, data[count * _CHUNK:])


def masked_crc32c(data: bytes) -> int:
    """TensorFlow's ``crc32c::Mask(crc32c::Value(data))``: the CRC stored in a TFRecord."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _framed(record: bytes) -> bytes:
    length = _LENGTH.pack(len(record))
    return b"".join((length, _CRC.pack(masked_crc32c(length)), record,
                     _CRC.pack(masked_crc32c(record))))


def write_records(path: str | os.PathLike[str], records: Iterable[bytes]) -> Path:
    """Write ``records`` as a TFRecord file (no compression), whole or not at all.

    The file is filled under a staging name and renamed onto ``path`` when every record
    is written; an error while writing (or raised by ``records``) leaves ``path`` as it
    was and no staging file behind. An existing ``path`` is replaced: refuse it first
    with :func:`~savedmodel_widgets.deploy._files.refuse_existing` when it must not be.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; missing parent folders are created.
    records : iterable of bytes
        The records, in order (consumed once).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    def write(staging: Path) -> None:
        with open(staging, "wb") as out:
            for record in records:
                out.write(_framed(bytes(record)))

    return write_atomically(path, write)


def read_records(path: str | os.PathLike[str]) -> list[bytes]:
    """The records of a TFRecord file, each checked against both of its CRCs.

    Raises
    ------
    DeployError
        When the file cannot be read, a record is cut short, or a checksum does not
        match; the message names the record (counted from 1) and its byte offset.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise DeployError(f"Cannot read the TFRecord file {path}: {error.strerror or error}."
                          ) from None
    records: list[bytes] = []
    offset = 0
    view = memoryview(data)
    while offset < len(data):
        number = len(records) + 1
        where = f"{path}: record {number} at byte {offset}"
        if len(data) - offset < _HEADER:
            raise DeployError(f"{where} is cut short: {len(data) - offset} bytes remain where "
                              f"a {_HEADER}-byte header starts. The file is truncated or not a "
                              "TFRecord file; write it again.")
        length_bytes = bytes(view[offset:offset + _LENGTH.size])
        (stored,) = _CRC.unpack_from(data, offset + _LENGTH.size)
        if stored != masked_crc32c(length_bytes):
            raise DeployError(f"{where} has a length whose checksum does not match. The file "
                              "is damaged or not a TFRecord file (TF Serving refuses it as "
                              "'corrupted record'); write it again.")
        (length,) = _LENGTH.unpack(length_bytes)
        start = offset + _HEADER
        end = start + length
        if end + _CRC.size > len(data):
            raise DeployError(f"{where} is cut short: it holds {length} bytes but the file "
                              f"ends {len(data) - start} bytes after its header. The file is "
                              "truncated; write it again.")
        record = bytes(view[start:end])
        (stored,) = _CRC.unpack_from(data, end)
        if stored != masked_crc32c(record):
            raise DeployError(f"{where} has data whose checksum does not match. The file is "
                              "damaged (TF Serving refuses it as 'corrupted record'); write "
                              "it again.")
        records.append(record)
        offset = end + _CRC.size
    return records
