"""The verification report as HTML: a compact table, every text escaped, no JavaScript."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .savedmodel.html import LEVEL_COLORS, OK_COLOR
from .savedmodel.info import format_shape

if TYPE_CHECKING:
    from .verifier import VerifyReport

_PASS, _FAIL, _MUTED = OK_COLOR, LEVEL_COLORS["error"], "#666"
_TABLE_STYLE = "border-collapse:collapse;font-size:0.9em;margin:0.3em 0"
_CELL_STYLE = "border:1px solid #ccc;padding:2px 6px;text-align:left"


def _cell(text: object, color: str = "", colspan: int = 1) -> str:
    style = _CELL_STYLE + (f";color:{color}" if color else "")
    span = f' colspan="{colspan}"' if colspan > 1 else ""
    return f'<td style="{style}"{span}>{escape(str(text))}</td>'


def _diff_text(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def render_report_html(report: VerifyReport) -> str:
    """The report as a compact table: signature, output, shapes, max |diff|, verdict.

    The source shape and max |diff| columns are left out when the report was not
    compared with a source (a SavedModel verified from its path alone). Every text
    is escaped; there is no JavaScript.
    """
    color = _PASS if report.ok else _FAIL
    verdict = "passed" if report.ok else ("nothing verified" if not report.error and all(
        s.skipped for s in report.signatures) else "FAILED")
    compared = "compared with the source" if report.compared_with_source else "not compared"
    loaded = (f"loaded in {report.runtime}" if report.runtime
              else f"reloaded in TensorFlow {report.tensorflow_version or 'unknown'}")
    header = (
        f'<div><b>Verify</b> <code>{escape(report.path)}</code> · '
        f'<b style="color:{color}">{escape(verdict)}</b> · {escape(loaded)}'
        f" · {escape(compared)} (atol {report.atol:g}, rtol {report.rtol:g})"
        f" · {report.seconds:.1f} s</div>"
    )
    error = (f'<pre style="color:{_FAIL};white-space:pre-wrap">{escape(report.error)}</pre>'
             if report.error else "")
    note = (f'<div style="color:{_FAIL}">Note: {escape(report.note)}.</div>'
            if report.note else "")
    with_source = report.compared_with_source
    headers = ("signature", "output", "dtype", "shape",
               *(("source shape", "max |diff|") if with_source else ()), "result")
    span = len(headers) - 1
    head = "".join(f'<th style="{_CELL_STYLE}">{escape(h)}</th>' for h in headers)
    body = []
    for signature in report.signatures:
        name = _cell(signature.name)
        if signature.skipped:
            body.append(f"<tr>{name}{_cell('skipped: ' + signature.skip_reason, _MUTED, span)}"
                        "</tr>")
            continue
        if signature.error:
            body.append(f"<tr>{name}{_cell(signature.error, _FAIL, span)}</tr>")
        for output in signature.outputs:
            result_color = {True: _PASS, False: _FAIL, None: _MUTED}[output.passed]
            result = output.result_text + (f": {output.note}" if output.note else "")
            shape = "missing" if output.shape is None else format_shape(output.shape)
            compared = ""
            if with_source:
                source_shape = ("" if output.source_shape is None
                                else format_shape(output.source_shape))
                compared = f"{_cell(source_shape)}{_cell(_diff_text(output.max_abs_diff))}"
            body.append(
                f"<tr>{name}{_cell(output.alias)}{_cell(output.dtype)}{_cell(shape)}"
                f"{compared}{_cell(result, result_color)}</tr>"
            )
    table = (f'<table style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead>'
             f"<tbody>{''.join(body)}</tbody></table>")
    return f'<div class="savedmodel-widgets-verify">{header}{error}{note}{table}</div>'
