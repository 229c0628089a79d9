"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/) on Starlette.

Strawberry's schema parses, validates and executes; this endpoint owns the wire:
content negotiation, status codes, JSON error bodies for refused requests, the
request's database, and cookies. Reading the request is `http_request.py`'s.
"""

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from lunchtogether.core.http_errors import JSON_MEDIA_TYPE, encode_json, refused_request
from lunchtogether.core.middleware import request_id_of
from lunchtogether.database import Database, RequestDatabase
from lunchtogether.dependencies import Dependencies, Services
from lunchtogether.graphql.context import Context, CookiePolicy
from lunchtogether.graphql.errors import format_error, internal_error_body, is_request_error, report_unexpected
from lunchtogether.graphql.http_request import HTTPPolicy, Operation, OperationReader, RefusedRequestError
from lunchtogether.graphql.limits import operation_names
from lunchtogether.graphql.pagination import CursorCodec
from lunchtogether.graphql.persisted_documents import (
    NOT_FOUND_BODY,
    NOT_FOUND_CACHE_CONTROL,
    ONLY_BODY,
    PersistedDocuments,
    PersistedQueryOnlyError,
)
from lunchtogether.graphql.schema import Schema
from lunchtogether.workflows.session.renew_session import RenewSessionInput
from lunchtogether.workflows.user.authenticate import Identity

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# GraphiQL is a page of inline script that loads its code from unpkg.
EXPLORER_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data: https://unpkg.com; "
    "font-src 'self' data: https://unpkg.com; connect-src 'self'; frame-ancestors 'none'"
)
QUERIES_ONLY = frozenset({OperationType.QUERY})
QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


@dataclass(frozen=True, slots=True)
class OperationResult:
    """One operation's answer, before it is encoded into the response."""

    body: dict[str, Any]
    # Refused before execution (parse, validation, variables): the spec's "request error".
    never_executed: bool
    # The `Set-Cookie` headers its resolvers set, such as login's refresh token.
    set_cookie_headers: tuple[str, ...]
    # Whether a resolver set or cleared the access-token cookie: no renewal may then replace it.
    sets_access_cookie: bool = False
    # Who the operation acted as, when the access-token cookie said so: a renewal's candidate.
    cookie_identity: Identity | None = None


# The answer to an id or hash that names no document: Apollo's and urql's links then send the document.
NOT_FOUND_RESULT = OperationResult(body=NOT_FOUND_BODY, never_executed=True, set_cookie_headers=())


