"""A fast reader of the protobuf text format for the schema subset (``saved_model.pbtxt``).

``google.protobuf.text_format`` parses in pure Python, token by token, and skips the
fields the subset leaves out just as slowly: most of a graph's text (every node's
``attr``). Here the text is split into tokens in one step, the declared fields are set
on the messages, and everything else is skipped by counting brackets. The accepted
syntax is the text format's: ``name: value``, ``name { ... }`` or ``name < ... >``,
``[a, b]`` lists, ``,``/``;`` separators, ``#`` comments, adjacent strings joined;
an ``[extension]`` is refused, as by ``text_format``, and an ``Any``'s expanded
``[type URL]`` skipped with the field that holds it.

Text as TensorFlow writes it (a token between spaces, no space inside a string) is
split with ``str.split``, ten times faster than a regular expression; any other text,
or text the fast split cannot parse, is split by :data:`TOKEN`.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

TOKEN = re.compile(
    r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'  # a double-quoted string
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"  # a single-quoted string
    r"|[\w.+-]+"  # a name, number, enum value or keyword
    r"|#[^\n]*"  # a comment
    r"|\S"  # punctuation, or a character that no token starts with
)
STRING = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")')
"""A double-quoted string, captured (so ``split`` keeps it); it may hold whitespace."""
SPACE = re.compile(r"\s")
ASCII_SPACES = " \t\n\r\v\f\x1c\x1d\x1e\x1f"
"""The ASCII characters ``str.split`` splits at."""
ESCAPED_SPACES = tuple((space, f"\\{ord(space):03o}") for space in ASCII_SPACES)
BRACKETS = "{}<>[]"
CLOSING = {"{": "}", "<": ">"}
END = ""
"""The token after the last one."""

_MESSAGE = 10  # FieldDescriptor.CPPTYPE_MESSAGE
_STRING, _BYTES, _BOOL, _ENUM = 9, 12, 8, 14  # FieldDescriptor.TYPE_*
_FLOATS = frozenset({1, 2})  # TYPE_DOUBLE, TYPE_FLOAT
_TRUE = frozenset({"true", "True", "t", "1"})
_FALSE = frozenset({"false", "False", "f", "0"})


class TextFormatError(ValueError):
    """The text is not a message of the expected type in the protobuf text format."""


class _Field(NamedTuple):
    name: str
    type: int
    is_message: bool
    repeated: bool
    descriptor: Any
    map_entry: Any  # the entry message class of a map field, else None


@functools.cache
def _fields(descriptor: Any) -> dict[str, _Field]:
    from ._schema import class_of

    fields = {}
    for field in descriptor.fields:
        is_message = field.cpp_type == _MESSAGE
        is_map = is_message and field.message_type.GetOptions().map_entry
        fields[field.name] = _Field(
            name=field.name,
            type=field.type,
            is_message=is_message,
            repeated=_is_repeated(field),
            descriptor=field,
            map_entry=class_of(field.message_type) if is_map else None,
        )
    return fields


def _is_repeated(field: Any) -> bool:
    """``is_repeated`` (protobuf 5.29 and later), or the ``label`` older versions have."""
    is_repeated = getattr(field, "is_repeated", None)
    return field.label == field.LABEL_REPEATED if is_repeated is None else is_repeated


def parse_text(text: str, message: Any) -> list[str]:
    """Merge ``text`` into ``message``; return the top-level field names it skipped.

    Raises
    ------
    TextFormatError
        When the text is not in the text format, or a declared field's value does not
        fit its type.
    """
    split = _words(text)
    if split is not None:
        words, braces_only = split
        try:
            return _parse_tokens(words, message, braces_only)
        except TextFormatError:
            message.Clear()  # not as simple as it looked: split it with the regex
    tokens = TOKEN.findall(text)
    if "#" in text:
        tokens = [token for token in tokens if token[0] != "#"]
    return _parse_tokens(tokens, message)


def _words(text: str) -> tuple[list[str], bool] | None:
    """The tokens of ``text`` by ``str.split``, when that is safe: no comment,
    single-quoted string, comma or semicolon outside a string, and every bracket a word
    of its own. Whitespace inside a string is written as an octal escape first, so each
    string stays one word. Names may keep the ``:`` that follows them. Also returns
    whether braces are the only brackets."""
    pieces = STRING.split(text)
    outside = " ".join(pieces[0::2])
    if any(mark in outside for mark in "#',;"):
        return None
    strings = "\0".join(pieces[1::2])
    if _has_space(strings):
        if "\0" in text:
            return None
        for space, escape in ESCAPED_SPACES:
            strings = strings.replace(space, escape)
        if _has_space(strings):
            return None  # Unicode spaces: no octal escape stands for them
        pieces[1::2] = strings.split("\0")
    words = " ".join(pieces).split()
    if any(
        outside.count(bracket) != words.count(bracket)
        for bracket in BRACKETS
        if bracket in outside
    ):
        return None
    return words, not any(bracket in outside for bracket in "<>[]")


def _has_space(text: str) -> bool:
    """Whether ``str.split`` would split ``text``: ``in`` tests for ASCII text, as fast as
    ``memchr``, the regular expression for the rest."""
    if text.isascii():
        return any(space in text for space in ASCII_SPACES)
    return SPACE.search(text) is not None


def _parse_tokens(tokens: list[str], message: Any, braces_only: bool = False) -> list[str]:
    """Parse the tokens; ``braces_only`` when no ``<>`` or ``[]`` bracket is among them."""
    tokens.append(END)
    parser = _Parser(tokens, braces_only)
    parser.merge(message, END)
    return parser.skipped_top_level


def _literal(token: str) -> str:
    """The text between a string literal's quotes; ``ValueError`` for an unclosed one."""
    if len(token) < 2 or token[0] not in "\"'" or token[-1] != token[0]:
        raise ValueError(token)
    return token[1:-1]


