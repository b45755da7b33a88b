"""What one serving-readiness check found, before the target is attached."""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["LEVELS", "Finding", "Level"]

Level = Literal["error", "warning", "info"]

LEVELS: tuple[Level, ...] = ("error", "warning", "info")


class Finding(NamedTuple):
    """A check's finding before the target is attached."""

    level: Level
    code: str
    message: str
    fix: str
    signature: str = ""
