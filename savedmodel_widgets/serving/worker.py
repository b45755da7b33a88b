"""The preview server's process: load the models, answer REST (and gRPC) until stopped.

:func:`run_server` is what both :func:`~.server.serve` (in a background process,
``python -m savedmodel_widgets.serving.worker``) and the command line's ``serve``
(in the foreground) run. It binds 127.0.0.1 only, reports the ports it got
through ``on_ready`` and serves until the process is interrupted or, when run
as a background worker, until its parent closes the worker's stdin (the parent
stopped or died).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import SavedModelError
from .model import ServingError

__all__ = ["ServerInfo", "main", "run_server"]

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerInfo:
    """Where a running preview server answers."""

    model_name: str
    versions: tuple[int | None, ...]
    rest_port: int
    grpc_port: int | None
    pid: int


def run_server(path: str, *, model_name: str | None = None, port: int = 0,
               grpc_port: int | None = None, eas_token: str | None = None,
               on_ready: Callable[[ServerInfo], None] = lambda info: None,
               stop_when: Callable[[Callable[[], None]], None] | None = None) -> None:
    """Load ``path`` and serve it on 127.0.0.1 until the event loop is stopped.

    Parameters
    ----------
    path : str
        The SavedModel directory or versioned parent.
    model_name, port, grpc_port, eas_token
        As :func:`~.server.serve` takes them; ``port=0`` (and ``grpc_port=0``)
        picks a free port.
    on_ready : callable
        Called with the :class:`ServerInfo` once both servers listen.
    stop_when : callable, optional
        Called with a function that stops the server, from any thread.

    Raises
    ------
    SavedModelError, ServingError
        When the models cannot be loaded.
    OSError
        When a port cannot be bound.
    """
    import tornado.httpserver
    import tornado.netutil

    from .app import make_app
    from .model import ModelRepository
    from .rest import MAX_STREAM_BYTES

    asyncio.set_event_loop(asyncio.new_event_loop())
    repository = ModelRepository(path, model_name)
    grpc_server = None
    try:
        if grpc_port is not None:
            from .grpc_service import start_grpc_server

            grpc_server, grpc_port = start_grpc_server(repository, HOST, grpc_port)
        sockets = tornado.netutil.bind_sockets(port, address=HOST)
        http = tornado.httpserver.HTTPServer(make_app(repository, eas_token=eas_token),
                                             max_body_size=MAX_STREAM_BYTES)
        http.add_sockets(sockets)
        loop = asyncio.get_event_loop()
        if stop_when is not None:
            def stop() -> None:
                loop.call_soon_threadsafe(loop.stop)

            stop_when(stop)
        on_ready(ServerInfo(repository.model_name, repository.versions,
                            sockets[0].getsockname()[1], grpc_port, os.getpid()))
        loop.run_forever()
        http.stop()
    finally:
        if grpc_server is not None:
            grpc_server.stop(grace=None)
        repository.close()


def _stop_at_stdin_end(stop: Callable[[], None]) -> None:
    """Stop when stdin ends: the parent closed it, or the parent is gone."""
    def wait() -> None:
        sys.stdin.buffer.read()
        stop()

    threading.Thread(target=wait, name="wait-for-parent", daemon=True).start()


def _report(data: dict[str, Any]) -> None:
    """One JSON line on stdout: how the parent learns the worker is ready (or failed)."""
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the background worker: ``python -m savedmodel_widgets.serving.worker JSON``.

    The one argument is a JSON object of :func:`run_server`'s keyword arguments
    (with ``path``). Prints ``{"ready": ServerInfo}`` or ``{"error": message}``.
    """
    options = json.loads((argv if argv is not None else sys.argv[1:])[0])
    try:
        run_server(**options, on_ready=lambda info: _report({"ready": asdict(info)}),
                   stop_when=_stop_at_stdin_end)
    except (SavedModelError, ServingError, OSError, ImportError) as error:
        _report({"error": str(error)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
