"""Reading GraphQL operations off HTTP: GET parameters, JSON bodies and multipart uploads.

Everything a request can be refused for before any GraphQL runs lives here: Apollo's
CSRF rule, content types, body and query sizes, batching, and the multipart map.
"""

import json
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from strawberry.file_uploads.utils import replace_placeholders_with_files

from lunchtogether.config import Settings
from lunchtogether.core.http_errors import JSON_MEDIA_TYPE
from lunchtogether.core.network import Network, parse_networks

MULTIPART = "multipart/form-data"
# Content types a cross-site form can send without a CORS preflight (Apollo Server's CSRF rule).
SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")


class RefusedRequestError(Exception):
    """The HTTP request itself is refused, before any GraphQL runs."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers


NO_DOCUMENT = "The request must carry a GraphQL query as the string 'query'."


@dataclass(frozen=True, slots=True)
class Operation:
    # The document itself, or what names a persisted one (`persisted_documents.py` finds it).
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None = None
    persisted_query_hash: str | None = None


@dataclass(frozen=True, slots=True)
class HTTPPolicy:
    """What the endpoint allows, from `Settings`."""

    explorer: bool
    secure_cookies: bool
    hide_suggestions: bool
    max_body_size: int
    max_upload_size: int
    max_upload_files: int
    max_query_length: int
    max_batch_size: int | None
    """None: batching off."""
    trusted_proxies: tuple[Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> "HTTPPolicy":
        development = settings.is_development
        return cls(
            explorer=development,
            secure_cookies=not development,
            hide_suggestions=not development,
            max_body_size=settings.max_request_body_size,
            max_upload_size=settings.max_upload_size,
            max_upload_files=settings.max_upload_files,
            max_query_length=settings.graphql_max_query_length,
            max_batch_size=settings.graphql_max_batch_size if settings.graphql_batching else None,
            trusted_proxies=parse_networks(settings.trusted_proxies),
        )


class OperationReader:
    """The operation(s) an HTTP request carries, or the reason it is refused."""

    def __init__(self, policy: HTTPPolicy) -> None:
        self._policy = policy

    async def read(self, request: Request, cleanup: AsyncExitStack) -> Operation | list[Operation]:
        """The operation(s) of the request; uploaded files are closed by `cleanup`."""
        if request.method == "GET":
            params = request.query_params
            return self._operations(
                {
                    "query": params.get("query"),
                    "variables": _json_param(params.get("variables")),
                    "operationName": params.get("operationName"),
                    "extensions": _json_param(params.get("extensions")),
                    "documentId": params.get("documentId"),
                }
            )
        content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if content_type in SIMPLE_CONTENT_TYPES and not any(
            request.headers.get(h, "").strip() for h in PREFLIGHT_HEADERS
        ):
            raise RefusedRequestError(
                400,
                "This request has a content type a browser form could send, so it needs a non-empty "
                "'Apollo-Require-Preflight' or 'X-Apollo-Operation-Name' header (CSRF protection).",
            )
        if content_type == JSON_MEDIA_TYPE:
            return self._operations(_parse_json(await self._read_body(request)))
        if content_type == MULTIPART:
            return self._operations(await self._read_multipart(request, cleanup))
        raise RefusedRequestError(415, f"Send the operation as {JSON_MEDIA_TYPE} (or {MULTIPART} with files).")

    def _operations(self, data: object) -> Operation | list[Operation]:
        if not isinstance(data, list):
            return _operation(data, self._policy.max_query_length)
        if self._policy.max_batch_size is None:
            raise RefusedRequestError(400, "Batched operations are not accepted; send one operation per request.")
        if not 1 <= len(data) <= self._policy.max_batch_size:
            raise RefusedRequestError(400, f"A batch holds 1 to {self._policy.max_batch_size} operations.")
        return [_operation(item, self._policy.max_query_length) for item in data]

    async def _read_body(self, request: Request) -> bytes:
        return b"".join([chunk async for chunk in _bounded_stream(request, self._policy.max_body_size)])

    async def _read_multipart(self, request: Request, cleanup: AsyncExitStack) -> object:
        """The GraphQL multipart request spec: `operations`, then `map`, then the files.

        The body is bounded while it streams in; files are spooled (to disk past 1 MB)
        and closed with the request.
        """
        limit = self._policy.max_body_size + self._policy.max_upload_size
        parser = MultiPartParser(
            request.headers,
            _bounded_stream(request, limit),
            max_files=self._policy.max_upload_files,
            max_fields=2,
            max_part_size=self._policy.max_body_size,
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise RefusedRequestError(400, f"The multipart request is malformed: {exc.message}") from None
        cleanup.push_async_callback(form.close)
        operations = _parse_json(_text_field(form, "operations").encode())
        files_map = _parse_json(_text_field(form, "map").encode())
        return _with_files(operations, _checked_map(files_map), form)


async def _bounded_stream(request: Request, limit: int) -> AsyncGenerator[bytes]:
    """The request body, refused with 413 as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RefusedRequestError(413, f"The request body is larger than {limit} bytes.")
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise RefusedRequestError(413, f"The request body is larger than {limit} bytes.")
        yield chunk


