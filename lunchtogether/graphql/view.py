"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/) on Starlette.

Strawberry's schema parses, validates and executes; this endpoint owns the wire:
content negotiation, status codes, JSON error bodies for refused requests,
Apollo's CSRF rule, and the request's database connection.
"""

import json
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from lunchtogether.config import Settings
from lunchtogether.core.middleware import request_id_of
from lunchtogether.core.network import Network, parse_networks
from lunchtogether.database import Database, RequestDatabase
from lunchtogether.dependencies import Dependencies, Services
from lunchtogether.graphql.context import Context, CookiePolicy
from lunchtogether.graphql.errors import BAD_REQUEST, error_body, format_error, internal_error_body, is_request_error
from lunchtogether.graphql.limits import QueryPolicy, has_several_operations, sole_operation_name
from lunchtogether.graphql.pagination import CursorCodec
from lunchtogether.graphql.schema import Schema

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
MULTIPART = "multipart/form-data"
# Content types a cross-site form can send without a CORS preflight (Apollo Server's CSRF rule).
SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
# GraphiQL is a page of inline script that loads its code from unpkg.
EXPLORER_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data: https://unpkg.com; "
    "font-src 'self' data: https://unpkg.com; connect-src 'self'; frame-ancestors 'none'"
)
QUERIES_ONLY = frozenset({OperationType.QUERY})
QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


class RefusedRequestError(Exception):
    """The HTTP request itself is refused, before any GraphQL runs."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers


@dataclass(frozen=True, slots=True)
class Operation:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


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