class GraphQLEndpoint:
    def __init__(
        self,
        *,
        schema: Schema,
        services: Services,
        database: Database,
        policy: HTTPPolicy,
        documents: PersistedDocuments,
    ) -> None:
        self._api_schema = schema
        self._documents = documents
        self._services = services
        self._database = database
        self._policy = policy
        self._reader = OperationReader(policy)
        self._cursors = CursorCodec(services.settings.jwt_secret)
        self._cookies = CookiePolicy(secure=policy.secure_cookies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Mounted as a plain ASGI app: `handle` answers everything itself, so Starlette's
        per-request endpoint wrapper (its exception handlers) would only add work."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if self._policy.explorer and request.method == "GET" and _wants_explorer(request):
            return HTMLResponse(get_graphql_ide_html("graphiql"), headers={"Content-Security-Policy": EXPLORER_CSP})
        try:
            media_type = _negotiate(request.headers.get("accept"))
            async with AsyncExitStack() as cleanup:
                operations = await self._reader.read(request, cleanup)
                return await self._answer(request, operations, media_type)
        except RefusedRequestError as refused:
            return refused_request(refused.status_code, refused.message, refused.headers)
        except Exception as exc:  # noqa: BLE001 - a failure outside the resolvers is still a GraphQL answer
            return Response(encode_json(internal_error_body(exc, request_id_of(request))), media_type=JSON_MEDIA_TYPE)

    async def _answer(self, request: Request, operations: Operation | list[Operation], media_type: str) -> Response:
        """Every operation's document is found before any of them runs: where only trusted documents
        run, one document of the request's own refuses the whole request, a batch included."""
        batch = operations if isinstance(operations, list) else [operations]
        try:
            texts = [await self._documents.text(operation) for operation in batch]
        except PersistedQueryOnlyError:
            return Response(
                encode_json(ONLY_BODY), status_code=_request_error_status(media_type), media_type=media_type
            )
        if isinstance(operations, Operation):
            return await self._execute(request, operations, texts[0], media_type)
        return await self._execute_batch(request, list(zip(batch, texts, strict=True)), media_type)

    async def _execute_batch(
        self, request: Request, operations: list[tuple[Operation, str | None]], media_type: str
    ) -> Response:
        """Each operation of a batch runs on its own, one after the other, as if sent alone."""
        results = [await self._result(request, operation, text) for operation, text in operations]
        response = Response(encode_json([result.body for result in results]), media_type=media_type)
        for result in results:
            _set_cookies(result, response)
        await self._renew_cookie(request, results, response)
        return response

    async def _execute(self, request: Request, operation: Operation, text: str | None, media_type: str) -> Response:
        result = await self._result(request, operation, text)
        status_code = _request_error_status(media_type) if result.never_executed else 200
        response = Response(encode_json(result.body), status_code=status_code, media_type=media_type)
        if text is None and request.method == "GET":
            response.headers["Cache-Control"] = NOT_FOUND_CACHE_CONTROL
        _set_cookies(result, response)
        await self._renew_cookie(request, [result], response)
        return response

    async def _renew_cookie(self, request: Request, results: list[OperationResult], response: Response) -> None:
        """Sets a fresh token of the cookie's session when the presented one is past half its life.

        Once per HTTP request, a batch included, after every operation has run: a logout or a
        revocation in the same request is seen (the session has ended, nothing is renewed), and a
        cookie that a resolver set (login, logout) is never replaced. Costs no statement unless due.
        """
        if any(result.sets_access_cookie for result in results):
            return
        identity = next((result.cookie_identity for result in results if result.cookie_identity), None)
        if identity is None:
            return
        deps = Dependencies(RequestDatabase(self._database), self._services)
        try:
            output = await deps.renew_session().execute(RenewSessionInput(), actor=identity)
        except Exception as exc:  # noqa: BLE001 - the answer stands: the presented token is still valid
            report_unexpected(exc, where=f"the renewal of a session ({request_id_of(request)})")
            return
        if output.renewed is not None:
            self._cookies.set(response, output.renewed.access_token, output.renewed.expires_at)

    async def _result(self, request: Request, operation: Operation, text: str | None) -> OperationResult:
        """The operation's answer; `text` is its document, None when its id or hash named none."""
        return NOT_FOUND_RESULT if text is None else await self._run(request, operation, text)

    async def _run(self, request: Request, operation: Operation, text: str) -> OperationResult:
        """Executes one operation with a request database and a context of its own."""
        name = operation.operation_name
        if name is None:
            names = operation_names(text, self._api_schema.policy)
            if len(names) > 1:
                error = {"message": "Must provide operation name if query contains multiple operations."}
                return OperationResult(body={"errors": [error]}, never_executed=True, set_cookie_headers=())
            name = names[0] if names else None
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
            result = await self._api_schema.execute(
                text,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=QUERIES_ONLY if request.method == "GET" else QUERIES_AND_MUTATIONS,
                operation_extensions=operation.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                message = "Subscriptions are not supported: this server answers queries and mutations over HTTP."
                raise RefusedRequestError(400, message) from exc
            raise RefusedRequestError(
                405, "Only queries may be sent with GET; send mutations with POST.", {"Allow": "POST"}
            ) from exc
        except CannotGetOperationTypeError as exc:
            raise RefusedRequestError(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise RefusedRequestError(400, "The request has no GraphQL query.") from exc
        finally:
            _note_for_access_log(request, name, context)
        errors: list[GraphQLError] = result.errors or []
        never_executed = result.data is None and bool(errors) and all(is_request_error(e) for e in errors)
        body: dict[str, Any] = {} if never_executed else {"data": result.data}
        if errors:
            request_id = request_id_of(request)
            hide = self._policy.hide_suggestions
            body["errors"] = [format_error(error, request_id=request_id, hide_suggestions=hide) for error in errors]
        cookies = tuple(context.response.headers.getlist("set-cookie"))
        return OperationResult(
            body=body,
            never_executed=never_executed,
            set_cookie_headers=cookies,
            sets_access_cookie=context.sets_cookie,
            cookie_identity=context.cookie_identity(),
        )


def _note_for_access_log(request: Request, operation_name: str | None, context: Context) -> None:
    """What the access log line says of the request: which operation, by whom."""
    request.state.operation_name = operation_name
    if (user_id := context.known_user_id()) is not None:
        request.state.user_id = str(user_id)


def _set_cookies(result: OperationResult, response: Response) -> None:
    for header in result.set_cookie_headers:
        response.headers.append("set-cookie", header)


def _request_error_status(media_type: str) -> int:
    """The spec's rule: under the new media type a request that never executed is a 4xx."""
    return 400 if media_type == GRAPHQL_RESPONSE_JSON else 200


def _negotiate(accept: str | None) -> str:
    """`application/graphql-response+json` when the client takes it, else `application/json`."""
    if not accept:
        return JSON_MEDIA_TYPE
    media_types = {part.partition(";")[0].strip().lower() for part in accept.split(",")}
    if GRAPHQL_RESPONSE_JSON in media_types:
        return GRAPHQL_RESPONSE_JSON
    if media_types & {JSON_MEDIA_TYPE, "application/*", "*/*"}:
        return JSON_MEDIA_TYPE
    raise RefusedRequestError(406, f"This endpoint answers {GRAPHQL_RESPONSE_JSON} or {JSON_MEDIA_TYPE}.")


def _wants_explorer(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "").lower() and "query" not in request.query_params
