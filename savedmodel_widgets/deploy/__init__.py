"""The files a serving team needs, made from a verified export.

For PAI-EAS: the service description JSON, the model archive and the warm-up request file.
For TensorFlow Serving: the warm-up records inside the export, ``models.config`` and the
``docker run`` line. :func:`~savedmodel_widgets.deploy.kit.deploy` makes them all for one
target; the modules here make each file on its own. Every file is written whole or not at
all, and none is replaced without ``overwrite=True``.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

from .requests import MAX_WARMUP_REQUESTS, WarmupRequest, warmup_requests

__all__ = [
    "MAX_WARMUP_REQUESTS",
    "WarmupRequest",
    "warmup_requests",
]
