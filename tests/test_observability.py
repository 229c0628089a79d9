"""Sentry events (sent for real, to a local ingest server) and log lines: once, tagged, without secrets."""

import io
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
import sentry_sdk
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from lunchtogether.core.exceptions import InvalidCredentialsError
from lunchtogether.core.middleware import RequestFrameMiddleware
from lunchtogether.core.observability import (
    ACCESS_LOGGER,
    HANDLER_NAME,
    before_send,
    configure_logging,
    init_sentry,
)
from lunchtogether.core.security import TokenCodec
from lunchtogether.database import Database, RequestDatabase
from lunchtogether.main import create_app
from lunchtogether.repositories.user import UserRepository
from tests.support import LOGIN, ME, PASSWORD, PRODUCTION_EMAIL, TEST_SECRET, GraphQL, code, make_settings

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"
# As logging has it before a test here sets up Sentry, whose logging integration patches it for good.
UNPATCHED_CALL_HANDLERS = logging.Logger.callHandlers
VARIABLE_PASSWORD = "variable-password-6f1c2"
INLINE_PASSWORD = "inline-password-9d3e7"


def _token() -> str:
    codec = TokenCodec(secret=TEST_SECRET, algorithm="HS256", lifetime=timedelta(hours=1))
    return codec.issue(uuid4(), uuid4(), not_after=datetime.now(UTC) + timedelta(days=1)).token


async def test_an_unexpected_error_is_sent_once_tagged_and_without_secrets(ingest):
    """The database is down: each request fails unexpectedly, and each failure is one event."""
    app = create_app(make_settings(UNREACHABLE, environment="production", **PRODUCTION_EMAIL, sentry_dsn=ingest.dsn))
    header_token, cookie_token = _token(), _token()
    inline_login = (
        'mutation InlineLogin { login(input: {email: "ann@example.com", password: "' + INLINE_PASSWORD + '"}) '
        "{ accessToken } }"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        responses = {
            "Me": await client.post(
                "/graphql",
                json={"query": ME, "operationName": "Me"},
                headers={"Authorization": f"Bearer {header_token}", "Cookie": f"access_token={cookie_token}"},
            ),
            "Login": await client.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "operationName": "Login",
                    "variables": {"input": {"email": "ann@example.com", "password": VARIABLE_PASSWORD}},
                },
            ),
            "InlineLogin": await client.post("/graphql", json={"query": inline_login, "operationName": "InlineLogin"}),
        }
    await app.state.engine.dispose()

    request_ids = {}
    for operation, response in responses.items():
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        request_ids[response.headers["x-request-id"]] = operation
    events = ingest.events()
    assert Counter(event["tags"]["request_id"] for event in events) == dict.fromkeys(request_ids, 1)
    for event in events:
        assert event["tags"]["graphql.operation_name"] == request_ids[event["tags"]["request_id"]]
        assert event["tags"]["environment"] == event["environment"] == "production"
        assert event["exception"]["values"]
    raw = ingest.raw()
    for secret in (header_token, cookie_token, VARIABLE_PASSWORD, INLINE_PASSWORD):
        assert secret.encode() not in raw


async def test_expected_errors_are_not_sent(make_app, ingest):
    api = make_app(sentry_dsn=ingest.dsn)
    await api.register("ann@example.com")

    wrong_password = await api(LOGIN, {"input": {"email": "ann@example.com", "password": "not the password"}})
    bad_input = await api(LOGIN, {"input": {"email": "not an email", "password": PASSWORD}})
    signed_out = await api('mutation { changePassword(input: {currentPassword: "a", newPassword: "b"}) }')

    assert [code(wrong_password), code(bad_input), code(signed_out)] == [
        "UNAUTHENTICATED",
        "BAD_USER_INPUT",
        "UNAUTHENTICATED",
    ]
    assert ingest.events() == []
    sentry_sdk.capture_message("the SDK was sending all along")
    assert len(ingest.events()) == 1


