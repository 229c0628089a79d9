"""What the tests share, in one place: the settings of a test app, the passes the suite runs in,
and talking to the app the way a client does (GraphQL documents over HTTP).

Tests and conftest.py import from here only; no test imports another test module or conftest."""

import asyncio
import gzip
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
import sentry_sdk
from PIL import Image
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import command
from lunchtogether.cli import alembic_config, register_user
from lunchtogether.config import Settings, load_settings
from lunchtogether.workflows.user.register import RegisterInput

UPLOAD_DIR = tempfile.mkdtemp(prefix="lunchtogether-test-uploads-")
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-signing"


@cache
def postgresql_missing() -> str | None:
    """Why this run cannot use PostgreSQL, or None when it answers; asked once."""

    async def connect() -> None:
        engine = create_async_engine(POSTGRES_URL)
        try:
            async with asyncio.timeout(10), engine.connect():
                pass
        finally:
            await engine.dispose()

    try:
        # A thread of its own, so that the event loop of the tests is left alone.
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, connect()).result()
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        return f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}); set TEST_DATABASE_URL"
    return None


def require_postgresql() -> None:
    """Skips the calling test when PostgreSQL does not answer (under `CI` fails it instead).

    Every test that needs PostgreSQL is skipped from here, so the run's summary says why in one line.
    """
    if (reason := postgresql_missing()) is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs PostgreSQL: {reason}")
    pytest.skip(reason)


class Pass(NamedTuple):
    database: str  # "postgresql" or "sqlite"
    settings: dict[str, object]  # what the pass changes in every app it builds


# The library's own way in place of each shortcut: its answers must be the same.
SHORTCUTS_OFF: dict[str, object] = {
    "graphql_fast_execution": False,
    "database_native_reads": False,
    "log_access_direct": False,
}
PASSES = {
    "postgresql": Pass("postgresql", {}),
    "sqlite": Pass("sqlite", {}),
    "postgresql-no-shortcuts": Pass("postgresql", SHORTCUTS_OFF),
}
# The settings of each pass, by the URL of its database (conftest's `settings` fills it): an app
# that a test builds on that database (`make_app`, or `make_settings(settings.sqlalchemy_url)`)
# runs as the pass does.
PASS_SETTINGS: dict[str, dict[str, object]] = {}


# What production needs besides a secret and a database: a mail server (none listens here) and a sender.
PRODUCTION_EMAIL: dict[str, object] = {
    "email_backend": "smtp",
    "smtp_host": "127.0.0.1",
    "smtp_port": 9,
    "email_from": "LunchTogether <no-reply@example.com>",
}


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "environment": "development",
        "database_url": database_url,
        "jwt_secret_key": TEST_SECRET,
        "bcrypt_rounds": 4,
        "cors_origins": "http://localhost:5173",
        "sentry_dsn": None,
        "log_level": "WARNING",
        "upload_dir": UPLOAD_DIR,
        # Limits are tested where they are the subject, on apps of their own.
        "rate_limit_login_per_email": "10000/second",
        "rate_limit_login_per_ip": "10000/second",
        "rate_limit_register": "10000/second",
        "rate_limit_email_verification": "10000/second",
        "rate_limit_password_reset": "10000/second",
    }
    return load_settings(**(values | PASS_SETTINGS.get(database_url, {}) | overrides))


async def migrate(settings: Settings, revision: str = "head", *, downgrade: bool = False) -> None:
    config = alembic_config(settings)
    config.attributes["configure_logger"] = False
    step = command.downgrade if downgrade else command.upgrade
    # env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(step, config, revision)


REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { user { id email fullName isActive isVerified isSuperuser createdAt updatedAt } }
}"""
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken expiresAt user { id email fullName } }
}"""
ME = "query Me { me { id email fullName isActive isSuperuser } }"
UPLOAD = "mutation Upload($file: Upload!) { uploadAvatar(file: $file) { id avatarUrl } }"
PREFLIGHT = {"Apollo-Require-Preflight": "true"}
PASSWORD = "correct horse battery"
# Outside the checkout, and kept between runs (Python checks each file against its source).
PYCACHE = Path(tempfile.gettempdir()) / "lunchtogether-test-pycache"


def python_environment(**variables: str) -> dict[str, str]:
    """The environment of a `lunchtogether` child process: ours, with `variables`.

    Bytecode is cached, under PYCACHE, so that each child does not compile the whole app
    again: that alone takes seconds, and a test here starts several.
    """
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return environment | {"PYTHONPYCACHEPREFIX": str(PYCACHE)} | variables


