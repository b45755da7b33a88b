"""The preview server's Tornado application: TF Serving's REST API, and room for more.

:func:`make_app` routes ``/v1/...`` to TF Serving's REST API
(:class:`.rest.TFServingRestHandler`) and ``/api/predict/NAME`` to the EAS
TensorFlow processor's protocol (:class:`.eas.EasPredictHandler`); more protocols come
in as ``extra_handlers``, which are matched first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tornado.web

from .eas import eas_handlers
from .model import ModelRepository
from .rest import TFServingRestHandler

__all__ = ["make_app"]


def make_app(repository: ModelRepository, *, eas_token: str | None = None,
             extra_handlers: Sequence[Any] = ()) -> tornado.web.Application:
    """The Tornado application that answers for ``repository``.

    Parameters
    ----------
    repository : ModelRepository
        The models to serve.
    eas_token : str, optional
        The token EAS requests must be signed with; kept in the application's
        settings (``settings["eas_token"]``) for the EAS handlers.
    extra_handlers : sequence
        More Tornado rules (``(pattern, handler class, kwargs)``), matched
        before TF Serving's ``/v1/...`` routes.

    Returns
    -------
    tornado.web.Application
        Listen with ``app.listen(port, address="127.0.0.1",
        max_body_size=...)``, as :func:`~.server.serve` does.
    """
    rules: list[Any] = [*extra_handlers, *eas_handlers(repository, eas_token),
                        (r"(?i)/v1/.*", TFServingRestHandler, {"repository": repository})]
    return tornado.web.Application(rules, eas_token=eas_token, repository=repository)
