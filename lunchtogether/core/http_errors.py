"""The answer to a request the server refuses, wherever it is refused.

The header-size middleware and the GraphQL endpoint refuse requests at different places,
yet a client reads every refusal the same way: as a GraphQL error with a code.
"""

import json
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

BAD_REQUEST = "BAD_REQUEST"
JSON_MEDIA_TYPE = "application/json"


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def refused_request(status_code: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    body = encode_json(error_body(message, BAD_REQUEST))
    return Response(body, status_code, headers, media_type=JSON_MEDIA_TYPE)


def encode_json(body: object) -> bytes:
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        # A message can quote a client's lone surrogate, which only `json` can escape.
        return json.dumps(body, separators=(",", ":")).encode()
