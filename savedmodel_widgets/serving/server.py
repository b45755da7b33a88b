"""Start the preview server in a background process and hold on to it.

The server has TensorFlow and the loaded models in it; running it in its own
process keeps the notebook kernel free (a request in flight never blocks a
cell) and lets :meth:`ServerHandle.stop` give all of its memory back.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import weakref
from types import TracebackType
from typing import Any

from .worker import HOST

__all__ = ["ServerError", "ServerHandle", "serve"]

READY_TIMEOUT_SECONDS = 300.0
"""How long :func:`serve` waits for the worker to load the models and listen."""

_STOP_TIMEOUT_SECONDS = 10.0


class ServerError(RuntimeError):
    """The preview server could not start: the message says why (the worker's own error)."""


class ServerHandle:
    """A running preview server: its URLs, and :meth:`stop`.

    Use it as a context manager to stop the server at the end of a ``with`` block;
    it is stopped when the interpreter exits, or when the handle is garbage
    collected, too; the server also ends by itself when its parent process does.

    Attributes
    ----------
    model_name : str
        The name clients send.
    versions : tuple
        The versions served (``(None,)`` for an unversioned directory).
    rest_url : str
        ``http://127.0.0.1:PORT``: TF Serving's REST API is under ``/v1/models/NAME``.
    grpc_target : str or None
        ``127.0.0.1:PORT`` of TF Serving's gRPC API, when it was asked for.
    eas_url : str
        ``http://127.0.0.1:PORT/api/predict/NAME``: where EAS requests go.
    pid : int
        The server process's id.
    """

    def __init__(self, process: subprocess.Popen[bytes], info: dict[str, Any],
                 log_path: str) -> None:
        self._process = process
        self._log_path = log_path
        self.model_name: str = info["model_name"]
        self.versions: tuple[int | None, ...] = tuple(info["versions"])
        self.pid: int = info["pid"]
        self.rest_url = f"http://{HOST}:{info['rest_port']}"
        grpc_port = info["grpc_port"]
        self.grpc_target = f"{HOST}:{grpc_port}" if grpc_port is not None else None
        self.eas_url = f"{self.rest_url}/api/predict/{self.model_name}"
        self._finalizer = weakref.finalize(self, _stop_process, process, log_path)

    @property
    def running(self) -> bool:
        """Whether the server process is still running."""
        return self._process.poll() is None

    def stop(self) -> None:
        """Stop the server process (at once if it does not end within 10 s)."""
        self._finalizer()

    def log(self) -> str:
        """What the server process wrote to stderr so far (TensorFlow's log)."""
        try:
            with open(self._log_path, encoding="utf-8", errors="replace") as file:
                return file.read()
        except OSError:
            return ""

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        grpc = f", grpc_target={self.grpc_target!r}" if self.grpc_target else ""
        state = "running" if self.running else "stopped"
        return (f"<ServerHandle {self.model_name!r} rest_url={self.rest_url!r}{grpc} "
                f"pid={self.pid} {state}>")


def _stop_process(process: subprocess.Popen[bytes], log_path: str) -> None:
    """Close the worker's stdin (it stops), wait, kill it if it lingers, drop its log."""
    if process.poll() is None:
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    with contextlib.suppress(OSError):
        os.remove(log_path)


def serve(path: str | os.PathLike[str], *, model_name: str | None = None, port: int = 0,
          grpc_port: int | None = None, eas_token: str | None = None) -> ServerHandle:
    """Serve a SavedModel on 127.0.0.1 as TF Serving (and EAS) would, in a background process.

    Each version is loaded the way TF Serving loads it (the ``serve`` meta graph
    in a graph session, variables restored, main op run) and answers TF
    Serving's REST API, its gRPC API when ``grpc_port`` is given, and EAS requests.

    Parameters
    ----------
    path : str or os.PathLike
        A SavedModel directory, or a parent of numeric version directories
        (all are served; the highest answers a request that names no version).
    model_name : str, optional
        The name clients send (default: the versioned parent's directory name).
    port : int
        The REST (and EAS) port; 0 picks a free one.
    grpc_port : int, optional
        The gRPC port (0 picks a free one); no gRPC server when None. Needs the
        ``tensorflow-serving-api`` package (``pip install --no-deps
        tensorflow-serving-api``).
    eas_token : str, optional
        The token EAS requests must be signed with.

    Returns
    -------
    ServerHandle
        The URLs, and ``stop()``.

    Raises
    ------
    ServerError
        When the models cannot be loaded or a port cannot be bound; the message
        is the server's own error.

    Examples
    --------
    >>> with serve("export/digits") as server:                          # doctest: +SKIP
    ...     requests.post(f"{server.rest_url}/v1/models/digits:predict",
    ...                   json={"instances": images.tolist()}).json()
    """
    options = {"path": os.fspath(path), "model_name": model_name, "port": port,
               "grpc_port": grpc_port, "eas_token": eas_token}
    with tempfile.NamedTemporaryFile(prefix="savedmodel-widgets-serve-", suffix=".log",
                                     delete=False) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "savedmodel_widgets.serving.worker", json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL",
                                                                       "2")},
        )
    report = _first_line(process, READY_TIMEOUT_SECONDS)
    if report is None or "ready" not in report:
        _stop_process_keep_log(process)
        raise ServerError(_failure(report, log.name, process))
    return ServerHandle(process, report["ready"], log.name)


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any] | None:
    """The worker's first stdout line as JSON; None if it ends or times out first."""
    found: list[bytes] = []
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: found.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not found or not found[0].strip():
        return None
    try:
        report: dict[str, Any] = json.loads(found[0])
    except json.JSONDecodeError:
        return None
    return report


def _stop_process_keep_log(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


def _failure(report: dict[str, Any] | None, log_path: str,
             process: subprocess.Popen[bytes]) -> str:
    """Why the worker did not start: its error, else the end of its log."""
    try:
        if report is not None and "error" in report:
            return f"The preview server could not start: {report['error']}"
        with open(log_path, encoding="utf-8", errors="replace") as file:
            tail = file.read()[-2000:]
        return (f"The preview server did not start (exit code {process.returncode}); "
                f"the end of its log:\n{tail}")
    finally:
        with contextlib.suppress(OSError):
            os.remove(log_path)