class _Parser:
    def __init__(self, tokens: list[str], braces_only: bool) -> None:
        self.tokens = tokens
        self.braces_only = braces_only
        self.position = 0
        self.skipped_top_level: list[str] = []

    def error(self, what: str) -> TextFormatError:
        found = self.tokens[self.position] if self.position < len(self.tokens) else END
        return TextFormatError(f"{what}, found {found or 'the end of the text'!r}")

    def merge(self, message: Any, closing: str) -> None:
        """Read fields into ``message`` up to ``closing`` (and past it)."""
        tokens = self.tokens
        fields = _fields(message.DESCRIPTOR)
        while True:
            name = tokens[self.position]
            if name == closing:
                self.position += 1
                return
            if name == END:
                raise self.error(f"expected {closing!r}")
            glued_colon = name[-1] == ":"
            if glued_colon:
                name = name[:-1]
            if not name.isidentifier():  # an [extension] too, as text_format refuses it
                raise self.error("expected a field name")
            field = fields.get(name)
            self.position += 1
            if tokens[self.position] == ":" and not glued_colon:
                self.position += 1
            if field is None:
                if closing == END:
                    self.skipped_top_level.append(name)
                self.skip_value()
            elif field.is_message:
                self.message_value(message, field)
            else:
                self.scalar_value(message, field)
            if tokens[self.position] in (",", ";"):
                self.position += 1

    def message_value(self, message: Any, field: _Field) -> None:
        tokens = self.tokens
        if tokens[self.position] == "[" and field.repeated:
            self.position += 1
            while tokens[self.position] != "]":
                self.one_message(message, field)
                if tokens[self.position] == ",":
                    self.position += 1
            self.position += 1
        else:
            self.one_message(message, field)

    def one_message(self, message: Any, field: _Field) -> None:
        closing = CLOSING.get(self.tokens[self.position])
        if closing is None:
            raise self.error(f"expected '{{' or '<' after {field.name}")
        self.position += 1
        if field.map_entry is not None:
            entry = field.map_entry()
            self.merge(entry, closing)
            container = getattr(message, field.name)
            if field.descriptor.message_type.fields_by_name["value"].cpp_type == _MESSAGE:
                container[entry.key].CopyFrom(entry.value)
            else:
                container[entry.key] = entry.value
        elif field.repeated:
            self.merge(getattr(message, field.name).add(), closing)
        else:
            child = getattr(message, field.name)
            child.SetInParent()
            self.merge(child, closing)

    def scalar_value(self, message: Any, field: _Field) -> None:
        tokens = self.tokens
        if tokens[self.position] == "[" and field.repeated:
            self.position += 1
            values = []
            while tokens[self.position] != "]":
                values.append(self.scalar(field))
                if tokens[self.position] == ",":
                    self.position += 1
            self.position += 1
            getattr(message, field.name).extend(values)
        elif field.repeated:
            getattr(message, field.name).append(self.scalar(field))
        else:
            setattr(message, field.name, self.scalar(field))

    def scalar(self, field: _Field) -> Any:
        """One value of a scalar field, converted to its type."""
        token = self.tokens[self.position]
        self.position += 1
        kind = field.type
        try:
            if kind in (_STRING, _BYTES):
                return self.string(token, as_bytes=kind == _BYTES)
            if kind == _ENUM:
                if token[0].isdigit() or token[0] == "-":
                    return int(token)
                return field.descriptor.enum_type.values_by_name[token].number
            if kind == _BOOL:
                if token in _TRUE or token in _FALSE:
                    return token in _TRUE
                raise ValueError(token)
            if kind in _FLOATS:
                return float(token.rstrip("fF"))
            return int(token, 0)
        except (KeyError, IndexError, ValueError, UnicodeDecodeError) as error:
            self.position -= 1
            raise self.error(f"expected a value of {field.name}") from error

    def string(self, token: str, as_bytes: bool) -> str | bytes:
        """A string literal, and the literals right after it (the text format joins them)."""
        text = _literal(token)
        while self.tokens[self.position][:1] in ("'", '"'):
            text += _literal(self.tokens[self.position])
            self.position += 1
        if "\\" in text:
            from google.protobuf import text_encoding

            raw = text_encoding.CUnescape(text)
            return raw if as_bytes else raw.decode("utf-8")
        return text.encode("utf-8") if as_bytes else text

    def skip_braces(self) -> None:
        """Step over a ``{ ... }`` in text whose only brackets are braces: from one ``}``
        to the next with ``list.index``, counting the ``{`` between, so the tokens of a
        skipped message are looked at in C, not one by one."""
        tokens = self.tokens
        position, depth = self.position + 1, 1
        while depth:
            try:
                closing = tokens.index("}", position)
            except ValueError:
                self.position = len(tokens) - 1
                raise self.error("expected the end of a skipped message") from None
            depth += tokens[position:closing].count("{") - 1
            position = closing + 1
        self.position = position

    def skip_value(self) -> None:
        """Step over a field's value: a message, a list or a scalar."""
        tokens = self.tokens
        token = tokens[self.position]
        if token == "{" and self.braces_only:
            self.skip_braces()
            return
        if token in CLOSING or token == "[":
            depth = 0
            while True:
                token = tokens[self.position]
                self.position += 1
                if token in ("{", "<", "["):
                    depth += 1
                elif token in ("}", ">", "]"):
                    depth -= 1
                    if depth == 0:
                        return
                elif token == END:
                    self.position -= 1
                    raise self.error("expected the end of a skipped message")
        if token == END or token in ("}", ">", "]", ":", ",", ";"):
            raise self.error("expected a value")
        self.position += 1
        while tokens[self.position][:1] in ("'", '"'):
            self.position += 1
