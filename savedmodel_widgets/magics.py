"""The IPython extension: ``%load_ext savedmodel_widgets``, then ``%savedmodel ...``.

``%savedmodel export [VAR]``, ``%savedmodel inspect [DIR]`` and
``%savedmodel convert [FILE]`` each show the matching widget;
``%savedmodel --help`` lists the options.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from .sources import find_models, model_kind

__all__ = ["SavedModelMagics", "load_ipython_extension"]


EXAMPLES = """\
examples:
  %savedmodel export model
  %savedmodel export model --dir served/model --signature predict_images
  %savedmodel inspect export/model
  %savedmodel convert model.h5 --trust"""
"""The end of ``%savedmodel --help``, one example a line."""


class _HelpShown(Exception):
    """``--help`` printed its text; the magic returns nothing."""


class _Parser(argparse.ArgumentParser):
    """Errors become IPython usage errors instead of ending the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message)
        raise _HelpShown


def _parser() -> _Parser:
    parser = _Parser(
        prog="%savedmodel",
        description="Export, inspect and convert TensorFlow SavedModels with widgets.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    export = commands.add_parser(
        "export", help="show the ExportWidget for a model of the notebook")
    export.add_argument("variable", nargs="?", help="the model's variable name "
                        "(default: the widget lists every model of the notebook)")
    export.add_argument("--dir", help="the target directory (default: export/VARIABLE)")
    export.add_argument("--signature", help="the signature name (default: serving_default)")
    inspect = commands.add_parser("inspect", help="show the InspectWidget for a SavedModel")
    inspect.add_argument("directory", nargs="?", help="the SavedModel directory "
                         "(default: choose from the SavedModels found here)")
    convert = commands.add_parser("convert", help="show the ConvertWidget for a model file")
    convert.add_argument("file", nargs="?", help="a .h5 or .keras file, a checkpoint folder "
                         "or prefix, or a .meta file (default: choose from the files found here)")
    convert.add_argument("--trust", action="store_true",
                         help="load Lambda layers, which run Python code stored in the file")
    return parser


@magics_class
class SavedModelMagics(Magics):
    """The ``%savedmodel`` line magic."""

    @line_magic
    def savedmodel(self, line: str) -> Any:
        """Show a savedmodel_widgets widget: ``%savedmodel export|inspect|convert ...``.

        Run ``%savedmodel --help`` for the options.
        """
        parser = _parser()
        try:
            words = shlex.split(line)
        except ValueError as error:  # an unclosed quote
            raise UsageError(f"{error} in: {line}\n{parser.format_usage()}") from None
        try:
            args = parser.parse_args(words)
        except _HelpShown:
            return None
        if args.command is None:
            parser.print_help()
            return None
        if self.shell is None:
            raise UsageError("%savedmodel runs in an IPython shell or a notebook.")
        namespace = self.shell.user_ns
        if args.command == "export":
            return _export_widget(namespace, args.variable, args.dir, args.signature)
        if args.command == "inspect":
            from .widgets import InspectWidget

            return InspectWidget(args.directory)
        from .widgets import ConvertWidget

        return ConvertWidget(args.file, trust=args.trust, namespace=namespace)


def _export_widget(namespace: dict[str, Any], variable: str | None, directory: str | None,
                   signature: str | None) -> Any:
    from .widgets import ExportWidget

    model = None
    if variable is not None:
        if variable not in namespace:
            raise UsageError(f"There is no variable {variable!r} in the notebook. "
                             f"{_models_text(namespace)}")
        model = namespace[variable]
        if model_kind(model) is None:
            raise UsageError(
                f"{variable!r} is a {type(model).__name__}, not a model this can export: a "
                "Keras model, a tf.compat.v1.Session, a tf.Graph or a tf.Module. "
                f"{_models_text(namespace)}"
            )
    widget = ExportWidget(model, namespace=namespace, name=variable, directory=directory)
    if signature and widget.signature_list is not None:
        widget.signature_list.editors[0].name_box.value = signature
    return widget


def _models_text(namespace: dict[str, Any]) -> str:
    names = ", ".join(entry.name for entry in find_models(namespace)) or "none yet"
    return f"Models in the notebook: {names}."


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%savedmodel`` (called by ``%load_ext savedmodel_widgets``)."""
    ipython.register_magics(SavedModelMagics)
