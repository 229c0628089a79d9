"""The engine, and the one session each request works in."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4
from weakref import WeakKeyDictionary

from sqlalchemy import Dialect, Executable, Select, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import await_, greenlet_spawn

from lunchtogether.config import Settings


def create_engine(settings: Settings, *, bounded_statements: bool = True) -> AsyncEngine:
    """The engine of `settings`; `bounded_statements=False` for migrations, which may wait and run long."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        pool_pre_ping=settings.database_pool_pre_ping,
        pool_recycle=settings.database_pool_recycle or -1,
        connect_args=_asyncpg_arguments(settings, bounded_statements=bounded_statements),
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _asyncpg_arguments(settings: Settings, *, bounded_statements: bool) -> dict[str, Any]:
    statement_timeout = settings.database_statement_timeout if bounded_statements else 0
    # Both bounds are asyncpg's own, on the client: they hold when the server or the network
    # says nothing at all, where a server-side `statement_timeout` would never be heard. On a
    # timeout asyncpg asks the server to cancel, and SQLAlchemy discards that connection.
    arguments: dict[str, Any] = {
        "timeout": settings.database_connect_timeout,
        "command_timeout": statement_timeout or None,
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


_REUSED = "lunchtogether_reused"


def reused[StatementT: Executable](statement: StatementT) -> StatementT:
    """Marks a read that is built once and run on every request.

    On PostgreSQL such a read is compiled once and sent straight to asyncpg: under load,
    SQLAlchemy's per-execution work (compiled-cache lookup, execution context, result
    wrapping, the greenlet bridge) cost more CPU than the query itself.
    """
    return statement.execution_options(**{_REUSED: True})


class PreparedRead:
    """A `reused` SELECT compiled for asyncpg, with SQLAlchemy's value conversions kept."""

    def __init__(self, statement: Select, compiled: SQLCompiler, dialect: Dialect) -> None:
        self._sql = compiled.string
        self._defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        self._binds = [(name, _bind_converter(compiled, name, dialect)) for name in compiled.positiontup or ()]
        self._keys = statement.selected_columns.keys()
        self._converters = [
            (key, convert)
            for key, column in statement.selected_columns.items()
            if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        ]

    @staticmethod
    def of(statement: Executable, dialect: Dialect) -> "PreparedRead | None":
        """None for what asyncpg cannot take as it is: not a SELECT, or a list parameter expanded at run time."""
        if not isinstance(statement, Select):
            return None
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler), "a SELECT compiles to SQL"
        if any(bind.expanding for bind in compiled.binds.values()):
            return None
        return PreparedRead(statement, compiled, dialect)

    def _fetch_records(self, engine: Engine, arguments: list[Any]) -> list[Any]:
        connection = engine.raw_connection()
        try:
            driver: Any = connection.driver_connection  # asyncpg's Connection; no transaction: autocommit
            return await_(driver.fetch(self._sql, *arguments))
        except Exception:
            # A failed statement (a timeout, a lost server) can leave asyncpg mid-protocol: the pool
            # drops the connection rather than lend it out so. A cancelled one (a client gone) is
            # asyncpg's to settle: it has the server cancel it before the connection's next use.
            connection.invalidate()
            raise
        finally:
            connection.close()

    async def fetch(self, engine: AsyncEngine, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Runs on a connection borrowed from `engine`'s pool for this one statement, in autocommit."""
        values = {**self._defaults, **parameters}
        arguments = [values[name] if convert is None else convert(values[name]) for name, convert in self._binds]
        # One hop into SQLAlchemy's greenlet for checkout, statement and checkin: the pool
        # may have to connect or close, which it does through the greenlet.
        records = await greenlet_spawn(self._fetch_records, engine.sync_engine, arguments)
        rows = [dict(zip(self._keys, record, strict=True)) for record in records]
        for key, convert in self._converters:
            for row in rows:
                row[key] = convert(row[key])
        return rows


def _bind_converter(compiled: SQLCompiler, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    return compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)


class Database:
    """The app's engine, and the same pool seen in autocommit for reads: both built once."""

    def __init__(self, engine: AsyncEngine, *, native_reads: bool = True) -> None:
        self.engine = engine
        # Building this costs as much as a request (it re-registers event listeners):
        # never per request.
        self.reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._native_reads = native_reads and engine.dialect.driver == "asyncpg"
        self._prepared: WeakKeyDictionary[Executable, PreparedRead | None] = WeakKeyDictionary()

    def prepared(self, statement: Executable) -> PreparedRead | None:
        """The asyncpg form of a `reused` read, compiled on first use; None where SQLAlchemy runs it."""
        if not self._native_reads or not statement.get_execution_options().get(_REUSED):
            return None
        try:
            return self._prepared[statement]
        except KeyError:
            prepared = self._prepared[statement] = PreparedRead.of(statement, self.engine.dialect)
            return prepared


class RequestDatabase:
    """The database of one request: one statement at a time, connections held only while used.

    graphql-core resolves the top-level fields of a query concurrently, and a connection
    must not be used by two tasks at once: every statement goes through `connection()`,
    which queues the callers. A read runs in autocommit on a connection borrowed for that
    statement, so a single read costs a single statement (no BEGIN/COMMIT) and nothing is
    held while the request does other work, a password hash say. In `transaction()` (a
    mutation) the first write begins a transaction on a connection kept until it commits,
    or rolls back on failure; later reads see its writes.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self.dialect_name = database.engine.dialect.name
        self._reads = database.reads
        self._writes = database.engine
        self._in_transaction = False
        self._writer: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self, *, write: bool = False) -> AsyncGenerator[AsyncConnection]:
        """Where the next statement runs; outside a transaction a write commits on its own."""
        async with self._lock:
            if write and self._in_transaction and self._writer is None:
                self._writer = await self._writes.connect()
                await self._writer.begin()
            if self._writer is not None:
                yield self._writer
                return
            async with (self._writes if write else self._reads).begin() as connection:
                yield connection

    async def fetch(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> Sequence[Mapping[str, Any]]:
        """The rows `statement` returns, each by column name."""
        prepared = None if write else self._database.prepared(statement)
        if prepared is not None:
            async with self._lock:
                if self._writer is None:  # else the read must see the transaction's writes
                    return await prepared.fetch(self._writes, parameters or {})
        async with self.connection(write=write) as connection:
            return (await connection.execute(statement, parameters)).mappings().all()

    @asynccontextmanager
    async def transaction(self) -> AsyncGenerator[None]:
        """Everything inside commits together; mutations run one at a time, never nested."""
        if self._in_transaction:
            raise RuntimeError("transactions do not nest")
        self._in_transaction = True
        try:
            yield
            if self._writer is not None:
                await self._writer.commit()
        finally:
            writer, self._writer, self._in_transaction = self._writer, None, False
            if writer is not None:
                await writer.close()  # rolls back what was not committed