def _text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        raise RefusedRequestError(400, f"The multipart request needs a '{name}' field (the GraphQL multipart spec).")
    return value


def _checked_map(files_map: object) -> dict[str, list[str]]:
    """`{"0": ["variables.file"]}`: each file to the variables it fills, and nothing else."""
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(path, str) and path.startswith("variables.") for path in paths)
        for paths in files_map.values()
    ):
        raise RefusedRequestError(400, "'map' must map each file to a list of 'variables.…' paths.")
    return files_map


def _with_files(operations: object, files_map: dict[str, list[str]], form: FormData) -> object:
    files = {name: form.get(name) for name in files_map}
    if not isinstance(operations, dict | list) or not all(isinstance(file, UploadFile) for file in files.values()):
        raise RefusedRequestError(400, "'map' names a file the request does not carry.")
    try:
        return replace_placeholders_with_files(operations, files_map, files)  # ty: ignore[invalid-argument-type]
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        raise RefusedRequestError(400, "'map' points at a variable the operations do not have.") from None


def _parse_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise RefusedRequestError(400, "The request body is not valid JSON.") from None


def _json_param(value: str | None) -> object:
    return None if value is None or value == "" else _parse_json(value.encode())


def _operation(data: object, max_query_length: int) -> Operation:
    if not isinstance(data, dict):
        raise RefusedRequestError(400, "The request body must be a JSON object.")
    query, variables = data.get("query"), data.get("variables")
    operation_name, extensions = data.get("operationName"), data.get("extensions")
    document_id = data.get("documentId")
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise RefusedRequestError(400, NO_DOCUMENT)
    if query is not None and len(query) > max_query_length:
        # Tokens are limited while parsing, but comments are not tokens.
        raise RefusedRequestError(400, f"The query is longer than {max_query_length} characters.")
    if not isinstance(variables, dict | None):
        raise RefusedRequestError(400, "'variables' must be a JSON object.")
    if not isinstance(operation_name, str | None):
        raise RefusedRequestError(400, "'operationName' must be a string.")
    if not isinstance(extensions, dict | None):
        raise RefusedRequestError(400, "'extensions' must be a JSON object.")
    if document_id is not None and (not isinstance(document_id, str) or not document_id):
        raise RefusedRequestError(400, "'documentId' must be a non-empty string.")
    return Operation(
        query=query,
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
        document_id=document_id,
        persisted_query_hash=_persisted_query_hash(extensions),
    )


def _persisted_query_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash of an automatic persisted query (Apollo's `extensions.persistedQuery`), if any."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RefusedRequestError(400, "Unsupported persisted query: 'extensions.persistedQuery' must be version 1.")
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not sha256_hash:
        raise RefusedRequestError(400, "'extensions.persistedQuery.sha256Hash' must be a non-empty string.")
    return sha256_hash
