"""Command line: ``python -m savedmodel_widgets show|check DIR``.

The commands import neither TensorFlow nor pandas, so they answer in a
fraction of a second.

Exit codes: 0 done, 1 an error-level serving check failed, 2 bad usage or a
directory that cannot be read as a SavedModel.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from .errors import SavedModelError
from .savedmodel import SavedModelInfo, check, read_saved_model
from .savedmodel.checks import TARGETS, CheckResult, is_ready, verdict
from .savedmodel.text import render_summary

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m savedmodel_widgets``."""
    parser = argparse.ArgumentParser(
        prog="python -m savedmodel_widgets",
        description="Inspect and check TensorFlow SavedModels without loading TensorFlow.",
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        info = read_saved_model(args.path, args.version)
    except SavedModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "show":
        print(json.dumps(info.to_dict(), indent=2) if args.json else render_summary(info))
        return EXIT_OK
    targets = list(TARGETS) if args.target == "all" else [args.target]
    results = {target: check(info, target) for target in targets}
    print(_checks_json(info, results) if args.json else _checks_text(results))
    ready = all(is_ready(found) for found in results.values())
    return EXIT_OK if ready else EXIT_CHECK_FAILED


def _checks_text(results: dict[str, list[CheckResult]]) -> str:
    lines = []
    for target, found in results.items():
        lines.append(f"{TARGETS[target]}: {verdict(found)}")
        for result in found:
            where = f" [{result.signature}]" if result.signature else ""
            lines.append(f"  {result.level} {result.code}{where}: {result.message}")
            lines.append(f"    fix: {result.fix}")
    return "\n".join(lines)


def _checks_json(info: SavedModelInfo, results: dict[str, list[CheckResult]]) -> str:
    return json.dumps(
        {
            "path": info.path,
            "targets": {
                target: {
                    "ready": is_ready(found),
                    "results": [dataclasses.asdict(r) for r in found],
                }
                for target, found in results.items()
            },
        },
        indent=2,
    )
