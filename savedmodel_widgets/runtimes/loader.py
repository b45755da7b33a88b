"""Load a SavedModel in the real TensorFlow of a runtime, and run its signatures there.

The runtime's C API is fetched once into the cache (:func:`~.fetch.fetch_runtime`) and
loaded in a new process (:mod:`._runtime_worker`), never beside the installed
TensorFlow. A load refusal is TensorFlow's own message, the one EAS or TF Serving
would log.

Examples
--------
>>> outcome = load_in_runtime("export/1", "eas:tensorflow_cpu_1.15")   # doctest: +SKIP
>>> outcome.loaded, outcome.error                                      # doctest: +SKIP
(False, "NodeDef mentions attr 'debug_name' not in Op<name=VarHandleOp; ...")
>>> run_in_runtime("export/1", "tf:2.7", {"serving_default": {"x": x}})  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._worker_process import WorkerCall, run_worker
from ..savedmodel.info import SERVE_TAG
from ..savedmodel.reader import read_saved_model
from .catalogue import Runtime, get_runtime
from .fetch import Progress, RuntimeFetchError, fetch_runtime

if TYPE_CHECKING:
    import numpy

__all__ = [
    "RuntimeOutcome",
    "describe_runtime",
    "load_in_runtime",
    "run_in_runtime",
    "run_worker_in_runtime",
]

WORKER_MODULE = "savedmodel_widgets.runtimes._runtime_worker"
DEFAULT_TIMEOUT = 300.0


def describe_runtime(runtime: Runtime, version: str) -> str:
    """``"TensorFlow 1.15.0, the runtime of EAS tensorflow_cpu_1.15"``.

    Parameters
    ----------
    runtime : Runtime
        The runtime chosen.
    version : str
        The version the loaded library reported (``TF_Version``); the release when empty.
    """
    tensorflow = f"TensorFlow {version or runtime.release}"
    if runtime.server == "eas":
        return f"{tensorflow}, the runtime of EAS {runtime.name.split(':', 1)[1]}"
    if runtime.server == "tfserving":
        return f"{tensorflow}, the runtime of TF Serving {runtime.release}"
    if runtime.is_installed:
        return f"{tensorflow}, the installed one"
    return tensorflow


@dataclass(frozen=True)
class RuntimeOutcome:
    """What a runtime made of a SavedModel.

    Attributes
    ----------
    path : str
        The SavedModel directory loaded.
    runtime : Runtime
        The runtime it was loaded in.
    tensorflow_version : str
        What the runtime's library reported (``"1.15.0"``); empty when it never loaded.
    error : str
        TensorFlow's load error, or why the runtime could not be fetched or its process
        failed; empty when the SavedModel loaded.
    signature_names : tuple of str
        The signatures of the loaded meta graph.
    outputs : dict
        ``{signature: {alias: array}}`` for each signature that ran.
    signature_errors : dict
        ``{signature: TensorFlow's error}`` for each signature that failed.
    seconds : dict
        ``{signature: seconds of its TF_SessionRun}``.
    load_seconds : float
        Time of ``TF_LoadSessionFromSavedModel``.
    peak_rss_mb : float
        The worker process's peak resident memory, in MB; 0 when it did not report.
    """

    path: str
    runtime: Runtime
    tensorflow_version: str
    error: str
    signature_names: tuple[str, ...] = ()
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature_errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    load_seconds: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def loaded(self) -> bool:
        """True when the runtime loaded the SavedModel."""
        return not self.error

    @property
    def ok(self) -> bool:
        """True when it loaded and no signature failed."""
        return self.loaded and not self.signature_errors

    @property
    def runtime_text(self) -> str:
        """``"TensorFlow 1.15.0, the runtime of EAS tensorflow_cpu_1.15"``."""
        return describe_runtime(self.runtime, self.tensorflow_version)

    def summary(self) -> str:
        """One line: loaded and ran in which TensorFlow, or its error."""
        if not self.loaded:
            return f"{self.path} was refused by {self.runtime_text}: {self.error}"
        ran = ", ".join(repr(name) for name in self.outputs) or "no signature"
        failed = "".join(f"; {name!r} failed: {error}"
                         for name, error in self.signature_errors.items())
        return f"{self.path} loaded in {self.runtime_text}; ran {ran}{failed}"


def run_worker_in_runtime(
    runtime: Runtime,
    path: str,
    tags: tuple[str, ...],
    calls: list[WorkerCall],
    timeout: float,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], str]:
    """Fetch ``runtime`` if needed, then load and run in its worker process.

    Returns what :func:`savedmodel_widgets._worker_process.run_worker` returns; a runtime
    that cannot be fetched gives ``({}, the fetch error)``.
    """
    try:
        fetched = fetch_runtime(runtime, progress=progress)
    except RuntimeFetchError as error:
        return {}, str(error)
    if progress is not None:
        progress(f"Loading {path} in TensorFlow {fetched.version} ...")
    extra = {"runtime": {"framework": str(fetched.framework), "library": str(fetched.library)}}
    return run_worker(WORKER_MODULE, path, tags, calls, timeout, extra)


def load_in_runtime(
    path: str | os.PathLike[str],
    runtime: str | Runtime,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RuntimeOutcome:
    """Load the SavedModel at ``path`` in ``runtime``'s TensorFlow, as its server would.

    Parameters
    ----------
    path : str or os.PathLike
        A SavedModel directory (or a parent of version directories).
    runtime : str or Runtime
        A runtime name (``"eas:tensorflow_cpu_1.15"``, ``"tfserving:2.7"``, ``"tf:1.14"``).
    progress : callable, optional
        Called with a message before each slow step (the first fetch, the load).
    timeout : float
        Seconds the worker process may take.

    Returns
    -------
    RuntimeOutcome
        :attr:`RuntimeOutcome.loaded`, or TensorFlow's load error in
        :attr:`RuntimeOutcome.error`.

    Raises
    ------
    ValueError
        For an unknown runtime name or ``"installed"``.
    SavedModelError
        When ``path`` holds no readable SavedModel.
    """
    return run_in_runtime(path, runtime, {}, progress=progress, timeout=timeout)


def run_in_runtime(
    path: str | os.PathLike[str],
    runtime: str | Runtime,
    inputs: Mapping[str, Mapping[str, numpy.ndarray | Any]],
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RuntimeOutcome:
    """Load the SavedModel in ``runtime``'s TensorFlow and run signatures on ``inputs``.

    Parameters
    ----------
    path : str or os.PathLike
        A SavedModel directory (or a parent of version directories).
    runtime : str or Runtime
        A runtime name or :class:`Runtime` other than ``"installed"``.
    inputs : dict
        ``{signature name: {input alias: array}}``; each signature named is run, fed
        with its arrays (``str`` and ``bytes`` arrays become string tensors).
    progress : callable, optional
        Called with a message before each slow step.
    timeout : float
        Seconds the worker process may take.

    Returns
    -------
    RuntimeOutcome
        The outputs per signature, or the errors.

    Raises
    ------
    ValueError
        For an unknown runtime name or ``"installed"``.
    SavedModelError
        When ``path`` holds no readable SavedModel.
    """
    import numpy as np

    chosen = get_runtime(runtime)
    if chosen.is_installed:
        raise ValueError("run_in_runtime loads an old TensorFlow's own library; for the "
                         "installed TensorFlow use savedmodel_widgets.verify(path).")
    info = read_saved_model(path)
    meta_graph = info.main_meta_graph
    tags = meta_graph.tags if meta_graph is not None and SERVE_TAG not in meta_graph.tags \
        else (SERVE_TAG,)
    calls = [(name, {alias: np.asarray(array) for alias, array in arrays.items()})
             for name, arrays in inputs.items()]
    result, error = run_worker_in_runtime(chosen, info.path, tags, calls, timeout, progress)
    outcomes = result.get("signatures", [])
    return RuntimeOutcome(
        path=info.path,
        runtime=chosen,
        tensorflow_version=result.get("tensorflow_version", ""),
        error=error or result.get("load_error", ""),
        signature_names=tuple(result.get("signature_names", ())),
        outputs={o["name"]: o["arrays"] for o in outcomes if not o["error"]},
        signature_errors={o["name"]: o["error"] for o in outcomes if o["error"]},
        seconds={o["name"]: float(o["seconds"]) for o in outcomes if not o["error"]},
        load_seconds=float(result.get("load_seconds", 0.0)),
        peak_rss_mb=float(result.get("peak_rss_mb", 0.0)),
    )
