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
Python step, for short data; from :data:`LANES_FROM` bytes of records on, numpy runs the
CRC of every whole 256-byte chunk of every record side by side (two bytes a step), and
each record's chunk CRCs are joined in order, using that the CRC is linear: the state
after a chunk is the state before it carried over the chunk's length in zero bytes, XOR
the chunk's own CRC from 0.
"""

from __future__ import annotations

import functools
import itertools
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DeployError
from ._files import write_atomically

__all__ = [
    "LANES_FROM",
    "crc32c",
    "crc32c_many",
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
_BATCH_BYTES = 8 << 20
"""Records are framed and checked this many bytes at a time, which bounds the memory
numpy's lanes take beside the records."""

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
    return crc32c_many([data])[0]


def crc32c_many(datas: Sequence[bytes]) -> list[int]:
    """The CRC-32C of each of ``datas``; the whole chunks of all of them share numpy's
    lanes when there are :data:`LANES_FROM` bytes of them or more."""
    counts = [len(data) // _CHUNK for data in datas]
    if sum(counts) * _CHUNK < LANES_FROM:
        return [_update(0xFFFFFFFF, data) ^ 0xFFFFFFFF for data in datas]
    joined = b"".join(memoryview(data)[:count * _CHUNK]
                      for data, count in zip(datas, counts, strict=True))
    pairs = np.frombuffer(joined, "<u2").reshape(sum(counts), _CHUNK // 2)
    lanes = iter(_run_lanes(np.zeros(len(pairs), np.uint32), pairs.T.astype(np.uint32)).tolist())
    zeros0, zeros1, zeros2, zeros3 = _zeros_tables()
    crcs = []
    for data, count in zip(datas, counts, strict=True):
        crc = 0xFFFFFFFF
        for lane in itertools.islice(lanes, count):
            crc = (zeros0[crc & 0xFF] ^ zeros1[(crc >> 8) & 0xFF] ^ zeros2[(crc >> 16) & 0xFF]
                   ^ zeros3[crc >> 24] ^ lane)
        crcs.append(_update(crc, data[count * _CHUNK:]) ^ 0xFFFFFFFF)
    return crcs


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


def _mask(crc: int) -> int:
    """TensorFlow's ``crc32c::Mask``."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TensorFlow's ``crc32c::Mask(crc32c::Value(data))``: the CRC stored in a TFRecord."""
    return _mask(crc32c(data))


def _framed(records: list[bytes]) -> bytes:
    parts = []
    for record, crc in zip(records, crc32c_many(records), strict=True):
        length = _LENGTH.pack(len(record))
        parts += [length, _CRC.pack(masked_crc32c(length)), record, _CRC.pack(_mask(crc))]
    return b"".join(parts)


def _batches(records: Iterable[bytes]) -> Iterator[list[bytes]]:
    """``records`` in lists of about :data:`_BATCH_BYTES` (the last may be empty)."""
    batch: list[bytes] = []
    size = 0
    for record in records:
        batch.append(bytes(record))
        size += len(batch[-1])
        if size >= _BATCH_BYTES:
            yield batch
            batch, size = [], 0
    yield batch


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
            for batch in _batches(records):
                out.write(_framed(batch))

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
    stored_crcs: list[int] = []
    offsets: list[int] = []
    framing_problem = ""
    offset = 0
    view = memoryview(data)
    while offset < len(data) and not framing_problem:
        framing_problem = _framing_problem(data, offset)
        if not framing_problem:
            (length,) = _LENGTH.unpack_from(data, offset)
            end = offset + _HEADER + length
            records.append(bytes(view[offset + _HEADER:end]))
            stored_crcs.append(_CRC.unpack_from(data, end)[0])
            offsets.append(offset)
            offset = end + _CRC.size
    first = 0
    for batch in _batches(records):
        for index, crc in enumerate(crc32c_many(batch), start=first):
            if _mask(crc) != stored_crcs[index]:
                raise DeployError(
                    f"{path}: record {index + 1} at byte {offsets[index]} has data whose "
                    "checksum does not match. The file is damaged (TF Serving refuses it as "
                    "'corrupted record'); write it again.")
        first += len(batch)
    if framing_problem:
        raise DeployError(f"{path}: record {len(records) + 1} at byte {offset} "
                          f"{framing_problem}")
    return records


def _framing_problem(data: bytes, offset: int) -> str:
    """What is wrong with the header of the record at ``offset``, or ""."""
    remaining = len(data) - offset
    if remaining < _HEADER:
        return (f"is cut short: {remaining} bytes remain where a {_HEADER}-byte header "
                "starts. The file is truncated or not a TFRecord file; write it again.")
    if _CRC.unpack_from(data, offset + _LENGTH.size)[0] != masked_crc32c(
            data[offset:offset + _LENGTH.size]):
        return ("has a length whose checksum does not match. The file is damaged or not a "
                "TFRecord file (TF Serving refuses it as 'corrupted record'); write it again.")
    (length,) = _LENGTH.unpack_from(data, offset)
    if length + _HEADER + _CRC.size > remaining:
        return (f"is cut short: it holds {length} bytes but the file ends "
                f"{remaining - _HEADER} bytes after its header. The file is truncated; write "
                "it again.")
    return ""
