"""The one ASGI middleware of the app's own, which every HTTP request passes on its way in and out.

It gives the request an id, refuses headers over the size limit, adds the security headers and the
request id to the response, and writes the access line. One layer rather than one per concern:
each layer costs every request another call and another `send` wrapper (docs/performance.md).
"""

import re
import time
import uuid
from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lunchtogether.core.http_errors import refused_request
from lunchtogether.core.observability import log_access, request_context

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")
# A client's id is kept only if it is short and plain, so it cannot forge log lines.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Headers every response carries, unless it sets its own: the explorer sets its own CSP.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
)
# As ASGI carries them, encoded once rather than on every response.
_RAW_SECURITY_HEADERS = tuple(
    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS
)


def request_id_of(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id") or "-"


class RequestFrameMiddleware:
    """A request's id, the header size limit, the response's security headers and the access line."""

    def __init__(self, app: ASGIApp, *, max_header_bytes: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status_code = 500

        async def send_framed(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = _response_headers(message["headers"], request_id)
            await send(message)

        # Everything logged or sent to Sentry while the request is served carries its id.
        with request_context(state):
            try:
                await self._app_for(scope)(scope, receive, send_framed)
            finally:
                log_access(scope, status_code, time.perf_counter() - started)

    def _app_for(self, scope: Scope) -> ASGIApp:
        """The app, or a refusal of headers over the limit before anything parses them.

        A megabyte of cookies would otherwise be split into pairs on every request.
        """
        if sum(len(name) + len(value) for name, value in scope["headers"]) <= self.max_header_bytes:
            return self.app
        return refused_request(431, f"The request headers are larger than {self.max_header_bytes} bytes.")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_KEY:
            candidate = value.decode("latin-1")
            if _ACCEPTABLE_REQUEST_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex


def _response_headers(headers: Iterable[tuple[bytes, bytes]], request_id: str) -> list[tuple[bytes, bytes]]:
    """The response's own headers, then the security headers it did not set, then the request id."""
    response_headers = [header for header in headers if header[0] != _REQUEST_ID_KEY]
    present = {name for name, _ in response_headers}
    response_headers.extend(header for header in _RAW_SECURITY_HEADERS if header[0] not in present)
    response_headers.append((_REQUEST_ID_KEY, request_id.encode("latin-1")))
    return response_headers