class GraphQLEndpoint:
    def __init__(
        self,
        *,
        schema: Schema,
        services: Services,
        database: Database,
        policy: HTTPPolicy,
    ) -> None:
        self._schema = schema
        self._services = services
        self._database = database
        self._policy = policy
        self._cursors = CursorCodec(services.settings.jwt_secret)
        self._cookies = CookiePolicy(secure=policy.secure_cookies)

    async def handle(self, request: Request) -> Response:
        if self._policy.explorer and request.method == "GET" and _wants_explorer(request):
            return HTMLResponse(get_graphql_ide_html("graphiql"), headers={"Content-Security-Policy": EXPLORER_CSP})
        try:
            media_type = _negotiate(request.headers.get("accept"))
            async with AsyncExitStack() as cleanup:
                operations = await self._read_operations(request, cleanup)
                if isinstance(operations, Operation):
                    return await self._execute(request, operations, media_type)
                return await self._execute_batch(request, operations, media_type)
        except RefusedRequestError as refused:
            body = error_body(refused.message, BAD_REQUEST)
            return Response(encode_json(body), refused.status_code, refused.headers, media_type=JSON)
        except Exception as exc:  # noqa: BLE001 - a failure outside the resolvers is still a GraphQL answer
            return Response(encode_json(internal_error_body(exc, request_id_of(request))), media_type=JSON)

    async def _read_operations(self, request: Request, cleanup: AsyncExitStack) -> Operation | list[Operation]:
        """The operation(s) of the request; uploaded files are closed by `cleanup`."""
        if request.method == "GET":
            params = request.query_params
            return self._operations(
                {
                    "query": params.get("query"),
                    "variables": _json_param(params.get("variables")),
                    "operationName": params.get("operationName"),
                    "extensions": _json_param(params.get("extensions")),
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
        if content_type == JSON:
            return self._operations(_parse_json(await self._read_body(request)))
        if content_type == MULTIPART:
            return self._operations(await self._read_multipart(request, cleanup))
        raise RefusedRequestError(415, f"Send the operation as {JSON} (or {MULTIPART} with files).")

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

    async def _execute_batch(self, request: Request, operations: list[Operation], media_type: str) -> Response:
        """Each operation of a batch runs on its own, one after the other, as if sent alone."""
        results = [await self._run(request, operation) for operation in operations]
        body = encode_json([body for body, _failed, _cookies in results])
        response = Response(body, media_type=media_type)
        for _body, _failed, cookies in results:
            _copy_cookies(cookies, response)
        return response

    async def _execute(self, request: Request, operation: Operation, media_type: str) -> Response:
        body, request_failed, cookies = await self._run(request, operation)
        # The spec's rule: under the new media type a request that never executed is a 4xx.
        status_code = 400 if request_failed and media_type == GRAPHQL_RESPONSE_JSON else 200
        response = Response(encode_json(body), status_code=status_code, media_type=media_type)
        _copy_cookies(cookies, response)
        return response

    async def _run(self, request: Request, operation: Operation) -> tuple[dict[str, Any], bool, Response]:
        """Executes one operation: its body, whether it failed as a request, and its cookies."""
        if operation.operation_name is None and has_several_operations(operation.query, self._schema.policy):
            return (
                {"errors": [{"message": "Must provide operation name if query contains multiple operations."}]},
                True,
                Response(),
            )
        db = RequestDatabase(self._database)
        deps = Dependencies(db, self._services)
        context = Context(
            request=request,
            response=Response(),
            trusted_proxies=self._policy.trusted_proxies,
            deps=deps,
            cursors=self._cursors,
            cookies=self._cookies,
        )
        try:
            result = await self._schema.execute(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=QUERIES_ONLY if request.method == "GET" else QUERIES_AND_MUTATIONS,
                operation_extensions=operation.extensions,
            )
        except InvalidOperationTypeError as exc:
            raise RefusedRequestError(
                405, "Only queries may be sent with GET; send mutations with POST.", {"Allow": "POST"}
            ) from exc
        except CannotGetOperationTypeError as exc:
            raise RefusedRequestError(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise RefusedRequestError(400, "The request has no GraphQL query.") from exc
        finally:
            _note_for_access_log(request, operation, context, self._schema.policy)
        errors: list[GraphQLError] = result.errors or []
        request_failed = result.data is None and bool(errors) and all(is_request_error(e) for e in errors)
        body: dict[str, Any] = {} if request_failed else {"data": result.data}
        if errors:
            request_id = request_id_of(request)
            hide = self._policy.hide_suggestions
            body["errors"] = [format_error(error, request_id=request_id, hide_suggestions=hide) for error in errors]
        return body, request_failed, context.response


def encode_json(body: object) -> bytes:
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        # A message can quote a client's lone surrogate, which only `json` can escape.
        return json.dumps(body, separators=(",", ":")).encode()


def _note_for_access_log(request: Request, operation: Operation, context: Context, policy: QueryPolicy) -> None:
    """What the access log line says of the request: which operation, by whom."""
    request.state.operation_name = operation.operation_name or sole_operation_name(operation.query, policy)
    if (user_id := context.known_user_id()) is not None:
        request.state.user_id = str(user_id)


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


def _copy_cookies(source: Response, target: Response) -> None:
    for cookie in source.headers.getlist("set-cookie"):
        target.headers.append("set-cookie", cookie)


def _negotiate(accept: str | None) -> str:
    """`application/graphql-response+json` when the client takes it, else `application/json`."""
    if not accept:
        return JSON
    media_types = {part.partition(";")[0].strip().lower() for part in accept.split(",")}
    if GRAPHQL_RESPONSE_JSON in media_types:
        return GRAPHQL_RESPONSE_JSON
    if media_types & {JSON, "application/*", "*/*"}:
        return JSON
    raise RefusedRequestError(406, f"This endpoint answers {GRAPHQL_RESPONSE_JSON} or {JSON}.")


def _wants_explorer(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "").lower() and "query" not in request.query_params


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
    if not isinstance(query, str) or not query.strip():
        raise RefusedRequestError(400, "The request must carry a GraphQL query as the string 'query'.")
    if len(query) > max_query_length:
        # Tokens are limited while parsing, but comments are not tokens.
        raise RefusedRequestError(400, f"The query is longer than {max_query_length} characters.")
    if not isinstance(variables, dict | None):
        raise RefusedRequestError(400, "'variables' must be a JSON object.")
    if not isinstance(operation_name, str | None):
        raise RefusedRequestError(400, "'operationName' must be a string.")
    if not isinstance(extensions, dict | None):
        raise RefusedRequestError(400, "'extensions' must be a JSON object.")
    return Operation(query=query, variables=variables, operation_name=operation_name, extensions=extensions)
