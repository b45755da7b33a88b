"""Make undefined symbols of an ELF shared library weak, in pure Python.

TensorFlow's C-API library in wheels built for Python 3.8 or older refers to the data
symbol ``_Py_CheckRecursionLimit``, which Python 3.9 removed, so the dynamic loader
refuses the library under a newer Python. The C API never calls into Python, so the
reference is never used. Marking that undefined symbol ``STB_WEAK`` in the library's
dynamic symbol table lets the loader leave it at address 0 instead of failing; no C
compiler is needed (Binder images may lack one). Only 64-bit little-endian ELF files
(the x86-64 Linux wheels) are handled.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["make_undefined_symbols_weak"]

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS64 = 2
_ELFDATA2LSB = 1
_SHT_DYNSYM = 11
_STB_GLOBAL = 1
_STB_WEAK = 2
_SHN_UNDEF = 0
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")


def make_undefined_symbols_weak(path: str | Path, names: set[str]) -> list[str]:
    """Mark each undefined global symbol of ``path`` named in ``names`` as weak, in place.

    Parameters
    ----------
    path : str or Path
        A 64-bit little-endian ELF shared library, written in place.
    names : set of str
        The symbol names to patch; names the library does not import are ignored.

    Returns
    -------
    list of str
        The names that were patched.

    Raises
    ------
    ValueError
        When the file is not a 64-bit little-endian ELF file.
    """
    with open(path, "r+b") as file:
        header = file.read(64)
        if header[:4] != _ELF_MAGIC or header[4] != _ELFCLASS64 or header[5] != _ELFDATA2LSB:
            raise ValueError(f"{path} is not a 64-bit little-endian ELF file.")
        section_offset, = struct.unpack_from("<Q", header, 0x28)
        entry_size, count = struct.unpack_from("<HH", header, 0x3A)
        file.seek(section_offset)
        table = file.read(entry_size * count)
        sections = [_SECTION_HEADER.unpack_from(table, i * entry_size) for i in range(count)]
        patched = []
        for section in sections:
            if section[1] != _SHT_DYNSYM:
                continue
            offset, size, link = section[4], section[5], section[6]
            strings_offset, strings_size = sections[link][4], sections[link][5]
            file.seek(strings_offset)
            strings = file.read(strings_size)
            file.seek(offset)
            symbols = file.read(size)
            for position in range(0, size - _SYMBOL.size + 1, _SYMBOL.size):
                name_at, info, _, section_index, _, _ = _SYMBOL.unpack_from(symbols, position)
                if section_index != _SHN_UNDEF or info >> 4 != _STB_GLOBAL:
                    continue
                name = strings[name_at:strings.index(b"\0", name_at)].decode("ascii", "replace")
                if name in names:
                    file.seek(offset + position + 4)
                    file.write(bytes([(_STB_WEAK << 4) | (info & 0xF)]))
                    patched.append(name)
    return patched
