"""Plain-text rendering of a SavedModel: sizes, tree, summary (used by the CLI)."""

from __future__ import annotations

from collections.abc import Sequence

from .info import FileEntry, SavedModelInfo, format_shape

__all__ = [
    "VARIABLE_COLUMNS",
    "children_by_parent",
    "count_text",
    "describe_version",
    "entry_label",
    "format_bytes",
    "format_columns",
    "render_summary",
    "render_tree",
    "render_variables",
    "variable_rows",
]

_UNITS = ("B", "kB", "MB", "GB", "TB")


def format_bytes(size: int) -> str:
    """A byte count for people: ``412 B``, ``98.2 kB``, ``51.3 MB`` (powers of 1000)."""
    value, exponent = float(size), 0
    while value >= 1000 and exponent < len(_UNITS) - 1:
        value, exponent = value / 1000, exponent + 1
    return f"{size} B" if exponent == 0 else f"{value:.1f} {_UNITS[exponent]}"


def count_text(number: int, noun: str) -> str:
    """``1 signature``, ``2 signatures``, ``12,001 tensors``."""
    return f"{number:,} {noun}{'s' * (number != 1)}"


def children_by_parent(files: Sequence[FileEntry]) -> dict[str, list[FileEntry]]:
    """Group tree entries under their parent path (``""`` for the top level), in order."""
    groups: dict[str, list[FileEntry]] = {}
    for entry in files:
        parent = entry.path.rsplit("/", 1)[0] if "/" in entry.path else ""
        groups.setdefault(parent, []).append(entry)
    return groups


def entry_label(entry: FileEntry) -> str:
    """``name/  (size)`` for a directory, ``name  (size)`` for a file."""
    return f"{entry.name}{'/' if entry.is_dir else ''}  ({format_bytes(entry.size)})"


def render_tree(info: SavedModelInfo) -> str:
    """The SavedModel's files as a text tree with sizes, directories first."""
    groups = children_by_parent(info.files)
    lines = [f"{info.path}  ({format_bytes(info.total_bytes)})"]

    def add(parent: str, indent: str) -> None:
        entries = groups.get(parent, [])
        for position, entry in enumerate(entries):
            last = position == len(entries) - 1
            lines.append(f"{indent}{'└── ' if last else '├── '}{entry_label(entry)}")
            if entry.is_dir:
                add(entry.path, indent + ("    " if last else "│   "))

    add("", "")
    return "\n".join(lines)


def format_columns(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Align rows of cells into columns separated by two spaces."""
    if not rows:
        return []
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        indent
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def describe_version(info: SavedModelInfo) -> str:
    """``version 3 (other versions: 1, 2)`` or ``no version directory``; a higher version
    directory without ``saved_model.pb`` is named: ``...; the highest, 7, holds no
    saved_model.pb``."""
    if info.version is None:
        return "no version directory"
    others = ", ".join(map(str, info.other_versions))
    text = f"version {info.version} (other versions: {others})" if others else (
        f"version {info.version}")
    newest = max(info.versions_without_model, default=info.version)
    if newest > info.version:
        text += f"; the highest version directory, {newest}, holds no saved_model.pb"
    return text


def render_summary(info: SavedModelInfo, max_ops: int = 12) -> str:
    """Everything ``python -m savedmodel_widgets show`` prints."""
    where = describe_version(info)
    lines = [
        f"SavedModel {info.path}",
        (
            f"  {where}; saved_model.{info.format}; schema {info.schema_version}; "
            f"{format_bytes(info.total_bytes)}"
        ),
        "",
        render_tree(info),
    ]
    for meta_graph in info.meta_graphs:
        written_by = meta_graph.tensorflow_version or "unknown"
        lines += [
            "",
            f"MetaGraph tags {list(meta_graph.tags)}  (written by TensorFlow {written_by})",
        ]
        for signature in meta_graph.signatures:
            lines.append(f"  signature {signature.name!r}  method {signature.method_name}")
            for direction, tensors in (
                ("inputs", signature.inputs),
                ("outputs", signature.outputs),
            ):
                lines.append(f"    {direction}:")
                lines += format_columns(
                    [(t.alias, t.dtype, t.shape_text, t.tensor_text) for t in tensors],
                    indent="      ",
                )
        if not meta_graph.signatures:
            lines.append("  no signatures")
        lines.append(f"  init op: {meta_graph.init_op or 'none'}")
        top = ", ".join(f"{op} {count}" for op, count in meta_graph.op_counts[:max_ops])
        more = " ..." if len(meta_graph.op_counts) > max_ops else ""
        lines.append(f"  ops: {meta_graph.op_count} in total: {top}{more}")
    lines += ["", render_variables(info)]
    return "\n".join(lines)


def render_variables(info: SavedModelInfo) -> str:
    """The saved variables as text, with the size of ``variables/``."""
    if info.variables_error:
        return f"Variables: {info.variables_error}"
    saved = sum(variable.nbytes for variable in info.variables)
    lines = [
        (
            f"Variables: {len(info.variables)} tensors, {format_bytes(saved)} "
            f"(variables/ {format_bytes(info.variables_bytes)} on disk)"
        )
    ]
    lines += format_columns(variable_rows(info), indent="  ")
    lines += [f"  data file problem: {problem}" for problem in info.data_file_problems]
    return "\n".join(lines)


VARIABLE_COLUMNS = ("name", "dtype", "shape", "bytes", "note")


def variable_rows(info: SavedModelInfo) -> list[tuple[str, str, str, str, str]]:
    """One row of text per saved variable, in :data:`VARIABLE_COLUMNS` order.

    The note gives the checkpoint key when it differs from the variable's name.
    """
    return [
        (
            v.name,
            v.dtype,
            format_shape(v.shape),
            format_bytes(v.nbytes),
            "" if v.key == v.name else f"key: {v.key}",
        )
        for v in info.variables
    ]
