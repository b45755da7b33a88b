"""The command line of a benchmark file made of sections: ``--section NAME`` (repeatable)
and ``--repeat N``; each section is a function of the repeat count."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping


def run_sections(description: str, sections: Mapping[str, Callable[[int], None]],
                 repeat: int) -> None:
    """Parse the command line and run the chosen sections (all by default), in order."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--section", choices=sorted(sections), action="append",
                        help="run only this section (repeatable); all by default")
    args = parser.parse_args()
    for name in args.section or list(sections):
        sections[name](args.repeat)
