"""Command line: ``python -m savedmodel_widgets show|check DIR``,
``python -m savedmodel_widgets convert FILE --out DIR``,
``python -m savedmodel_widgets serve DIR`` and
``python -m savedmodel_widgets deploy DIR --eas PROCESSOR | --tfserving RELEASE``
(:mod:`savedmodel_widgets.cli_deploy`).

``show`` and ``check`` import neither TensorFlow nor pandas, so they answer in
a fraction of a second. ``convert`` opens a model file with TensorFlow and
writes a SavedModel; ``convert --list`` only prints the tensors it could use.

Exit codes: 0 done, 1 an error-level serving check failed, 2 bad usage, a
directory that cannot be read as a SavedModel, or a model file that cannot be
converted (then nothing is written), 141 when stdout was closed before
everything was printed (``show --json | head``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib
import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .cli_deploy import add_deploy_parser, run_deploy
from .errors import (
    ModelCodeNeededError,
    SavedModelError,
    SavedModelWidgetsError,
    TargetExistsError,
    UnknownCustomObjectError,
    UntrustedCodeError,
)
from .runtimes.catalogue import get_runtime, runtimes
from .savedmodel.checks import TARGETS, CheckResult, Target, check, is_ready, verdict
from .savedmodel.info import DEFAULT_SIGNATURE, SavedModelInfo
from .savedmodel.reader import read_saved_model
from .savedmodel.runtime_checks import on_runtime
from .savedmodel.text import format_bytes, format_columns, render_summary

if TYPE_CHECKING:
    # ``convert`` imports these when it runs: ``show`` and ``check`` never load them.
    from .convert import ModelFile
    from .spec import ExportResult, Version

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BROKEN_PIPE",
    "EXIT_CHECK_FAILED",
    "EXIT_OK",
    "build_parser",
    "main",
    "Pick",
    "UsageError",
]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141
"""What a shell reports for a command that SIGPIPE ended: 128 + 13."""

Pick = tuple[str | None, str]
"""One ``--input``/``--output`` value: ``(alias or None, tensor name)``."""


class UsageError(Exception):
    """A command-line value that cannot be used (a module that does not import)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m savedmodel_widgets``."""
    parser = argparse.ArgumentParser(
        prog="python -m savedmodel_widgets",
        description="Inspect and check TensorFlow SavedModels without loading TensorFlow; "
        "convert model files into SavedModels.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    show = commands.add_parser(
        "show", help="print the tree, meta graphs, signatures, ops and variables"
    )
    checker = commands.add_parser(
        "check", help="say whether TF Serving and EAS will accept the SavedModel"
    )
    for command in (show, checker):
        command.add_argument(
            "path", help="SavedModel directory, or a parent of numeric version directories"
        )
        command.add_argument(
            "--version", type=int, help="version directory to read (default: the highest)"
        )
        command.add_argument("--json", action="store_true", help="print JSON instead of text")
    checker.add_argument(
        "--target",
        choices=[*TARGETS, "all"],
        default="all",
        help="serving system to check for (default: all)",
    )
    checker.add_argument(
        "--runtime",
        metavar="NAME",
        help="the runtime the server runs, e.g. eas:tensorflow_cpu_1.15, tfserving:2.7, "
        "tf:1.14 or installed: every op and attribute of the graph must be known to its "
        "TensorFlow (an unknown name lists the known ones)",
    )
    _add_convert_parser(commands)
    _add_serve_parser(commands)
    add_deploy_parser(commands)
    return parser


def _add_serve_parser(commands: Any) -> None:
    server = commands.add_parser(
        "serve",
        help="answer TF Serving REST/gRPC and EAS requests from a SavedModel on 127.0.0.1",
        description="Load the SavedModel as TF Serving does and answer its REST API (and its "
        "gRPC API with --grpc-port, and EAS requests) on 127.0.0.1 until Ctrl-C. Loads "
        "TensorFlow.",
    )
    server.add_argument(
        "path", help="SavedModel directory, or a parent of numeric version directories "
        "(all are served; the highest by default)"
    )
    server.add_argument("--model-name", metavar="NAME",
                        help="the name clients send (default: the directory's name)")
    server.add_argument("--port", type=int, default=0,
                        help="REST and EAS port (default: a free one)")
    server.add_argument("--grpc-port", type=int, metavar="M",
                        help="also answer TF Serving's gRPC API on this port (0: a free one); "
                        "needs `pip install --no-deps tensorflow-serving-api`")
    server.add_argument("--eas-token", metavar="T",
                        help="the token EAS requests must be signed with")


def _add_convert_parser(commands: Any) -> None:
    converter = commands.add_parser(
        "convert",
        help="write a SavedModel from a Keras .h5/.keras file or a TF1/TF2 checkpoint",
        description="Open a model file and write it as a SavedModel, then read it back and "
        "run the serving checks. Loads TensorFlow.",
    )
    converter.add_argument(
        "path", help="Keras .h5 or .keras file; TF1 checkpoint directory, prefix or .meta; "
        "TF2 checkpoint directory or prefix"
    )
    converter.add_argument(
        "--out", metavar="DIR", help="where the SavedModel goes (required unless --list)"
    )
    for option, what in (("--input", "input"), ("--output", "output")):
        converter.add_argument(
            option, action="append", type=_pick, metavar="ALIAS=TENSOR",
            help=f"a signature {what}: a tensor name (see --list), with the alias clients "
            f"use before '='; repeat for more (default: the suggested {what}s)",
        )
    converter.add_argument(
        "--signature", default=DEFAULT_SIGNATURE,
        help=f"signature name (default: {DEFAULT_SIGNATURE})",
    )
    converter.add_argument(
        "--method", choices=["predict", "classify", "regress"], default="predict",
        help="SignatureDef method; classify and regress only for TF1 checkpoints "
        "(default: predict)",
    )
    converter.add_argument(
        "--version", type=_version, metavar="N|auto",
        help="write into DIR/N, or DIR/<next free number> with 'auto' (default: DIR itself)",
    )
    converter.add_argument(
        "--overwrite", action="store_true", help="replace a target that already holds files"
    )
    converter.add_argument(
        "--runtime", default="installed", metavar="NAME",
        help="the TensorFlow the SavedModel is for: an EAS processor "
        "(eas:tensorflow_cpu_1.15), a TF Serving release (tfserving:2.7), a TensorFlow "
        "release (tf:1.14) or 'installed' (default); an older one gets a SavedModel it loads",
    )
    converter.add_argument(
        "--verify", action="store_true",
        help="reload the SavedModel in a fresh Python process, run its signature and "
        "compare the outputs with the loaded model (an export that fails it exits with 1)",
    )
    converter.add_argument(
        "--trust", action="store_true",
        help="load a file that carries Python code (Lambda layers, lambda activations), "
        "which runs when it is loaded",
    )
    converter.add_argument(
        "--model", metavar="MODULE:FUNCTION",
        help="the model's code, for TF2 checkpoints, weights-only .h5 and TF1 checkpoints "
        "without .meta: a function that builds the model or returns a session "
        "(MODULE is imported from the current directory too)",
    )
    converter.add_argument(
        "--custom-object", action="append", default=[], metavar="MODULE:NAME",
        help="a custom Keras layer or function the file names NAME; repeat for more",
    )
    converter.add_argument(
        "--list", action="store_true",
        help="print the file's candidate tensors and the suggested signature; write nothing",
    )
    converter.add_argument("--json", action="store_true", help="print JSON instead of text")
    converter.set_defaults(usage_error=converter.error)


def _pick(value: str) -> Pick:
    """``ALIAS=TENSOR`` -> ``(alias, tensor)``; a bare ``TENSOR`` -> ``(None, tensor)``."""
    alias, equals, name = value.partition("=")
    if not equals:
        return None, value
    if not alias or not name:
        raise argparse.ArgumentTypeError(
            f"{value!r}: write ALIAS=TENSOR (e.g. image=x:0), or the tensor name alone"
        )
    return alias, name


def _version(value: str) -> Version:
    """An integer, or ``auto``."""
    if value == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a version number or 'auto'") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader of stdout has gone (``show --json | head``). Python's documented
        # recipe (the signal module's "Note on SIGPIPE"): point stdout at devnull, so
        # the flush at exit fails no more, and end quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; returns the exit code."""
    if args.command == "convert":
        _check_convert_args(args)
        return _convert(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "deploy":
        ready = run_deploy(args)
        return EXIT_BAD_INPUT if ready is None else EXIT_OK if ready else EXIT_CHECK_FAILED
    runtime = getattr(args, "runtime", None)
    if runtime is not None:
        try:
            get_runtime(runtime)
        except ValueError as error:
            names = ", ".join(known.name for known in runtimes())
            print(f"error: {error}\nKnown runtimes: {names}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        info = read_saved_model(args.path, args.version)
    except SavedModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "show":
        print(_json(info.to_dict()) if args.json else render_summary(info))
        return EXIT_OK
    targets = list(TARGETS) if args.target == "all" else [args.target]
    results = {target: check(info, target, runtime) for target in targets}
    print(_checks_json(info, results, runtime) if args.json else _checks_text(results, runtime))
    return _exit_code(results)


def _json(data: object) -> str:
    """``data`` as indented JSON (``json`` is imported only for ``--json``)."""
    import json

    return json.dumps(data, indent=2)


def _exit_code(results: dict[Target, list[CheckResult]]) -> int:
    """0 when every target is ready, 1 when an error-level check failed."""
    ready = all(is_ready(found) for found in results.values())
    return EXIT_OK if ready else EXIT_CHECK_FAILED


def _checks_text(results: dict[Target, list[CheckResult]], runtime: str | None = None) -> str:
    lines = []
    for target, found in results.items():
        lines.append(f"{TARGETS[target]}{on_runtime(runtime)}: {verdict(found)}")
        for result in found:
            where = f" [{result.signature}]" if result.signature else ""
            lines.append(f"  {result.level} {result.code}{where}: {result.message}")
            lines.append(f"    fix: {result.fix}")
    return "\n".join(lines)


def _checks_json(
    info: SavedModelInfo, results: dict[Target, list[CheckResult]], runtime: str | None = None
) -> str:
    data: dict[str, Any] = {"path": info.path}
    if runtime:
        data["runtime"] = get_runtime(runtime).name
    return _json({**data, "targets": _targets_data(results)})


def _targets_data(results: dict[Target, list[CheckResult]]) -> dict[str, Any]:
    return {
        target: {"ready": is_ready(found), "results": [dataclasses.asdict(r) for r in found]}
        for target, found in results.items()
    }


# serve --------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    """Run ``serve`` in the foreground: print the URLs, answer until interrupted."""
    from .serving.model import ServingError
    from .serving.worker import HOST, ServerInfo, run_server

    def ready(info: ServerInfo) -> None:
        rest = f"http://{HOST}:{info.rest_port}"
        versions = ", ".join(str(v) for v in info.versions if v is not None) or "unversioned"
        print(f"Serving {info.model_name!r} (versions: {versions}) on {HOST}; Ctrl-C stops.")
        print(f"TF Serving REST: {rest}/v1/models/{info.model_name}")
        if info.grpc_port is not None:
            print(f"TF Serving gRPC: {HOST}:{info.grpc_port}")
        print(f"EAS:             {rest}/api/predict/{info.model_name}", flush=True)

    try:
        run_server(args.path, model_name=args.model_name, port=args.port,
                   grpc_port=args.grpc_port, eas_token=args.eas_token, on_ready=ready)
    except (SavedModelError, ServingError, OSError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
    return EXIT_OK


# convert ------------------------------------------------------------------------------


def _check_convert_args(args: argparse.Namespace) -> None:
    """Usage errors that argparse cannot see (exit 2 with the usage line)."""
    if args.out is None and not args.list:
        args.usage_error("--out DIR is required (or --list to only look at the file)")
    for option, picks in (("--input", args.input), ("--output", args.output)):
        aliases = [alias for alias, _ in picks or () if alias is not None]
        repeated = sorted({alias for alias in aliases if aliases.count(alias) > 1})
        if repeated:
            args.usage_error(f"{option} gives the alias {', '.join(repeated)} more than "
                             "once; each input and output needs its own alias")


def _convert(args: argparse.Namespace) -> int:
    """Run ``convert``: open the file, then list its tensors or export it."""
    try:
        with _importable_from(os.getcwd()), _open(args) as loaded:
            if args.list:
                print(_listing_json(loaded) if args.json else _listing_text(loaded))
                return EXIT_OK
            result = _export(loaded, args)
    except (SavedModelWidgetsError, UsageError) as error:
        print(f"error: {error}{_option_hint(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    results = {target: check(result.info, target) for target in TARGETS}
    print(_result_json(result, results) if args.json else _result_text(result, results))
    verified = result.report is None or result.report.ok
    return _exit_code(results) if verified else EXIT_CHECK_FAILED


def _option_hint(error: Exception) -> str:
    """The command-line option that does what an error's message asks of the Python API."""
    if isinstance(error, UntrustedCodeError):
        return "\nOn the command line: add --trust."
    if isinstance(error, ModelCodeNeededError):
        return ("\nOn the command line: --model MODULE:FUNCTION, a function in MODULE.py that "
                "builds the model (or returns the session).")
    if isinstance(error, UnknownCustomObjectError):
        return f"\nOn the command line: --custom-object MODULE:{error.name}."
    if isinstance(error, TargetExistsError):
        return "\nOn the command line: --overwrite, or --version auto."
    return ""


def _open(args: argparse.Namespace) -> ModelFile:
    """The model file, opened with the code that ``--model`` and ``--custom-object`` name."""
    from .convert import load_model_file

    builder = _import_object(args.model, "--model") if args.model else None
    custom = {_object_name(spec): _import_object(spec, "--custom-object")
              for spec in args.custom_object}
    return load_model_file(args.path, model=builder, custom_objects=custom or None,
                           trust=args.trust, progress=_progress)


def _export(loaded: ModelFile, args: argparse.Namespace) -> ExportResult:
    """Export with the ``--input``, ``--output``, signature and target options."""
    from .exporter import export

    spec = loaded.spec(
        args.out,
        inputs=args.input,  # (alias or None, name) pairs: ModelFile.spec fills in aliases
        outputs=args.output,
        signature_name=args.signature,
        method=args.method,
        version=args.version,
        overwrite=args.overwrite,
        runtime=args.runtime,
    )
    return export(spec, verify=args.verify, progress=_progress)


def _progress(message: object) -> None:
    """Print a progress message of the backend to stderr, so stdout stays the result."""
    print(f"... {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _importable_from(directory: str) -> Iterator[None]:
    """Put ``directory`` first on ``sys.path`` meanwhile, as ``python -m`` does."""
    added = directory not in sys.path
    if added:
        sys.path.insert(0, directory)
    try:
        yield
    finally:
        if added:
            sys.path.remove(directory)


def _import_object(spec: str, option: str) -> Any:
    """The object ``MODULE:NAME`` names (NAME may be dotted: ``Class.method``)."""
    module_name, colon, name = spec.partition(":")
    if not (colon and module_name and name):
        raise UsageError(f"{option} {spec!r}: write MODULE:NAME, e.g. my_models:build_model.")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's module runs here; report any failure
        raise UsageError(
            f"{option} {spec!r}: cannot import {module_name!r} ({type(error).__name__}: "
            f"{error}). Run from the directory that holds {module_name.split('.')[0]}.py, "
            "or add it to PYTHONPATH."
        ) from error
    try:
        return functools.reduce(getattr, name.split("."), module)
    except AttributeError:
        raise UsageError(
            f"{option} {spec!r}: {module_name} ({module.__file__}) has no {name!r}."
        ) from None


def _object_name(spec: str) -> str:
    """The name a ``--custom-object MODULE:NAME`` is known by in the file: NAME's last part."""
    return spec.rpartition(":")[2].rpartition(".")[2]


def _listing_text(loaded: ModelFile) -> str:
    """What ``--list`` prints: the file, one aligned line per candidate, the suggestion."""
    source = loaded.source
    candidates = source.candidates()
    inputs, outputs = source.suggest()
    rows = [("role", "dtype", "shape", "from", "name")]
    rows += [(c.role, c.dtype, c.shape_text, c.detail, c.name) for c in candidates]
    return "\n".join([
        loaded.describe(),
        *(f"  {note}" for note in loaded.notes),
        f"  {source.describe()}",
        "",
        f"{len(candidates)} candidate tensors:",
        *format_columns(rows, indent="  "),
        "",
        "Suggested signature (used where --input or --output is not given):",
        f"  {_options('--input', inputs)}",
        f"  {_options('--output', outputs)}",
    ])


def _options(option: str, picks: dict[str, str]) -> str:
    """``{alias: name}`` as options to paste: ``--input x=x:0 --input t=t:0``."""
    return " ".join(f"{option} {shlex.quote(f'{alias}={name}')}" for alias, name in picks.items())


def _listing_json(loaded: ModelFile) -> str:
    """What ``--list --json`` prints: the file, its candidates and the suggestion."""
    source = loaded.source
    inputs, outputs = source.suggest()
    candidates = [
        {"name": c.name, "role": c.role, "dtype": c.dtype,
         "shape": None if c.shape is None else list(c.shape), "detail": c.detail,
         "alias": c.alias}
        for c in source.candidates()
    ]
    return _json({
        "file": loaded.describe(),
        "notes": list(loaded.notes),
        "candidates": candidates,
        "suggested": {"inputs": inputs, "outputs": outputs},
    })


def _result_text(result: ExportResult, results: dict[Target, list[CheckResult]]) -> str:
    """The export's path, size and time, its summary, and the serving checks."""
    head = (f"Exported {result.path}: {format_bytes(result.bytes_written)} in "
            f"{result.seconds:.2f} s")
    parts = [head, render_summary(result.info), _checks_text(results)]
    if result.report is not None:
        parts.append(f"Verification: {result.report.verdict()}")
    return "\n\n".join(parts)


def _result_json(result: ExportResult, results: dict[Target, list[CheckResult]]) -> str:
    """The export as JSON: path, bytes, seconds, the read-back info and the checks."""
    return _json({
        "path": str(result.path),
        "bytes": result.bytes_written,
        "seconds": result.seconds,
        "info": result.info.to_dict(),
        "checks": _targets_data(results),
        "verify": None if result.report is None else result.report.to_dict(),
    })
