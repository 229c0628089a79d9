"""Reads sent straight to asyncpg borrow SQLAlchemy's pooled connections, with the greenlet only where the pool
does IO: the pool is left as SQLAlchemy's own way would leave it, whatever happens to its connections."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

import lunchtogether.database.reads as reads
from lunchtogether.database import Database, PreparedRead, RequestDatabase, create_engine
from tests.support import make_settings

BACKEND_PID = PreparedRead(select(func.pg_backend_pid().label("pid")))
SLOW_BACKEND_PID = PreparedRead(select(func.pg_backend_pid().label("pid"), func.pg_sleep(0.3).label("slept")))


@pytest.fixture
async def engine(create_database: Callable) -> AsyncIterator[AsyncEngine]:
    """A pool of one connection and one more in overflow, on an empty database of the test's own."""
    url = await create_database("postgresql")
    engine = create_engine(make_settings(url, database_pool_size=1, database_max_overflow=1))
    yield engine
    await engine.dispose()


@pytest.fixture
def greenlet_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of what native reads ran in SQLAlchemy's greenlet."""
    hops: list[str] = []
    spawn = reads.greenlet_spawn

    async def counted(function: Callable[..., Any], *args: Any) -> Any:
        hops.append(getattr(function, "__name__", repr(function)))
        return await spawn(function, *args)

    monkeypatch.setattr(reads, "greenlet_spawn", counted)
    return hops


async def _pid(engine: AsyncEngine, read: PreparedRead = BACKEND_PID) -> int:
    [row] = await RequestDatabase(Database(engine)).fetch(read)
    return row["pid"]


async def test_an_idle_connection_is_borrowed_and_returned_without_the_greenlet(engine, greenlet_hops):
    first = await _pid(engine)  # the pool connects, in the greenlet
    assert greenlet_hops == ["_fetch_in_greenlet"]

    assert [await _pid(engine) for _ in range(3)] == [first] * 3
    assert greenlet_hops == ["_fetch_in_greenlet"]
    assert (engine.pool.checkedin(), engine.pool.checkedout()) == (1, 0)


async def test_a_connection_the_full_pool_will_not_keep_is_closed_in_the_greenlet(engine, greenlet_hops):
    await _pid(engine)
    slow = asyncio.create_task(_pid(engine, SLOW_BACKEND_PID))  # borrows the idle connection
    await asyncio.sleep(0.1)
    async with engine.connect() as other:  # an overflow connection, returned first: the pool is full again
        await other.execute(select(1))
    assert engine.pool.checkedin() == 1

    await slow

    assert greenlet_hops == ["_fetch_in_greenlet", "close"]
    assert (engine.pool.checkedin(), engine.pool.checkedout(), engine.pool.overflow()) == (1, 0, 0)


async def test_an_idle_connection_the_server_closed_is_replaced(engine, greenlet_hops):
    closed = await _pid(engine)
    admin = await asyncpg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", closed)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # asyncpg sees the socket close

    replacement = await _pid(engine)

    assert replacement != closed
    assert greenlet_hops == ["_fetch_in_greenlet", "_fetch_in_greenlet"]
    assert (engine.pool.checkedin(), engine.pool.checkedout()) == (1, 0)
    assert await _pid(engine) == replacement
    assert greenlet_hops == ["_fetch_in_greenlet", "_fetch_in_greenlet"]
