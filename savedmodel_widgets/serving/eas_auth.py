"""How the ``eas-prediction`` SDK signs a request with the service token, and checking it.

From the SDK 0.36 (``predict_client.py``, ``PredictClient.generate_singaure``): with a token,
it sends ``Authorization: EAS <signature>``, the base64 HMAC-SHA1, keyed with the token, of
``"POST\\n<Content-MD5>\\n<Content-Type>\\n<Date>\\n/api/predict/<service>"`` (stripped),
beside those headers. ``curl`` users of EAS send the token itself as ``Authorization``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
from typing import Any

__all__ = [
    "eas_signature",
    "is_authorized",
    "signed_headers",
]


def eas_signature(token: str, content_md5: str, content_type: str, date: str,
                  service: str) -> str:
    """The ``Authorization`` value the EAS SDK sends: ``EAS`` and the base64 HMAC-SHA1,
    keyed with the token, of the verb, the body's MD5, its type, the date and the path."""
    signed = "\n".join(("POST", content_md5, content_type, date, f"/api/predict/{service}"))
    digest = hmac.new(token.encode(), signed.strip().encode(), hashlib.sha1).digest()
    return f"EAS {base64.b64encode(digest).decode()}"


def signed_headers(body: bytes, token: str, service: str, content_type: str) -> dict[str, str]:
    """The headers the EAS SDK's ``PredictClient`` adds to a request when it has a token."""
    content_md5 = hashlib.md5(body).hexdigest()
    date = email.utils.formatdate(usegmt=True)
    return {"Content-MD5": content_md5, "Date": date, "Content-Type": content_type,
            "Authorization": eas_signature(token, content_md5, content_type, date, service)}


def is_authorized(headers: Any, body: bytes, service: str, token: str | None) -> bool:
    """Whether a request carries ``token`` the way the EAS SDK or ``curl`` sends it.

    Parameters
    ----------
    headers : mapping of str to str
        The request's headers (case-insensitive, as Tornado's ``HTTPHeaders``).
    body : bytes
        The request body (its MD5 must be the ``Content-MD5`` that was signed).
    service : str
        The service name of the URL, which the SDK signs as ``/api/predict/NAME``.
    token : str or None
        The service's token; ``None`` or empty lets every request through.
    """
    if not token:
        return True
    authorization = headers.get("Authorization", "")
    if hmac.compare_digest(authorization.encode(), token.encode()):
        return True
    content_md5 = headers.get("Content-MD5", "")
    if content_md5 != hashlib.md5(body).hexdigest():
        return False
    expected = eas_signature(token, content_md5, headers.get("Content-Type", ""),
                             headers.get("Date", ""), service)
    return hmac.compare_digest(authorization.encode(), expected.encode())
