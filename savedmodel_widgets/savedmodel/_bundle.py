"""Read the index of a TensorFlow checkpoint (``variables/variables.index``).

A checkpoint index is a LevelDB-style sorted table: data blocks of
prefix-compressed ``key -> BundleEntryProto`` records, an index block that
points at them, and a 48-byte footer. Each block may be Snappy-compressed (as
TensorFlow 1.13 to 2.14 often wrote them); ``cramjam`` decompresses those, and
is imported only when a compressed block is met. The empty key holds the
``BundleHeaderProto``; every other key is a saved tensor.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator

from ._schema import message_class
from .dtypes import dtype_name
from .info import VariableInfo

FOOTER_SIZE = 48
TABLE_MAGIC = 0xDB4775248B80FB57
BLOCK_TRAILER_SIZE = 5
NO_COMPRESSION = 0
SNAPPY_COMPRESSION = 1
"""Block types of TensorFlow's table format (``tensorflow/core/lib/io/format.h``)."""
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
"""The key of a TF2 checkpoint's object graph: not a variable."""
VARIABLE_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


class BundleFormatError(ValueError):
    """The bytes are not a readable checkpoint index."""


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    """The unsigned varint at ``position`` and the position after it."""
    result = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise BundleFormatError("truncated varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _block(data: bytes, offset: int, size: int) -> bytes:
    end = offset + size
    if end + BLOCK_TRAILER_SIZE > len(data) - FOOTER_SIZE:
        raise BundleFormatError("block handle points past the end of the table")
    block_type = data[end]
    if block_type == NO_COMPRESSION:
        return data[offset:end]
    if block_type != SNAPPY_COMPRESSION:
        raise BundleFormatError(f"unknown block type {block_type}")
    # Like TensorFlow's table reader, the block's checksum is not verified.
    try:
        import cramjam
    except ImportError:
        raise BundleFormatError(
            "its blocks are Snappy-compressed, and reading them needs the cramjam package: "
            "pip install cramjam"
        ) from None

    try:
        return bytes(cramjam.snappy.decompress_raw(data[offset:end]))
    except cramjam.DecompressionError as error:
        raise BundleFormatError(f"damaged Snappy-compressed block ({error})") from error


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise BundleFormatError("block too short")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise BundleFormatError("bad restart count")
    position, key = 0, b""
    while position < limit:
        shared, position = read_varint(block, position)
        unshared, position = read_varint(block, position)
        value_length, position = read_varint(block, position)
        if shared > len(key) or position + unshared + value_length > limit:
            raise BundleFormatError("entry runs past its block")
        key = key[:shared] + block[position : position + unshared]
        position += unshared
        yield key, block[position : position + value_length]
        position += value_length


def _handle(value: bytes, position: int = 0) -> tuple[int, int, int]:
    offset, position = read_varint(value, position)
    size, position = read_varint(value, position)
    return offset, size, position


def read_bundle(data: bytes) -> tuple[object, list[tuple[str, object]]]:
    """Parse a checkpoint index into its header and ``[(key, BundleEntryProto), ...]``.

    Parameters
    ----------
    data : bytes
        The whole content of a ``.index`` file.

    Returns
    -------
    header : message
        The ``BundleHeaderProto`` (``num_shards``: how many data files there are).
    entries : list of (str, message)
        Every tensor entry in key order.

    Raises
    ------
    BundleFormatError
        When the bytes are not a complete checkpoint index.
    """
    if len(data) < FOOTER_SIZE:
        raise BundleFormatError("file shorter than a table footer")
    footer = data[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise BundleFormatError("no table magic number at the end of the file")
    _, _, position = _handle(footer)
    index_offset, index_size, _ = _handle(footer, position)
    entry_class = message_class("BundleEntryProto")
    header = message_class("BundleHeaderProto")()
    entries = []
    for _, handle in _block_entries(_block(data, index_offset, index_size)):
        offset, size, _ = _handle(handle)
        for key, value in _block_entries(_block(data, offset, size)):
            if not key:
                header.ParseFromString(value)
                continue
            entry = entry_class()
            entry.ParseFromString(value)
            entries.append((key.decode("utf-8"), entry))
    return header, entries


def read_bundle_file(path: str | os.PathLike[str]) -> tuple[object, list[tuple[str, object]]]:
    """:func:`read_bundle` of a ``.index`` file.

    Raises
    ------
    OSError
        When the file cannot be read.
    BundleFormatError
        When its bytes are not a complete checkpoint index (a damaged entry included).
    """
    from google.protobuf import message

    with open(path, "rb") as file:
        data = file.read()
    try:
        return read_bundle(data)
    except (message.DecodeError, UnicodeDecodeError) as error:
        raise BundleFormatError(str(error)) from error


def data_file_problems(prefix: str, header: object,
                       entries: list[tuple[str, object]]) -> tuple[str, ...]:
    """What is wrong with the data files the index points into, as TensorFlow would meet
    it when restoring: a shard that is missing, or shorter than the byte ranges of its
    tensors. Empty when every tensor can be read.

    Parameters
    ----------
    prefix : str
        The checkpoint prefix (``.../variables/variables``).
    header, entries
        What :func:`read_bundle` returned for ``prefix + ".index"``.
    """
    shards = header.num_shards  # type: ignore[attr-defined]
    needed: dict[int, int] = {}
    for _, entry in entries:
        end = entry.offset + entry.size  # type: ignore[attr-defined]
        shard = entry.shard_id  # type: ignore[attr-defined]
        needed[shard] = max(needed.get(shard, 0), end)
    problems = []
    for shard, end in sorted(needed.items()):
        name = f"{os.path.basename(prefix)}.data-{shard:05d}-of-{shards:05d}"
        if not 0 <= shard < shards:
            problems.append(f"the index points into data shard {shard} of {shards}")
            continue
        try:
            size = os.stat(f"{os.path.dirname(prefix)}/{name}").st_size
        except OSError:
            problems.append(f"{name} is missing")
            continue
        if size < end:
            problems.append(f"{name} holds {size:,} bytes, but the index reads up to byte {end:,}")
    return tuple(problems)


def bundle_variables(entries: list[tuple[str, object]],
                     name_of: Callable[[str], str]) -> tuple[VariableInfo, ...]:
    """The saved tensors of an index, each named by ``name_of(key)``; the object graph
    of a TF2 checkpoint is left out."""
    return tuple(
        VariableInfo(
            name=name_of(key),
            key=key,
            dtype=dtype_name(entry.dtype),  # type: ignore[attr-defined]
            shape=tuple(dim.size for dim in entry.shape.dim),  # type: ignore[attr-defined]
            nbytes=entry.size,  # type: ignore[attr-defined]
        )
        for key, entry in entries
        if key != OBJECT_GRAPH_KEY
    )
