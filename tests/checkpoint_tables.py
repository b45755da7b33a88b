"""Rewrite a checkpoint index that TensorFlow wrote with its blocks Snappy-compressed,
as TensorFlow 1.13 to 2.14 often wrote them (block type 1).

A ``.index`` file is a LevelDB-style table (``tensorflow/core/lib/io/table_builder.cc``):
data blocks, then an index block of ``last key -> block handle``, each block followed
by a 5-byte trailer (type, masked CRC-32C of the block and type), then a 48-byte
footer holding the meta-index and index handles and a magic number.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cramjam

from savedmodel_widgets.savedmodel._bundle import read_varint
from savedmodel_widgets.savedmodel._schema import encode_varint

FOOTER_SIZE = 48
SNAPPY = 1


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _entries(block: bytes) -> list[tuple[bytes, bytes]]:
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit, position, key, found = len(block) - 4 - 4 * restarts, 0, b"", []
    while position < limit:
        shared, position = read_varint(block, position)
        unshared, position = read_varint(block, position)
        length, position = read_varint(block, position)
        key = key[:shared] + block[position:position + unshared]
        position += unshared
        found.append((key, block[position:position + length]))
        position += length
    return found


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A block with every key written in full (a restart point at each entry)."""
    body, restarts = bytearray(), []
    for key, value in entries:
        restarts.append(len(body))
        body += encode_varint(0) + encode_varint(len(key)) + encode_varint(len(value))
        body += key + value
    return bytes(body) + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack(
        "<I", len(restarts))


def compress_index(path: Path) -> None:
    """Rewrite the table at ``path`` with every data block and the index block compressed."""
    data = path.read_bytes()
    footer = data[-FOOTER_SIZE:]
    position = 0
    meta_offset, position = read_varint(footer, position)
    meta_size, position = read_varint(footer, position)
    index_offset, position = read_varint(footer, position)
    index_size, _ = read_varint(footer, position)
    out = bytearray()

    def write(block: bytes) -> bytes:
        compressed = bytes(cramjam.snappy.compress_raw(block))
        handle = encode_varint(len(out)) + encode_varint(len(compressed))
        out.extend(compressed + bytes([SNAPPY]))
        out.extend(struct.pack("<I", _masked(_crc32c(compressed + bytes([SNAPPY])))))
        return handle

    index = []
    for last_key, handle in _entries(data[index_offset:index_offset + index_size]):
        offset, position = read_varint(handle, 0)
        size, _ = read_varint(handle, position)
        index.append((last_key, write(data[offset:offset + size])))
    meta_handle = write(data[meta_offset:meta_offset + meta_size])
    index_handle = write(_block(index))
    handles = meta_handle + index_handle
    out += handles + bytes(FOOTER_SIZE - 8 - len(handles)) + footer[-8:]
    path.write_bytes(bytes(out))
