"""Python code as data that wraps itself to the line length: the generated code's
calls, lists and dicts (used by :mod:`savedmodel_widgets.codegen` and the load code of
model files)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "LINE_LENGTH",
    "Code",
    "Group",
    "call",
    "dict_code",
    "flat",
    "format_code",
    "list_code",
    "statement",
    "string_literal",
]

LINE_LENGTH = 99
"""Generated lines stay within this many characters where the names allow it."""


def string_literal(text: str) -> str:
    """A double-quoted Python string literal."""
    literal = json.dumps(text, ensure_ascii=False)
    try:
        literal.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        literal = json.dumps(text)
    return literal


@dataclass(frozen=True)
class Group:
    """Code in brackets (a call's arguments, a list, a dict) that wraps when it is long."""

    opening: str
    items: tuple[tuple[str, Code], ...]
    closing: str


Code = str | Group


def call(callee: str, *args: Code, **kwargs: Code) -> Group:
    """``callee(arg, ..., key=value, ...)``."""
    items = [("", arg) for arg in args] + [(f"{key}=", value) for key, value in kwargs.items()]
    return Group(f"{callee}(", tuple(items), ")")


def list_code(items: Iterable[Code]) -> Group:
    """``[item, ...]``."""
    return Group("[", tuple(("", item) for item in items), "]")


def dict_code(items: Iterable[tuple[str, Code]]) -> Group:
    """``{"key": value, ...}`` with string keys."""
    return Group("{", tuple((f"{string_literal(key)}: ", value) for key, value in items), "}")


def flat(code: Code) -> str:
    """The code on one line."""
    if isinstance(code, str):
        return code
    inner = ", ".join(prefix + flat(value) for prefix, value in code.items)
    return f"{code.opening}{inner}{code.closing}"


def format_code(code: Code, indent: int = 0, prefix: str = "", suffix: str = "") -> list[str]:
    """Lines of ``prefix + code + suffix``: one line if it fits, else one item per line."""
    pad = " " * indent
    line = f"{pad}{prefix}{flat(code)}{suffix}"
    if isinstance(code, str) or len(line) <= LINE_LENGTH or not code.items:
        return [line]
    lines = [f"{pad}{prefix}{code.opening}"]
    for item_prefix, value in code.items:
        lines.extend(format_code(value, indent + 4, item_prefix, ","))
    lines.append(f"{pad}{code.closing}{suffix}")
    return lines


def statement(code: Code, indent: int = 0, target: str = "") -> list[str]:
    """``target = code`` (or just ``code``) as formatted lines."""
    return format_code(code, indent, f"{target} = " if target else "")
