"""Send a warm-up file's requests to the preview server, as the real server does at load time.

TF Serving replays ``assets.extra/tf_serving_warmup_requests`` and EAS the file its
service description names before either takes traffic; a request the model refuses
stops the load. :func:`replay_warmup` sends the same requests to
:func:`~savedmodel_widgets.serve`'s server, so a refusal shows here first.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import DeployError
from ..savedmodel.info import SavedModelInfo
from ..serving.client_code import Protocol as ClientProtocol
from ..serving.try_request import ServerEndpoints, TryResult, try_request
from .requests import WarmupRequest

__all__ = [
    "replay_warmup",
]


def replay_warmup(
    info: SavedModelInfo,
    requests: Sequence[WarmupRequest],
    server: ServerEndpoints,
    *,
    protocol: ClientProtocol = "rest",
    token: str | None = None,
) -> list[TryResult]:
    """Send each warm-up request to ``server`` and return the answers, in order.

    Parameters
    ----------
    info : SavedModelInfo
        The served SavedModel (for its signatures).
    requests : sequence of WarmupRequest
        What a warm-up file holds (``read_tfserving_warmup``, ``read_eas_warmup``).
    server : ServerEndpoints
        A running preview server (:func:`~savedmodel_widgets.serve`).
    protocol : {"rest", "grpc", "eas"}
        How to send: TF Serving's REST or gRPC API, or the EAS processor's protocol.
    token : str, optional
        The EAS token the server was started with.

    Returns
    -------
    list of TryResult
        One per request; ``ok`` is False where the server answered with an error.

    Raises
    ------
    DeployError
        When a request names a signature the SavedModel lacks.
    """
    by_name = {signature.name: signature for signature in info.signatures}
    answers = []
    for number, request in enumerate(requests, start=1):
        signature = by_name.get(request.signature_name)
        if signature is None:
            raise DeployError(
                f"Warm-up request {number} names the signature {request.signature_name!r}, "
                f"which {info.path} lacks; its signatures are "
                f"{', '.join(map(repr, by_name)) or 'none'}.")
        answers.append(try_request(server, signature, protocol, request.inputs,
                                   output_filter=request.output_filter, token=token))
    return answers
