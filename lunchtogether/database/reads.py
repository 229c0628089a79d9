"""Reads declared once, at import, that PostgreSQL runs without SQLAlchemy's per-execution work.

A repository declares such a read where it defines it (`_BY_SESSION = PreparedRead(select(...))`)
or once per repository class (`Repository.__init_subclass__`). On PostgreSQL it is compiled once
and sent straight to asyncpg: under load, SQLAlchemy's per-execution work (compiled-cache lookup,
execution context, result wrapping, the greenlet bridge) costs more CPU than the query itself.
Any other statement, one built per call included, is SQLAlchemy's to run.

The connection comes from SQLAlchemy's pool. Where the pool can lend it and take it back without
IO (an idle connection, no pre-ping; room in the pool to keep it), that happens right in the
request's task; anything else (connecting, pinging, closing) happens in SQLAlchemy's greenlet,
the only place its pool may do IO. A greenlet hop per read was a tenth of a page's CPU.
"""

import asyncio
from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any, cast

from sqlalchemy import Dialect, Select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import await_, greenlet_spawn

from lunchtogether.database.statements import StatementObserver


class PreparedRead:
    """A SELECT built once and run on every request with new parameters.

    Where native reads are off (`DATABASE_NATIVE_READS`, or not PostgreSQL) SQLAlchemy runs
    `statement` like any other, which is how the tests prove both ways give the same rows.
    """

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._dialect: Dialect | None = None
        self._native: NativeRead | None = None

    def native(self, dialect: Dialect) -> "NativeRead | None":
        """The asyncpg form for `dialect`, compiled on first use; None where SQLAlchemy must run it.

        An app has one dialect, so one form is kept: another engine's (a test's) compiles its own.
        """
        if self._dialect is not dialect:
            self._native = NativeRead.compile(self.statement, dialect)
            self._dialect = dialect
        return self._native


class NativeRead:
    """A SELECT compiled for asyncpg, with SQLAlchemy's value conversions kept."""

    def __init__(self, statement: Select, compiled: SQLCompiler, dialect: Dialect) -> None:
        self.sql = compiled.string
        self._defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        self._binds = [(name, _bind_converter(compiled, name, dialect)) for name in compiled.positiontup or ()]
        self._keys = statement.selected_columns.keys()
        self._converters = [
            (key, convert)
            for key, column in statement.selected_columns.items()
            if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        ]

    @staticmethod
    def compile(statement: Select, dialect: Dialect) -> "NativeRead | None":
        """None for what asyncpg cannot take as it is: a list parameter expanded at run time."""
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler), "a SELECT compiles to SQL"
        if any(bind.expanding for bind in compiled.binds.values()):
            return None
        return NativeRead(statement, compiled, dialect)

    async def fetch(
        self, engine: AsyncEngine, parameters: Mapping[str, Any], observer: StatementObserver
    ) -> list[dict[str, Any]]:
        """Runs on a connection borrowed from `engine`'s pool for this one statement, in autocommit."""
        values = {**self._defaults, **parameters}
        arguments = [values[name] if convert is None else convert(values[name]) for name, convert in self._binds]
        connection = _borrow_without_io(engine.sync_engine)
        if connection is None:
            records = await greenlet_spawn(self._fetch_in_greenlet, engine.sync_engine, arguments, observer)
        else:
            try:
                records = await self._fetch_records(connection, arguments, observer)
            except Exception:
                await greenlet_spawn(connection.invalidate)  # see `_fetch_in_greenlet`
                raise
            finally:
                await _give_back(connection, engine.sync_engine)
        rows = [dict(zip(self._keys, record, strict=True)) for record in records]
        for key, convert in self._converters:
            for row in rows:
                row[key] = convert(row[key])
        return rows

    def _fetch_in_greenlet(self, engine: Engine, arguments: list[Any], observer: StatementObserver) -> list[Any]:
        """Checkout, statement and checkin in SQLAlchemy's greenlet, where the pool may do IO."""
        connection = engine.raw_connection()
        try:
            return await_(self._fetch_records(connection, arguments, observer))
        except Exception:
            # A failed statement (a timeout, a lost server) can leave asyncpg mid-protocol: the pool
            # drops the connection rather than lend it out so. A cancelled one (a client gone) is
            # asyncpg's to settle: it has the server cancel it before the connection's next use.
            connection.invalidate()
            raise
        finally:
            connection.close()

    async def _fetch_records(
        self, connection: PoolProxiedConnection, arguments: list[Any], observer: StatementObserver
    ) -> list[Any]:
        started = perf_counter()
        failed = True
        try:
            driver: Any = connection.driver_connection  # asyncpg's Connection; no transaction: autocommit
            records = await driver.fetch(self.sql, *arguments)
            failed = False
            return records
        finally:
            observer.finished(self.sql, perf_counter() - started, via="asyncpg", failed=failed)


def _borrow_without_io(engine: Engine) -> PoolProxiedConnection | None:
    """A connection the pool lends without IO: an idle one, unpinged. None where only SQLAlchemy's
    greenlet may borrow one: none idle (the pool would connect), pre-ping on, another kind of pool."""
    pool = engine.pool
    if type(pool) is not AsyncAdaptedQueuePool or pool._pre_ping or pool.checkedin() == 0:
        return None
    try:
        return engine.raw_connection()
    except MissingGreenlet:
        # It needed IO after all: the idle connection was closed, invalidated or too old, and the pool
        # tried to connect anew. That failed as any connect can fail, so the pool holds the connection
        # as invalid, to connect again in the greenlet, where the caller now borrows one.
        return None


async def _give_back(connection: PoolProxiedConnection, engine: Engine) -> None:
    """Returns a connection that `_borrow_without_io` lent; in SQLAlchemy's greenlet where the pool is
    full and closes it rather than keep it (an overflow connection), which is IO."""
    pool = cast(AsyncAdaptedQueuePool, engine.pool)  # the only pool `_borrow_without_io` lends from
    if pool.checkedin() < pool.size():
        connection.close()  # nothing awaits between the check and this: no other task fills the pool
    else:
        await asyncio.shield(greenlet_spawn(connection.close))


def _bind_converter(compiled: SQLCompiler, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    return compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
