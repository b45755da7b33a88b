"""The TensorFlow runtimes that serve exports: which release each EAS processor and TF
Serving release runs, the ops and attributes each release knows, and loading an old
release's own library to prove an export loads there.

Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

from .catalogue import (
    INSTALLED,
    RELEASES,
    Runtime,
    get_runtime,
    installed_release,
    release_key,
    runtimes,
)

__all__ = [
    "INSTALLED",
    "RELEASES",
    "Runtime",
    "get_runtime",
    "installed_release",
    "release_key",
    "runtimes",
]
