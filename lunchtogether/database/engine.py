"""The engine: its pool, its bounds on every wait, and whether the database answers."""

import asyncio
from collections.abc import Generator
from typing import Any
from uuid import uuid4

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from lunchtogether.config import Settings
from lunchtogether.database.statements import OBSERVER_OPTION, StatementObserver


def create_engine(settings: Settings, *, bounded_statements: bool = True) -> AsyncEngine:
    """The engine of `settings`, every statement on it observed (`statements.py`).

    `bounded_statements=False` for migrations, which may wait and run long. Parameter values are
    left out of SQLAlchemy's error messages and statement logs (`hide_parameters`): they hold
    emails, password hashes and pending messages with their links, and errors reach logs and Sentry.
    """
    url = settings.sqlalchemy_url
    sqlite = url.startswith("sqlite")
    observer = StatementObserver(
        slow_seconds=settings.database_slow_query_seconds, system="sqlite" if sqlite else "postgresql"
    )
    if sqlite:
        engine = create_async_engine(
            url,
            connect_args={"timeout": 15},
            execution_options={OBSERVER_OPTION: observer},
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    else:
        engine = create_async_engine(
            url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout,
            pool_pre_ping=settings.database_pool_pre_ping,
            pool_recycle=settings.database_pool_recycle or -1,
            connect_args=_asyncpg_arguments(settings, bounded_statements=bounded_statements),
            execution_options={OBSERVER_OPTION: observer},
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    observer.watch(engine.sync_engine)
    return engine


def _asyncpg_arguments(settings: Settings, *, bounded_statements: bool) -> dict[str, Any]:
    statement_timeout = settings.database_statement_timeout if bounded_statements else 0
    # Both bounds are asyncpg's own, on the client: they hold when the server or the network
    # says nothing at all, where a server-side `statement_timeout` would never be heard. On a
    # timeout asyncpg asks the server to cancel, and SQLAlchemy discards that connection.
    arguments: dict[str, Any] = {
        "timeout": settings.database_connect_timeout,
        "command_timeout": statement_timeout or None,
        "async_creator_fn": _Connect,
    }
    if not settings.database_pgbouncer:
        return arguments
    # PgBouncer in transaction mode hands each transaction to any server connection,
    # where a named prepared statement from an earlier transaction does not exist.
    return arguments | {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
    }


class _Connect:
    """`asyncpg.connect(...)`, as SQLAlchemy calls it, begun only once awaited.

    Reads borrow pooled connections outside SQLAlchemy's greenlet where the pool needs no IO
    (`reads.py`). Where it does need some after all (to replace a closed connection), SQLAlchemy
    refuses to await the connect there and drops it: dropped unbegun, it leaves no coroutine
    that was never awaited, and no warning of one in the log.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs

    def __await__(self) -> Generator[Any, None, asyncpg.Connection]:
        return asyncpg.connect(*self._args, **self._kwargs).__await__()


def _refuse_closed_connection(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: object) -> None:
    """Hands out no pooled connection the server has already closed (a restart, an idle kill).

    asyncpg notices a closed socket on its own, so this costs no round trip, unlike
    pre-ping: the pool replaces the connection before the request ever sees it.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


class Readiness:
    """Whether the database answers, decided within `patience` whatever it does.

    The ping is a task the check stops waiting for: cancelling it instead would make the
    request wait again, for the driver to give a frozen connection up. It ends by itself
    within the connect and statement timeouts; meanwhile later checks wait on the same ping
    rather than pile up.
    """

    def __init__(self, engine: AsyncEngine, *, patience: float) -> None:
        self._engine = engine
        self._patience = patience
        self._ping: asyncio.Task[None] | None = None

    async def failure(self) -> str | None:
        """None when the database answered; else why it did not."""
        if self._ping is None or self._ping.done():
            self._ping = asyncio.create_task(ping(self._engine))
            self._ping.add_done_callback(_read_failure)
        current = self._ping
        await asyncio.wait({current}, timeout=self._patience)
        if not current.done():
            return f"no answer within {self._patience:g} s"
        if current.cancelled():
            return "cancelled"
        failure = current.exception()
        return None if failure is None else type(failure).__name__


def _read_failure(task: asyncio.Task[None]) -> None:
    """A ping nobody waited for to the end still has its failure read, so asyncio logs nothing."""
    if not task.cancelled():
        task.exception()