async def test_an_error_escaping_the_app_is_sent_once_with_the_request_id(ingest):
    """A middleware's failure is captured by the Starlette integration, not also through uvicorn's log."""

    async def failing(_request: Request) -> None:
        raise RuntimeError("failed with password=hunter2-7a1")

    init_sentry(make_settings("sqlite+aiosqlite://", sentry_dsn=ingest.dsn))
    app = Starlette(
        routes=[Route("/fail", failing)], middleware=[Middleware(RequestFrameMiddleware, max_header_bytes=8192)]
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/fail", headers={"X-Request-ID": "escaping-1"})
    try:
        raise RuntimeError("Exception in ASGI application")  # what uvicorn logs of the same failure
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    assert response.status_code == 500
    events = ingest.events()
    assert [event["tags"]["request_id"] for event in events] == ["escaping-1"]
    assert b"hunter2-7a1" not in ingest.raw()


def test_before_send_scrubs_secrets_wherever_they_are():
    secrets = ["s3cret-header", "s3cret-cookie", "s3cret-body", "s3cret-extra", "s3cret-crumb", "s3cret-var"]
    event = {
        "request": {
            "headers": {"Authorization": "Bearer s3cret-header", "X-Request-ID": "r1"},
            "cookies": {"access_token": "s3cret-cookie"},
            "data": {"query": "{ me { id } }", "variables": {"input": {"password": "s3cret-body"}}},
            "query_string": "variables=s3cret-body",
        },
        "extra": {"settings": {"jwtSecretKey": "s3cret-extra", "nested": [{"apiKey": "s3cret-extra"}]}},
        "breadcrumbs": {"values": [{"message": "login", "data": {"currentPassword": "s3cret-crumb"}}]},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "bad cookie access_token=s3cret-cookie",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"body": "s3cret-var"}}]},
                }
            ]
        },
    }

    scrubbed = before_send(event, {})  # ty: ignore[invalid-argument-type]

    text = json.dumps(scrubbed)
    assert not [secret for secret in secrets if secret in text]
    request = json.loads(text)["request"]
    assert request["headers"]["X-Request-ID"] == "r1"
    assert "data" not in request
    assert before_send({"message": "x"}, {"exc_info": (None, InvalidCredentialsError(), None)}) is None


@pytest.fixture
def log_output() -> Iterator[Callable[[], io.StringIO]]:
    """Points the latest app's log handler at a new buffer; afterwards logging is as the other tests have it."""

    def attach() -> io.StringIO:
        buffer = io.StringIO()
        handler = next(h for h in logging.getLogger().handlers if h.name == HANDLER_NAME)
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        return buffer

    yield attach
    configure_logging(make_settings("sqlite+aiosqlite://"))


