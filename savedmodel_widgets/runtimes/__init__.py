"""The TensorFlow runtimes that serve exports: which release each EAS processor and TF
Serving release runs, the ops and attributes each release knows, and loading an old
release's own library to prove an export loads there.

The catalogue is imported with the package; fetching and loading (:mod:`.fetch`,
:mod:`.loader`) on first use. Nothing here imports TensorFlow: an old release's library
is loaded only in a worker process of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import load_lazily
from .catalogue import (
    INSTALLED,
    RELEASES,
    Runtime,
    get_runtime,
    installed_release,
    release_key,
    runtimes,
)

if TYPE_CHECKING:
    from .fetch import FetchedRuntime, RuntimeFetchError, fetch_runtime
    from .loader import RuntimeOutcome, load_in_runtime, run_in_runtime

__all__ = [
    "INSTALLED",
    "RELEASES",
    "FetchedRuntime",
    "Runtime",
    "RuntimeFetchError",
    "RuntimeOutcome",
    "fetch_runtime",
    "get_runtime",
    "installed_release",
    "load_in_runtime",
    "release_key",
    "run_in_runtime",
    "runtimes",
]

_LAZY = {
    "FetchedRuntime": "fetch",
    "RuntimeFetchError": "fetch",
    "fetch_runtime": "fetch",
    "RuntimeOutcome": "loader",
    "load_in_runtime": "loader",
    "run_in_runtime": "loader",
}
"""``{public name: the module that defines it}``, imported on first use."""


def __getattr__(name: str) -> object:
    """Import :mod:`.fetch` or :mod:`.loader` on first use of one of their names."""
    return load_lazily(__name__, _LAZY, name, globals())
