"""The local preview server: answer TF Serving REST and gRPC (and EAS) requests from an export.

:class:`~.model.ModelRepository` loads each version the way TF Serving does;
:func:`~.app.make_app` answers its REST API; :func:`~.server.serve` runs it all
in a background process and returns a handle with the URLs.
"""

from __future__ import annotations

__all__ = ()
