"""The app's database, and the one each request works in: every statement of a request goes through here."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lunchtogether.database.reads import NativeRead, PreparedRead
from lunchtogether.database.statements import StatementObserver


class Database:
    """The app's engine, the same pool seen in autocommit for reads, and its statement observer: all built once."""

    def __init__(self, engine: AsyncEngine, *, native_reads: bool = True) -> None:
        self.engine = engine
        # Building this copies the engine's options and registers its event listeners again:
        # work to do once, never per request.
        self.reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.statements = StatementObserver.of(engine)
        self._native_reads = native_reads and engine.dialect.driver == "asyncpg"

    def native(self, read: PreparedRead) -> NativeRead | None:
        """The asyncpg form of `read`; None where SQLAlchemy runs it."""
        return read.native(self.engine.dialect) if self._native_reads else None


class RequestDatabase:
    """The database of one request: one statement at a time, connections held only while used.

    graphql-core resolves the top-level fields of a query concurrently, and a connection
    must not be used by two tasks at once: every statement goes through `connection()`,
    which queues the callers. A read (`fetch`) runs in autocommit on a connection borrowed
    for that statement, so a single read costs a single statement (no BEGIN/COMMIT) and
    nothing is held while the request does other work, a password hash say. In
    `transaction()` (a mutation) the first statement that asks for the transaction (a write:
    `fetch_in_transaction`, `connection(in_transaction=True)`) begins it on a connection kept
    until it commits, or rolls back on failure; from then on every read runs in it too, and
    sees its writes.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self.dialect_name = database.engine.dialect.name
        self._reads = database.reads
        self._writes = database.engine
        self._in_transaction = False
        self._writer: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._after_commit: list[Callable[[], None]] = []

    @asynccontextmanager
    async def connection(self, *, in_transaction: bool = False) -> AsyncGenerator[AsyncConnection]:
        """Where the next statement runs.

        `in_transaction` puts it in the mutation's transaction, beginning that here if it has
        not begun: what every write needs, so that a mutation commits whole or not at all.
        Outside a mutation such a statement commits on its own. Without it the statement is a
        read, in the transaction only once that has begun, else alone in autocommit.
        """
        async with self._lock:
            if in_transaction and self._in_transaction and self._writer is None:
                self._writer = await _checkout(self._writes)
                await self._writer.begin()  # cancelled here, `transaction()` still closes it
            if self._writer is not None:
                yield self._writer
                return
            connection = await _checkout(self._writes if in_transaction else self._reads)
            try:
                async with connection.begin():
                    yield connection
            finally:
                await asyncio.shield(connection.close())

    async def fetch(
        self, statement: Executable | PreparedRead, parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Mapping[str, Any]]:
        """The rows a read returns, each by column name: in the transaction once one has begun, so that
        it sees the mutation's writes, else alone in autocommit."""
        if isinstance(statement, PreparedRead):
            native = self._database.native(statement)
            if native is not None:
                async with self._lock:
                    if self._writer is None:  # else the read must see the transaction's writes
                        return await native.fetch(self._writes, parameters or {}, self._database.statements)
            statement = statement.statement
        async with self.connection() as connection:
            return (await connection.execute(statement, parameters)).mappings().all()

    async def fetch_in_transaction(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Mapping[str, Any]]:
        """The rows a statement of the mutation's transaction returns: a write's RETURNING, or a
        read that must be part of the transaction (`SELECT … FOR UPDATE`). See `connection`."""
        async with self.connection(in_transaction=True) as connection:
            return (await connection.execute(statement, parameters)).mappings().all()

    async def execute_aside(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> None:
        """A write of bookkeeping (a session's last use) that must not begin a mutation's transaction:
        the connection would then be held through whatever the mutation does next, a password hash
        say. Alone in autocommit, or in the transaction once that has begun (a second connection
        could wait on the transaction's own row locks)."""
        async with self.connection() as connection:
            await connection.execute(statement, parameters)

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
            callbacks = self._after_commit
        finally:
            writer, self._writer, self._in_transaction = self._writer, None, False
            self._after_commit = []
            if writer is not None:
                await writer.close()  # rolls back what was not committed
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Calls `callback` once what was written so far is committed: at the end of `transaction()`, and
        never if it rolls back; outside one, at once (each write has committed on its own).

        For telling others about rows they can now see, such as the delivery loop about a new message.
        """
        if self._in_transaction:
            self._after_commit.append(callback)
        else:
            callback()


async def _checkout(engine: AsyncEngine) -> AsyncConnection:
    """A connection from the pool, handed out whole even when the caller is cancelled meanwhile.

    graphql-core cancels the sibling fields of a non-null field that failed, wherever they are.
    SQLAlchemy's own checkout can be cancelled after the pool lent the connection and before
    anyone holds it (aiosqlite awaits its thread there, to set the isolation level), leaving a
    connection that nobody returns. Here the checkout finishes in a task of its own, and a
    cancelled caller closes what it brought back before passing the cancellation on.
    """
    checkout = asyncio.ensure_future(engine.connect().start())
    try:
        return await asyncio.shield(checkout)
    except asyncio.CancelledError:
        await asyncio.wait({checkout})
        if not checkout.cancelled() and checkout.exception() is None:
            await checkout.result().close()
        raise
