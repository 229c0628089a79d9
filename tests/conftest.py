"""Every test runs against a real PostgreSQL (a database made for this run) and again on SQLite."""

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette

from alembic import command
from lunchtogether.cli import alembic_config
from lunchtogether.config import Settings, load_settings
from lunchtogether.database import ExecutedStatement, StatementObserver
from lunchtogether.main import create_app
from lunchtogether.models import Base
from tests.support import GraphQL

UPLOAD_DIR = tempfile.mkdtemp(prefix="lunchtogether-test-uploads-")
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-signing"


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
    }
    return load_settings(**(values | overrides))


@pytest.fixture(scope="session", params=["postgresql", "sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
async def create_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Callable]:
    """Makes empty databases for this run and drops them all at its end."""
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    async def create(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        name = f"lunchtogether_test_{uuid.uuid4().hex[:12]}"
        try:
            async with asyncio.timeout(10), admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        except (OSError, TimeoutError, SQLAlchemyError) as exc:
            reason = f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}); set TEST_DATABASE_URL"
            if os.environ.get("CI"):
                pytest.fail(f"CI needs PostgreSQL: {reason}")
            pytest.skip(reason)
        created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    yield create
    async with admin.connect() as connection:
        for name in created:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def migrate(settings: Settings, revision: str = "head", *, downgrade: bool = False) -> None:
    config = alembic_config(settings)
    config.attributes["configure_logger"] = False
    step = command.downgrade if downgrade else command.upgrade
    # env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(step, config, revision)


@pytest.fixture
async def postgresql_database(create_database: Callable) -> str:
    """A migrated PostgreSQL database of the test's own, for what only a database server has
    (outages, advisory locks, several server processes): such tests run once, not per backend."""
    url = await create_database("postgresql")
    await migrate(make_settings(url))
    return url


@pytest.fixture(scope="session")
async def settings(backend: str, create_database: Callable) -> Settings:
    settings = make_settings(await create_database(backend))
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


@pytest.fixture
async def client(app: Starlette, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
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
async def make_app(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[Callable]:
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


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
