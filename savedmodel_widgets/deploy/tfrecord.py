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
The CRC is computed here in pure Python, table-driven, eight bytes per step.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path

from ..errors import DeployError
from ._files import write_atomically

__all__ = [
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
    crc = 0xFFFFFFFF
    whole = len(data) - len(data) % 8
    for low, high in _WORDS.iter_unpack(memoryview(data)[:whole]):
        low ^= crc
        crc = (_T7[low & 0xFF] ^ _T6[(low >> 8) & 0xFF] ^ _T5[(low >> 16) & 0xFF]
               ^ _T4[low >> 24] ^ _T3[high & 0xFF] ^ _T2[(high >> 8) & 0xFF]
               ^ _T1[(high >> 16) & 0xFF] ^ _T0[high >> 24])
    for byte in data[whole:]:
        crc = _T0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


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
