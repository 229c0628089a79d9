"""Reads declared once, at import, that PostgreSQL runs without SQLAlchemy's per-execution work.

A repository declares such a read where it defines it (`_BY_SESSION = PreparedRead(select(...))`)
or once per repository class (`Repository.__init_subclass__`). On PostgreSQL it is compiled once
and sent straight to asyncpg: under load, SQLAlchemy's per-execution work (compiled-cache lookup,
execution context, result wrapping, the greenlet bridge) costs more CPU than the query itself.
Any other statement, one built per call included, is SQLAlchemy's to run.
"""

from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any

from sqlalchemy import Dialect, Select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
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
        # One hop into SQLAlchemy's greenlet for checkout, statement and checkin: the pool
        # may have to connect or close, which it does through the greenlet.
        records = await greenlet_spawn(self._fetch_records, engine.sync_engine, arguments, observer)
        rows = [dict(zip(self._keys, record, strict=True)) for record in records]
        for key, convert in self._converters:
            for row in rows:
                row[key] = convert(row[key])
        return rows

    def _fetch_records(self, engine: Engine, arguments: list[Any], observer: StatementObserver) -> list[Any]:
        connection = engine.raw_connection()
        started = perf_counter()
        failed = True
        try:
            driver: Any = connection.driver_connection  # asyncpg's Connection; no transaction: autocommit
            records = await_(driver.fetch(self.sql, *arguments))
            failed = False
            return records
        except Exception:
            # A failed statement (a timeout, a lost server) can leave asyncpg mid-protocol: the pool
            # drops the connection rather than lend it out so. A cancelled one (a client gone) is
            # asyncpg's to settle: it has the server cancel it before the connection's next use.
            connection.invalidate()
            raise
        finally:
            seconds = perf_counter() - started
            connection.close()
            observer.finished(self.sql, seconds, via="asyncpg", failed=failed)


def _bind_converter(compiled: SQLCompiler, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    return compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