async def _signed_in_me(api) -> tuple[str, httpx.Response]:
    user, token = await api.signed_up("ann@example.com")
    response = await api.client.post(
        "/graphql", json={"query": ME, "operationName": "Me"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json()["data"]["me"]["id"] == user["id"]
    return token, response


async def test_production_writes_one_json_access_line_per_request(make_app, log_output):
    api = make_app(environment="production", **PRODUCTION_EMAIL, log_level="INFO")
    buffer = log_output()

    token, response = await _signed_in_me(api)
    logging.getLogger("uvicorn.error").warning("uvicorn speaks")

    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "lunchtogether.access"]
    assert len(access) == 3  # register, login, me
    # Sent without operationName: the document's only operation names them.
    assert [line["operation_name"] for line in access[:2]] == ["Register", "Login"]
    me = access[-1]
    assert me["method"] == "POST"
    assert me["path"] == "/graphql"
    assert me["operation_name"] == "Me"
    assert me["status"] == 200
    assert isinstance(me["duration_ms"], float)
    assert me["request_id"] == response.headers["x-request-id"]
    assert me["user_id"] == response.json()["data"]["me"]["id"]
    assert me["level"] == "INFO"
    assert [line["message"] for line in lines if line["logger"] == "uvicorn.error"] == ["uvicorn speaks"]
    assert not logging.getLogger("uvicorn.access").hasHandlers()  # uvicorn would write a second access line
    assert token not in buffer.getvalue()
    assert PASSWORD not in buffer.getvalue()


async def test_development_writes_readable_access_lines_at_the_log_level(make_app, log_output):
    api = make_app(log_level="INFO")
    buffer = log_output()

    _token, response = await _signed_in_me(api)

    last = [line for line in buffer.getvalue().splitlines() if " lunchtogether.access " in line][-1]
    request_id, user_id = response.headers["x-request-id"], response.json()["data"]["me"]["id"]
    pattern = rf"\S+ \S+ INFO lunchtogether\.access POST /graphql Me 200 [\d.]+ms request_id={request_id} "
    pattern += rf"user_id={user_id}"
    assert re.fullmatch(pattern, last), last

    await api.client.post("/graphql", json={"query": ME, "operationName": "Me\nforged line"})
    assert not [line for line in buffer.getvalue().splitlines() if line.startswith("forged")]

    quiet = make_app(log_level="WARNING")
    buffer = log_output()
    await quiet.me()
    assert "lunchtogether.access" not in buffer.getvalue()


@contextmanager
def only_our_handler() -> Generator[None]:
    """The root logger as a server has it: pytest's capturing handlers (added as each test phase starts) off."""
    root = logging.getLogger()
    others = [handler for handler in root.handlers if handler.name != HANDLER_NAME]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


@pytest.fixture
def access_records(monkeypatch: pytest.MonkeyPatch) -> list[logging.LogRecord]:
    """The access lines that went through the logging module as records."""
    records: list[logging.LogRecord] = []
    access_logger = logging.getLogger(ACCESS_LOGGER)
    handle = access_logger.handle

    def counted(record: logging.LogRecord) -> None:
        records.append(record)
        handle(record)

    monkeypatch.setattr(access_logger, "handle", counted)
    return records


async def _access_lines(api: GraphQL, buffer: io.StringIO, token: str) -> list[dict]:
    """The access lines of requests of every kind, each with an id of its own; times left out."""
    post = api.client.post
    await post("/graphql", json={"query": ME}, headers={"X-Request-ID": "me", "Authorization": f"Bearer {token}"})
    await post("/graphql", json={"query": ME}, headers={"X-Request-ID": "anonymous"})
    await post("/graphql", json={"query": ME, "operationName": "Me\nforged line"}, headers={"X-Request-ID": "forged"})
    await post("/graphql", json={"query": ME, "operationName": "password=hunter2"}, headers={"X-Request-ID": "secret"})
    await post("/graphql", content=b"{", headers={"X-Request-ID": "not-json", "Content-Type": "application/json"})
    await api.client.get("/nowhere", headers={"X-Request-ID": "not-found"})
    lines = []
    for text in buffer.getvalue().splitlines():
        line = json.loads(text)
        if line["logger"] != ACCESS_LOGGER:
            continue
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line.pop("time"))
        assert isinstance(line.pop("duration_ms"), float)
        line["message"] = re.sub(r" [\d.]+ms ", " ms ", line["message"])
        lines.append(line)
    return lines


async def test_access_lines_written_directly_are_the_lines_logging_writes(
    make_app, log_output, access_records, monkeypatch
):
    monkeypatch.setattr(logging.Logger, "callHandlers", UNPATCHED_CALL_HANDLERS)
    api = make_app(environment="production", **PRODUCTION_EMAIL, log_level="INFO")
    _, token = await api.signed_up("ann@example.com")
    written = {}
    for direct in (True, False):
        overrides = {"environment": "production", **PRODUCTION_EMAIL, "log_level": "INFO", "log_access_direct": direct}
        configure_logging(make_settings("sqlite+aiosqlite://", **overrides))
        access_records.clear()
        with only_our_handler():
            written[direct] = await _access_lines(api, log_output(), token)
        assert len(access_records) == (0 if direct else 6)

    assert written[True] == written[False]
    request_ids = [line["request_id"] for line in written[True]]
    assert request_ids == ["me", "anonymous", "forged", "secret", "not-json", "not-found"]
    assert [line["status"] for line in written[True]] == [200, 200, 400, 400, 400, 404]
    assert "hunter2" not in json.dumps(written[True])
    assert all("\n" not in line["message"] for line in written[True])