class GraphQL:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        # ASCII-escaped, as browsers send it, so that lone surrogates can be sent at all.
        body = json.dumps({"query": query, "variables": variables}).encode()
        return await self.client.post("/graphql", content=body, headers=headers)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict:
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        return response.json()

    async def register(self, email: str, *, password: str = PASSWORD, full_name: str = "Test User") -> dict:
        result = await self(REGISTER, {"input": {"email": email, "password": password, "fullName": full_name}})
        assert "errors" not in result, result
        return result["data"]["register"]["user"]

    async def login(self, email: str, *, password: str = PASSWORD) -> str:
        result = await self(LOGIN, {"input": {"email": email, "password": password}})
        assert "errors" not in result, result
        return result["data"]["login"]["accessToken"]

    async def can_log_in(self, email: str, *, password: str = PASSWORD) -> bool:
        """Whether these credentials sign in now; `login` is for when they must."""
        result = await self(LOGIN, {"input": {"email": email, "password": password}})
        return "errors" not in result and bool(result["data"]["login"]["accessToken"])

    async def signed_up(self, email: str, *, full_name: str = "Test User") -> tuple[dict, str]:
        """A new user and a token of theirs."""
        user = await self.register(email, full_name=full_name)
        return user, await self.login(email)

    async def me(self, token: str | None = None) -> dict | None:
        result = await self(ME, token=token)
        assert "errors" not in result, result
        return result["data"]["me"]


async def upload(
    api: GraphQL,
    content: bytes | io.RawIOBase,
    *,
    token: str | None,
    filename: str = "avatar.png",
    content_type: str = "image/png",
    headers: dict[str, str] = PREFLIGHT,
) -> httpx.Response:
    """`uploadAvatar` as the GraphQL multipart request spec sends it (Apollo's and urql's upload links)."""
    data = {
        "operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
        "map": json.dumps({"0": ["variables.file"]}),
    }
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    files: dict[str, Any] = {"0": (filename, content, content_type)}
    return await api.client.post("/graphql", data=data, files=files, headers=headers | auth)


def error(result: dict) -> dict:
    """The one error of a result, asserting there is exactly one."""
    errors = result.get("errors")
    assert errors is not None, result
    assert len(errors) == 1, result
    return errors[0]


def code(result: dict) -> str:
    return error(result)["extensions"]["code"]


async def make_superuser(settings: Settings, api: GraphQL, email: str = "root@example.com") -> str:
    """A superuser, made as an operator makes one (there is no API for it), and a token of theirs."""
    await register_user(settings, RegisterInput(email=email, password=PASSWORD, full_name="Root"), superuser=True)
    return await api.login(email)


def image(format: str, size: tuple[int, int] = (800, 600), mode: str = "RGB", **options: object) -> bytes:
    """An image file of `format`, as a client would upload it."""
    output = io.BytesIO()
    Image.new(mode, size, "teal").save(output, format=format, **options)
    return output.getvalue()


def stored_files(root: Path) -> list[Path]:
    """Every file under a local storage's root."""
    return sorted(path for path in root.rglob("*") if path.is_file())


class IngestServer(ThreadingHTTPServer):
    """Stands in for Sentry: keeps every envelope the SDK posts, decompressed."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _IngestHandler)
        self.envelopes: list[bytes] = []

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server_address[1]}/1"

    def raw(self) -> bytes:
        sentry_sdk.flush(timeout=10)
        return b"\n".join(self.envelopes)

    def events(self, of_type: str = "event") -> list[dict]:
        """The items of `of_type` sent so far: "event" (errors, messages) or "transaction"."""
        sentry_sdk.flush(timeout=10)
        return [
            json.loads(payload) for envelope in self.envelopes for kind, payload in _items(envelope) if kind == of_type
        ]


class _IngestHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, IngestServer)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert self.headers.get("Content-Encoding") in (None, "gzip"), "an encoding the test cannot read"
        assert re.fullmatch(r"/api/1/envelope/", self.path), self.path
        self.server.envelopes.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the envelopes, not the server's log."""


def _items(envelope: bytes) -> Iterator[tuple[str, bytes]]:
    """The (type, payload) of each item: a header line, then `length` bytes or a line."""
    _envelope_header, _, rest = envelope.partition(b"\n")
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :].removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        yield header["type"], payload
