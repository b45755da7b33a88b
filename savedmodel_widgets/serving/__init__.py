"""The local preview server: answer TF Serving REST and gRPC (and EAS) requests from an export.

:class:`ModelRepository` loads each version the way TF Serving does
(:class:`ServedModel`), refusing bad requests with :class:`ServingError`;
:func:`~.app.make_app` answers TF Serving's REST API for it; :func:`serve` runs
it all in a background process and returns a :class:`ServerHandle` with the URLs.

Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

from .model import ModelRepository, ServedModel, ServingError
from .server import ServerError, ServerHandle, serve

__all__ = [
    "ModelRepository",
    "ServedModel",
    "ServerError",
    "ServerHandle",
    "ServingError",
    "serve",
]
