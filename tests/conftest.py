"""Fixtures. Every feature test runs against a real PostgreSQL (a database made for this run), again on
SQLite, and again on PostgreSQL with the shortcuts around libraries off (`support.PASSES`). A test
that sets the shortcuts itself names its passes instead: `@pytest.mark.parametrize("suite_pass",
[...], indirect=True)`, as test_differential.py does.

A test that uses the database of its pass (the `settings` fixture, or anything built on it: `app`,
`engine`, `client`, `api`, `make_app` and the fixtures of test modules on top of them) starts with
every table empty: `empty_tables` is autouse and does it for exactly those tests, so that no fixture
asks for another one for that side effect, and a pure unit test builds no app. A test on a
`postgresql_database` of its own starts from a fresh database anyway.

Without PostgreSQL (and with `CI` unset) the tests that need it are skipped, for one reason.

Helpers shared by tests live in tests/support.py, not here."""

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis
import sentry_sdk
from moto.server import ThreadedMotoServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette

from lunchtogether.config import Settings
from lunchtogether.database import ExecutedStatement, StatementObserver
from lunchtogether.main import create_app
from lunchtogether.models import Base
from tests.servers import Server, launcher
from tests.support import (
    PASS_SETTINGS,
    PASSES,
    POSTGRES_URL,
    REDIS_URL,
    GraphQL,
    IngestServer,
    make_settings,
    migrate,
    require_postgresql,
)

# A test that asks for one of these runs against PostgreSQL (`postgresql_server`: test_cli's).
POSTGRESQL_FIXTURES = frozenset({"create_database", "postgresql_server"})


def _needs_postgresql(item: pytest.Item) -> bool:
    if not POSTGRESQL_FIXTURES & set(getattr(item, "fixturenames", ())):
        return False
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("suite_pass") if callspec else None
    return name is None or PASSES[name].database == "postgresql"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skips a test that needs PostgreSQL when there is none, before its fixtures try to connect.

    Skipped here rather than in a fixture, so that the summary says why in one line.
    """
    if _needs_postgresql(item):
        require_postgresql()


@pytest.fixture(scope="session", params=list(PASSES))
def suite_pass(request: pytest.FixtureRequest) -> str:
    """The name of the pass a test runs in, which its id shows: `test_me[postgresql-no-shortcuts]`."""
    return request.param


@pytest.fixture(scope="session")
def backend(suite_pass: str) -> str:
    """The database of this pass."""
    return PASSES[suite_pass].database


@pytest.fixture(scope="session")
async def create_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Callable]:
    """Makes empty databases for this run and drops them all at its end."""
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    async def create(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        name = f"lunchtogether_test_{uuid.uuid4().hex[:12]}"
        async with asyncio.timeout(10), admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    yield create
    if created:
        async with admin.connect() as connection:
            for name in created:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def postgresql_database(create_database: Callable) -> str:
    """A migrated PostgreSQL database of the test's own, for what only a database server has
    (outages, advisory locks, several server processes): such tests run once, not per backend."""
    url = await create_database("postgresql")
    await migrate(make_settings(url))
    return url


@pytest.fixture
async def launch(postgresql_database: str, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """Starts `lunchtogether serve` processes on ports of their own, sharing one database, and
    waits until they answer: `await launch("--workers", "2", SOME_SETTING="x")`. Any still
    running at the end of the test is killed."""
    async with launcher(postgresql_database, tmp_path) as start:
        yield start


@pytest.fixture(scope="session")
async def settings(suite_pass: str, backend: str, create_database: Callable) -> Settings:
    url = await create_database(backend)
    PASS_SETTINGS[url] = PASSES[suite_pass].settings
    settings = make_settings(url)
    await migrate(settings)
    return settings


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    yield app
    await app.state.engine.dispose()
    await app.state.services.close()


@pytest.fixture
def engine(app: Starlette) -> AsyncEngine:
    return app.state.engine


@pytest.fixture(autouse=True)
def empty_tables(request: pytest.FixtureRequest) -> None:
    """Empties the database of the pass before each test that uses it; see the module's docstring.

    Synchronous, so that it can ask for `emptied_tables` (async, and on the app) only where needed.
    """
    if "settings" in request.fixturenames:
        request.getfixturevalue("emptied_tables")


@pytest.fixture
async def emptied_tables(engine: AsyncEngine) -> None:
    """Every row of every table deleted, children before parents."""
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)


@pytest.fixture
def count_statements(engine: AsyncEngine) -> Callable:
    """Collects the SQL of the statements sent to the database inside a `with` block.

    It listens where every statement is observed, whichever path ran it: SQLAlchemy, or
    asyncpg directly for reads declared once (`database.PreparedRead`).
    In the pass without shortcuts every statement goes through SQLAlchemy, and a test's
    count must be the same there.
    """
    observer = StatementObserver.of(engine)

    @asynccontextmanager
    async def counting() -> AsyncGenerator[list[str]]:
        statements: list[str] = []

        def record(statement: ExecutedStatement) -> None:
            statements.append(statement.sql)

        observer.add_listener(record)
        try:
            yield statements
        finally:
            observer.remove_listener(record)

    return counting


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
async def make_app(settings: Settings) -> AsyncIterator[Callable]:
    """Builds apps on this run's database with settings of a test's own; each gets a client."""
    apps: list[Starlette] = []
    clients: list[httpx.AsyncClient] = []

    def make(**overrides: object) -> GraphQL:
        app = create_app(make_settings(settings.sqlalchemy_url, **overrides))
        apps.append(app)
        clients.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver"))
        return GraphQL(clients[-1])

    yield make
    for made_client in clients:
        await made_client.aclose()
    for app in apps:
        await app.state.engine.dispose()
        await app.state.services.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The test Redis, emptied before and after the test (skipped without one, failed under CI)."""
    client = redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    except (OSError, redis.RedisError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__}); set TEST_REDIS_URL")
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def ingest() -> Iterator[IngestServer]:
    """A local Sentry; the SDK is switched off again afterwards so that no other test sends anything."""
    server = IngestServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    sentry_sdk.get_client().close(timeout=5)
    sentry_sdk.get_global_scope().set_client(None)
    server.shutdown()
    server.server_close()
