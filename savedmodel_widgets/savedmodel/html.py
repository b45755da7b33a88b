"""HTML rendering of a SavedModel for notebooks.

Plain HTML with nested ``<details>`` elements: it collapses and expands in
JupyterLab and in static notebook viewers alike, with no JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from .checks import TARGETS, CheckResult, Target, check, is_ready, verdict
from .info import SIGNATURE_COLUMNS, MetaGraph, SavedModelInfo, Signature, format_shape
from .runtime_checks import on_runtime
from .text import (
    VARIABLE_COLUMNS,
    children_by_parent,
    describe_version,
    format_bytes,
    variable_rows,
)

__all__ = [
    "LEVEL_COLORS",
    "MAX_OPS_SHOWN",
    "OK_COLOR",
    "details",
    "html_table",
    "render_all_checks",
    "render_checks",
    "render_file_tree",
    "render_header",
    "render_html",
    "render_meta_graph",
    "render_op_summary",
    "render_signature",
    "render_signature_table",
    "render_variables",
]

LEVEL_COLORS = {"error": "#b00020", "warning": "#b26a00", "info": "#1a5fb4"}
OK_COLOR = "#26a269"
"""Green, for what passed or is ready."""
MAX_OPS_SHOWN = 40

_TABLE_STYLE = "border-collapse:collapse;font-size:0.9em;margin:0.3em 0"
_CELL_STYLE = "border:1px solid #ccc;padding:2px 6px;text-align:left"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A bordered HTML table; every cell is escaped."""
    head = "".join(f'<th style="{_CELL_STYLE}">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{escape(str(c))}</td>' for c in row) + "</tr>"
        for row in rows
    )
    return (
        f'<table style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def details(summary: str, body: str, is_open: bool = False) -> str:
    """A collapsible section; ``summary`` is HTML."""
    return f"<details{' open' if is_open else ''}><summary>{summary}</summary>{body}</details>"


def render_file_tree(info: SavedModelInfo) -> str:
    """The directory tree as nested ``<details>``, directories open."""
    groups = children_by_parent(info.files)

    def render(parent: str) -> str:
        items = []
        for entry in groups.get(parent, []):
            name = f"{entry.name}/" if entry.is_dir else entry.name
            label = f"<code>{escape(name)}</code> <small>{format_bytes(entry.size)}</small>"
            if entry.is_dir:
                items.append(
                    details(label, render(entry.path) or "<div><em>empty</em></div>", True)
                )
            else:
                items.append(f"<div>{label}</div>")
        return f'<div style="margin-left:1.2em">{"".join(items)}</div>' if items else ""

    title = f"<code>{escape(info.path)}</code> <small>{format_bytes(info.total_bytes)}</small>"
    return details(title, render(""), True)


def render_signature(signature: Signature) -> str:
    """One signature: its method and a table of inputs and outputs."""
    rows = [
        (
            direction,
            t.alias,
            t.dtype,
            t.shape_text,
            t.tensor_text,
            t.encoding,
        )
        for direction, tensors in (
            ("input", signature.inputs),
            ("output", signature.outputs),
        )
        for t in tensors
    ]
    summary = (
        f"signature <b>{escape(signature.name)}</b> "
        f"<small>{escape(signature.method_name or '<no method>')}</small>"
    )
    table = html_table(("direction", "alias", "dtype", "shape", "tensor", "encoding"), rows)
    return details(summary, table, True)


def render_meta_graph(meta_graph: MetaGraph) -> str:
    """A meta graph: its signatures, its init op, then its op summary (collapsed)."""
    version = meta_graph.tensorflow_version or "unknown"
    summary = (
        f"meta graph <b>{escape(', '.join(meta_graph.tags) or '<no tags>')}</b> "
        f"<small>written by TensorFlow {escape(version)}</small>"
    )
    signatures = (
        "".join(render_signature(s) for s in meta_graph.signatures) or "<p>No signatures.</p>"
    )
    init_op = f"<code>{escape(meta_graph.init_op)}</code>" if meta_graph.init_op else "none"
    ops = details(
        f"ops: {meta_graph.op_count} in total, {len(meta_graph.op_counts)} types",
        html_table(("op", "count"), meta_graph.op_counts[:MAX_OPS_SHOWN]),
    )
    body = f"{signatures}<div>init op: {init_op}</div>{ops}"
    return details(summary, f'<div style="margin-left:1.2em">{body}</div>', True)


def render_checks(results: Sequence[CheckResult], target: Target, runtime: str = "") -> str:
    """The findings for one serving system (on ``runtime``, the name of the runtime the
    check was made for, if any), or a line that says it is ready."""
    color = OK_COLOR if is_ready(results) else LEVEL_COLORS["error"]
    where = TARGETS[target] + on_runtime(runtime)
    summary = f'{escape(where)}: <span style="color:{color}">{verdict(results)}</span>'
    worth_reading = any(result.level != "info" for result in results)
    items = "".join(
        f'<li><b style="color:{LEVEL_COLORS[r.level]}">{r.level}</b> '
        f"<code>{escape(r.code)}</code>: {escape(r.message)}"
        f"<br><small>Fix: {escape(r.fix)}</small></li>"
        for r in results
    )
    body = f"<ul>{items}</ul>" if items else "<p>No findings.</p>"
    return details(summary, body, worth_reading)


def render_variables(info: SavedModelInfo) -> str:
    """The saved variables (collapsed), or why they could not be read."""
    if info.variables_error:
        return f"<p>Variables: {escape(info.variables_error)}</p>"
    summary = (
        f"variables: {len(info.variables)} tensors, {format_bytes(info.variables_bytes)} on disk"
    )
    return details(summary, html_table(VARIABLE_COLUMNS, variable_rows(info)))


def render_signature_table(info: SavedModelInfo) -> str:
    """Every signature's inputs and outputs as one table (signature, method, direction,
    alias, tensor, dtype, shape)."""
    rows = [
        (
            r["signature"],
            r["method"],
            r["direction"],
            r["alias"],
            r["tensor"],
            r["dtype"],
            format_shape(r["shape"]),
        )
        for r in info.signature_rows()
    ]
    if not rows:
        return "<p>No signatures: a server has nothing to call.</p>"
    return html_table(SIGNATURE_COLUMNS, rows)


def render_all_checks(info: SavedModelInfo, runtime: str | None = None) -> str:
    """The serving checks for every serving system, one collapsible section each, made for
    ``runtime`` (see :func:`~savedmodel_widgets.runtimes`; the installed TensorFlow when
    None)."""
    return "".join(render_checks(check(info, target, runtime=runtime), target, runtime or "")
                   for target in TARGETS)


def render_op_summary(info: SavedModelInfo) -> str:
    """The op types of each meta graph with their counts, most frequent first."""
    parts = []
    for meta_graph in info.meta_graphs:
        tags = ", ".join(meta_graph.tags) or "<no tags>"
        parts.append(
            f"<div>meta graph <b>{escape(tags)}</b>: {meta_graph.op_count} ops, "
            f"{len(meta_graph.op_counts)} types</div>"
            + html_table(("op", "count"), meta_graph.op_counts[:MAX_OPS_SHOWN])
        )
    return "".join(parts) or "<p>No meta graphs.</p>"


def render_header(info: SavedModelInfo) -> str:
    """One line: path, version, format and size."""
    where = describe_version(info)
    return (
        f"<div><b>SavedModel</b> <code>{escape(info.path)}</code> · {escape(where)} · "
        f"saved_model.{info.format} · {format_bytes(info.total_bytes)}</div>"
    )


def render_html(info: SavedModelInfo) -> str:
    """The whole SavedModel: tree, meta graphs, signature table, checks, variables."""
    parts = [
        render_header(info),
        render_file_tree(info),
        *(render_meta_graph(mg) for mg in info.meta_graphs),
        details("signature table", render_signature_table(info), True),
        details("serving checks", render_all_checks(info), True),
        render_variables(info),
    ]
    return f'<div class="savedmodel-widgets-info">{"".join(parts)}</div>'
