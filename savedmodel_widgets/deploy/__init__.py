"""The files a serving team needs, made from a verified export.

For PAI-EAS: the service description JSON (:mod:`.eas_service`), the model archive
(:mod:`.archive`) and the warm-up request file (:mod:`.eas_warmup`). For TensorFlow
Serving: the warm-up records inside the export (:mod:`.tfserving_warmup`, written with
:mod:`.tfrecord` and :mod:`.serving_messages`), ``models.config`` and the ``docker run``
line (:mod:`.tfserving_config`). :func:`~.kit.deployment_kit` makes and checks them all
for one target; :func:`~.replay.replay_warmup` sends the warm-up requests to the preview
server. Every file is written whole or not at all, and none is replaced without
``overwrite=True``.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

from .kit import DeploymentKit, deployment_files, deployment_kit, deployment_targets
from .requests import MAX_WARMUP_REQUESTS, WarmupRequest, warmup_requests

__all__ = [
    "MAX_WARMUP_REQUESTS",
    "DeploymentKit",
    "WarmupRequest",
    "deployment_files",
    "deployment_kit",
    "deployment_targets",
    "warmup_requests",
]
