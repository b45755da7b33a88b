"""One request with the real eas-prediction SDK; runs in the SDK's own virtual environment.

Reads a JSON job on stdin:

- ``endpoint``, ``service``, ``token`` (may be empty: no token sent);
- either ``signature``, ``feeds`` (``[{"name", "shape", "dtype": "DT_FLOAT", "values"}]``,
  strings as text) and ``fetches`` (output aliases for ``add_fetch``),
- or ``raw_body`` (base64): bytes the client sends instead of a TFRequest's.

Writes ``{"outputs": {alias: {"shape", "values"}}}`` (strings as text) or, when the
client raises ``PredictException``, ``{"status", "message"}``. Imported, it runs nothing:
``build_request(job)`` makes the job's ``TFRequest``.
"""

import base64
import json
import sys

from eas_prediction import PredictClient, TFRequest
from eas_prediction.exception import PredictException


class RawRequest(TFRequest):
    """A TFRequest whose body is given bytes (to send a malformed one through the client)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def to_string(self):
        return self.body


def build_request(job):
    if "raw_body" in job:
        return RawRequest(base64.b64decode(job["raw_body"]))
    request = TFRequest(job["signature"])
    for feed in job["feeds"]:
        values = feed["values"]
        if feed["dtype"] == "DT_STRING":
            values = [value.encode("utf-8") for value in values]
        request.add_feed(feed["name"], feed["shape"], getattr(TFRequest, feed["dtype"]), values)
    for name in job.get("fetches", ()):
        request.add_fetch(name)
    return request


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def main():
    job = json.load(sys.stdin)
    client = PredictClient(job["endpoint"], job["service"])
    if job.get("token"):
        client.set_token(job["token"])
    client.init()
    try:
        response = client.predict(build_request(job))
    except PredictException as error:
        answer = {"status": error.code, "message": text(error.message)}
    else:
        answer = {"outputs": {
            name: {"shape": response.get_tensor_shape(name),
                   "values": [text(value) for value in response.get_values(name)]}
            for name in response.response.outputs
        }}
    client.destroy()
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
