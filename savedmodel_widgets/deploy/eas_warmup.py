"""PAI-EAS's warm-up request file for a TensorFlow service: one serialized ``TFRequest``.

EAS's page "Warm up model services"
(https://www.alibabacloud.com/help/en/pai/user-guide/warm-up-model-services; zh:
https://help.aliyun.com/document_detail/264606.htm) makes the file with the Python SDK::

    req = TFRequest('serving_default')
    req.add_feed(...)
    req.add_fetch(...)
    open('warm_up.bin', 'wb').write(req.to_string())

so the binary ``.bin`` file holds one serialized request, the body the SDK would send
(:func:`sdk_request_bytes` writes those bytes with
:func:`savedmodel_widgets.serving.eas_messages.encode_request`, in the SDK's field order;
the tests compare them byte for byte with the real SDK's). The page also says that the
warm-up request's inputs and outputs must exactly match those used in production, so the
fetches the production client sends belong in the file; EAS sends it five times in a row
before the service takes traffic, and the service JSON names it in ``warm_up_data_path``.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DeployError
from ..savedmodel.finding import Finding
from ..savedmodel.info import DEFAULT_SIGNATURE, SavedModelInfo
from ..serving.eas_messages import decode_request, encode_request
from ._files import refuse_existing, write_bytes_atomically
from .requests import WarmupRequest, check_request

__all__ = [
    "check_eas_warmup",
    "read_eas_warmup",
    "sdk_request_bytes",
    "write_eas_warmup",
]


def write_eas_warmup(path: str | os.PathLike[str], request: WarmupRequest, *,
                     overwrite: bool = False) -> Path:
    """Write ``request`` as the SDK's ``TFRequest(...).to_string()`` bytes to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file (``warm_up.bin``).
    request : WarmupRequest
        One request (:func:`~savedmodel_widgets.deploy.warmup_requests` makes them,
        checked against the signatures); its ``output_filter`` becomes the fetches.
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    DeployError
        For an input whose dtype the EAS format does not carry.
    DeployTargetExistsError
        When ``path`` exists and ``overwrite`` is False; nothing is written.
    """
    refuse_existing([path], overwrite)
    return write_bytes_atomically(path, sdk_request_bytes(request))


def sdk_request_bytes(request: WarmupRequest) -> bytes:
    """The bytes of ``TFRequest(signature_name)``, one ``add_feed`` per input in the
    order of ``request.inputs`` and one ``add_fetch`` per output of its filter, then
    ``to_string()``.

    The SDK's protobuf (pure Python, ``protobuf<=3.20.3``) writes the ``inputs`` map's
    entries in the order they were added, while the protobuf beside TensorFlow writes a
    map in an order of its own; both parse to the same request. So the message is
    written here field by field with :func:`~savedmodel_widgets.serving.eas_messages.
    encode_request`, one map entry at a time, in the SDK's order: the signature name
    (field 1), the inputs (field 2), the fetches (field 3). A protobuf parser merges
    the parts into one message.

    Raises
    ------
    DeployError
        For an input whose dtype the EAS format does not carry.
    """
    try:
        parts = [encode_request({}, request.signature_name)]
        parts += [encode_request({alias: value}) for alias, value in request.inputs.items()]
        parts.append(encode_request({}, "", request.output_filter))
    except ValueError as error:
        raise DeployError(f"The warm-up request cannot be written for EAS: {error}") from None
    return b"".join(parts)


def read_eas_warmup(path: str | os.PathLike[str]) -> WarmupRequest:
    """The request in the warm-up file at ``path``; string inputs come as object arrays
    of bytes.

    Raises
    ------
    DeployError
        When the file is missing or holds no ``TFRequest``.
    """
    try:
        body = Path(path).read_bytes()
    except OSError as error:
        raise DeployError(f"Cannot read the warm-up file {path}: {error.strerror}.") from None
    try:
        decoded = decode_request(body)
    except ValueError as error:
        raise DeployError(f"{path} is not an EAS warm-up file: {error}") from None
    return WarmupRequest(decoded.signature_name, decoded.inputs, decoded.output_filter)


def check_eas_warmup(path: str | os.PathLike[str], info: SavedModelInfo) -> list[Finding]:
    """Whether the service serving ``info`` takes the warm-up file at ``path``.

    Returns
    -------
    list of Finding
        Errors: ``warmup-missing``, ``warmup-unreadable``, ``warmup-request-refused``
        (an unknown signature, a missing or unknown input, a wrong shape, an unknown
        fetch). Note: ``warmup-fetches-all`` when the request names no fetch (EAS's
        page asks for the production request's outputs). Empty otherwise.
    """
    if not Path(path).is_file():
        return [Finding("error", "warmup-missing", f"The warm-up file {path} does not exist.",
                        "Write it with write_eas_warmup.")]
    try:
        request = read_eas_warmup(path)
    except DeployError as error:
        return [Finding("error", "warmup-unreadable", str(error),
                        "Write it again with write_eas_warmup.")]
    name = request.signature_name or DEFAULT_SIGNATURE
    by_name = {signature.name: signature for signature in info.signatures}
    signature = by_name.get(name)
    problem = (check_request(signature, request) if signature is not None else
               f"it names the signature {name!r}, which {info.path} lacks (it has "
               f"{', '.join(map(repr, by_name)) or 'none'})")
    if problem:
        return [Finding("error", "warmup-request-refused",
                        f"The warm-up request in {path} would be refused: {problem}.",
                        "Build it again with warmup_requests for this export.", name)]
    if not request.output_filter:
        return [Finding("info", "warmup-fetches-all",
                        f"The warm-up request in {path} fetches every output; EAS's page "
                        "'Warm up model services' asks for the inputs and outputs that "
                        "production requests use.",
                        "If production clients call add_fetch, build the warm-up request "
                        "with the same outputs.", name)]
    return []
