"""Status lines under a widget's buttons: progress, success and errors, as HTML."""

from __future__ import annotations

from html import escape

from ..errors import (
    ModelCodeNeededError,
    SavedModelWidgetsError,
    TargetExistsError,
    UnknownCustomObjectError,
    UntrustedCodeError,
)
from ..savedmodel.html import LEVEL_COLORS, OK_COLOR

WIDGET_HINTS: dict[type[Exception], str] = {
    TargetExistsError: "In this widget: tick Overwrite, set Version to auto, or change the "
                       "directory.",
    UntrustedCodeError: "In this widget: tick Trust code in this file, only if you trust "
                        "where the file came from.",
    ModelCodeNeededError: "In this widget: build the model in the notebook (run its code), "
                          "click Refresh, and choose it under Weights into.",
    UnknownCustomObjectError: "In this widget: define or import the class in the notebook; "
                              "it is passed to Keras from the notebook's variables.",
}
"""What to do in the widget, after the backend's message (which speaks of the API)."""


def error_text(error: BaseException) -> str:
    """The error's message, with the widget's own hint when there is one."""
    message = str(error) or type(error).__name__
    for error_class, hint in WIDGET_HINTS.items():
        if isinstance(error, error_class):
            return f"{message}\n{hint}"
    return message


def failure_text(error: BaseException) -> str:
    """:func:`error_text`, after the exception's class name when it is none of the
    project's own errors (an unexpected failure, shown in place all the same)."""
    text = error_text(error)
    if isinstance(error, SavedModelWidgetsError):
        return text
    return f"{type(error).__name__}: {text}"


def error_html(text: str) -> str:
    """An error message in red, line breaks kept."""
    color = LEVEL_COLORS["error"]
    return (f'<div class="savedmodel-widgets-error" style="color:{color};'
            f'white-space:pre-wrap">{escape(text)}</div>')


def warning_html(text: str) -> str:
    """A warning, small and in orange."""
    color = LEVEL_COLORS["warning"]
    return f'<small style="color:{color}">{escape(text)}</small>'


def ok_html(text: str) -> str:
    """A success line in green."""
    return f'<div style="color:{OK_COLOR}">{escape(text)}</div>'


def note_html(text: str) -> str:
    """A plain status line (progress, hints)."""
    return f'<div style="white-space:pre-wrap">{escape(text)}</div>'
