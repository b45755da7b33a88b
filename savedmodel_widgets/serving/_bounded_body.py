"""A Tornado handler that reads a request body of any size but keeps it only up to a limit."""

from __future__ import annotations

import tornado.web


@tornado.web.stream_request_body
class BoundedBodyHandler(tornado.web.RequestHandler):
    """Streams the body in; past :attr:`max_body_bytes` it drops what it read, so a huge
    request costs no memory and is answered (see :attr:`too_large`) instead of cut off."""

    max_body_bytes = 0
    """The largest body kept; subclasses set it."""

    def initialize(self) -> None:
        self._chunks: list[bytes] = []
        self.body_size = 0

    def data_received(self, chunk: bytes) -> None:
        self.body_size += len(chunk)
        if self.body_size <= self.max_body_bytes:
            self._chunks.append(chunk)
        else:
            self._chunks.clear()

    @property
    def too_large(self) -> bool:
        """Whether the body was larger than the limit (and so not kept)."""
        return self.body_size > self.max_body_bytes

    @property
    def body(self) -> bytes:
        """The whole body, when it was within the limit."""
        return b"".join(self._chunks)
