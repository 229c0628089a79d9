"""The engine, and the one session each request works in."""

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from lunchtogether.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        connect_args=_asyncpg_arguments(settings),
    )


def _asyncpg_arguments(settings: Settings) -> dict[str, Any]:
    if not settings.database_pgbouncer:
        return {}
    # PgBouncer in transaction mode hands each transaction to any server connection,
    # where a named prepared statement from an earlier transaction does not exist.
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
    }


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


class RequestDatabase:
    """The one session of a request, lent to one task at a time.

    graphql-core resolves the top-level fields of a query concurrently, and an
    AsyncSession must not be used by two tasks at once: every statement goes
    through `session()`, which queues the callers.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._session = sessionmaker()
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def session(self) -> AsyncGenerator[AsyncSession]:
        async with self._lock:
            yield self._session

    async def commit(self) -> None:
        async with self._lock:
            await self._session.commit()

    async def rollback(self) -> None:
        async with self._lock:
            await self._session.rollback()

    async def close(self) -> None:
        await self._session.close()