async def test_access_lines_go_through_logging_where_another_handler_is(make_app, log_output, access_records):
    api = make_app(environment="production", **PRODUCTION_EMAIL, log_level="INFO")
    buffer = log_output()

    await api.me()  # pytest's own handlers are on the root logger

    assert len(access_records) == 1
    assert len([line for line in buffer.getvalue().splitlines() if ACCESS_LOGGER in line]) == 1


async def test_access_lines_go_through_logging_where_logging_is_patched(
    make_app, log_output, access_records, monkeypatch
):
    api = make_app(environment="production", **PRODUCTION_EMAIL, log_level="INFO")
    buffer = log_output()
    # As Sentry's logging integration patches it, to keep breadcrumbs.
    monkeypatch.setattr(logging.Logger, "callHandlers", lambda logger, record: UNPATCHED_CALL_HANDLERS(logger, record))

    with only_our_handler():
        await api.me()

    assert len(access_records) == 1
    assert len([line for line in buffer.getvalue().splitlines() if ACCESS_LOGGER in line]) == 1


async def test_a_slow_statement_is_logged_and_reaches_sentry_without_its_parameters(
    make_app, backend, ingest, log_output
):
    """Every statement counts as slow here: each is a WARNING line and, with tracing on, a span of its request."""
    api = make_app(environment="production", **PRODUCTION_EMAIL, sentry_dsn=ingest.dsn, database_slow_query_seconds=0)
    sentry_sdk.get_client().options["traces_sample_rate"] = 1.0  # tracing on, as an operator may set it
    buffer = log_output()

    token, _response = await _signed_in_me(api)

    sql_lines = [json.loads(line) for line in buffer.getvalue().splitlines() if '"lunchtogether.sql"' in line]
    assert sql_lines, buffer.getvalue()
    assert {line["level"] for line in sql_lines} == {"WARNING"}
    assert all(re.fullmatch(r"slow statement via \w+ took [\d.]+ms: \S.*", line["message"]) for line in sql_lines)
    assert any("INSERT INTO users" in line["message"] for line in sql_lines)
    requests = [[span for span in t["spans"] if span["op"] == "db"] for t in ingest.events("transaction")]
    assert len(requests) == 3  # register, login, me
    me = requests[-1]
    assert len(me) == 1, me  # the user and the token's state together
    assert "JOIN sessions" in me[0]["description"]
    assert me[0]["data"]["db.system"] == backend
    for secret in (b"ann@example.com", PASSWORD.encode(), token.encode()):
        assert secret not in ingest.raw()
        assert secret.decode() not in buffer.getvalue()


async def test_statements_are_breadcrumbs_of_the_error_that_follows_them(engine, ingest):
    init_sentry(make_settings("sqlite+aiosqlite://", sentry_dsn=ingest.dsn))
    users = UserRepository(RequestDatabase(Database(engine)))

    with sentry_sdk.isolation_scope():  # as the Starlette integration gives each request
        await users.get_by_id(uuid4())  # a read declared once: straight to asyncpg on PostgreSQL
        await users.exists_by_email("ann@example.com")  # built per call: SQLAlchemy runs it
        sentry_sdk.capture_message("after two statements")

    [event] = ingest.events()
    queries = [crumb for crumb in event["breadcrumbs"]["values"] if crumb["category"] == "query"]
    assert [("WHERE users.id" in queries[0]["message"]), ("EXISTS" in queries[1]["message"])] == [True, True]
    assert len(queries) == 2, queries
    assert b"ann@example.com" not in ingest.raw()


@pytest.mark.parametrize("native_reads", [True, False])
async def test_every_statement_is_logged_at_debug_whichever_way_it_went(make_app, backend, log_output, native_reads):
    api = make_app(log_level="DEBUG", database_native_reads=native_reads)
    _user, token = await api.signed_up("ann@example.com")
    buffer = log_output()

    await api.me(token)  # a read declared once
    await api.login("ann@example.com")  # reads built per call, and writes

    me, *login = re.findall(r" DEBUG lunchtogether\.sql statement via (\w+) took ", buffer.getvalue())
    assert me == ("asyncpg" if native_reads and backend == "postgresql" else "sqlalchemy")
    assert login == ["sqlalchemy", "sqlalchemy"]  # the user by email, then the new token
    assert "WARNING" not in buffer.getvalue()
