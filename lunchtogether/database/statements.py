"""Every SQL statement the app sends, by either path, seen in one place: logs, listeners, Sentry.

SQLAlchemy reports its statements through its cursor events; reads sent straight to asyncpg
(`reads.py`) report theirs themselves. Both end in `StatementObserver.finished`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any, Literal

import sentry_sdk
from sentry_sdk.consts import OP, SPANDATA
from sentry_sdk.tracing import Span
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

SQL_LOGGER = "lunchtogether.sql"
sql_log = logging.getLogger(SQL_LOGGER)

# How `create_engine` hands an engine's observer to whoever runs statements on it: an execution
# option is SQLAlchemy's way to attach a value to an engine and every connection it opens.
OBSERVER_OPTION = "lunchtogether_statement_observer"
# Where a statement SQLAlchemy is running keeps the time it started, on its execution context.
_STARTED = "_lunchtogether_started"

type StatementRoute = Literal["asyncpg", "sqlalchemy"]  # straight to asyncpg, or through SQLAlchemy


@dataclass(frozen=True, slots=True)
class ExecutedStatement:
    """What a listener learns of a statement: its SQL (parameters are never kept), how long, which way it went."""

    sql: str
    seconds: float
    via: StatementRoute
    failed: bool


type StatementListener = Callable[[ExecutedStatement], None]


class StatementObserver:
    """Logs, counts and reports to Sentry every statement run on one engine.

    Each statement is logged at DEBUG on `lunchtogether.sql`, and at WARNING when it took
    `slow_seconds` or longer, with its SQL and duration but never its parameter values, which
    can hold emails or secrets. With Sentry on it becomes a "query" breadcrumb, and a span of
    the request's transaction when tracing is on. Listeners (the tests' statement counter) hear
    of every statement. With none of these on, observing costs a few attribute lookups.
    """

    def __init__(self, *, slow_seconds: float, system: str) -> None:
        self._slow_seconds = slow_seconds
        self._system = system  # the database's name for Sentry: postgresql, sqlite
        self._listeners: list[StatementListener] = []

    @staticmethod
    def of(engine: AsyncEngine) -> "StatementObserver":
        """The observer `create_engine` gave `engine`."""
        observer = engine.get_execution_options().get(OBSERVER_OPTION)
        if not isinstance(observer, StatementObserver):
            raise TypeError("the engine was not made by lunchtogether.database.create_engine")
        return observer

    def watch(self, engine: Engine) -> None:
        """Observes the statements SQLAlchemy runs on `engine`, from the cursor's start to its end."""
        event.listen(engine, "before_cursor_execute", self._before_cursor_execute)
        event.listen(engine, "after_cursor_execute", self._after_cursor_execute)
        event.listen(engine, "handle_error", self._handle_error)

    def add_listener(self, listener: StatementListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: StatementListener) -> None:
        self._listeners.remove(listener)

    def finished(self, sql: str, seconds: float, *, via: StatementRoute, failed: bool = False) -> None:
        """Reports a statement that has just ended, after `seconds`."""
        if self._listeners:
            executed = ExecutedStatement(sql, seconds, via, failed)
            for listener in self._listeners:
                listener(executed)
        if seconds >= self._slow_seconds:
            self._log(logging.WARNING, "slow statement", sql, seconds, via, failed)
        elif sql_log.isEnabledFor(logging.DEBUG):
            self._log(logging.DEBUG, "statement", sql, seconds, via, failed)
        if sentry_sdk.get_client().is_active():
            self._report_to_sentry(sql, seconds, failed)

    @staticmethod
    def _log(level: int, what: str, sql: str, seconds: float, via: StatementRoute, failed: bool) -> None:
        duration_ms = round(seconds * 1000, 1)
        outcome = "failed after" if failed else "took"
        # One line per statement: SQLAlchemy writes its SQL over several.
        one_line = " ".join(sql.split())
        extra = {"duration_ms": duration_ms, "via": via}
        sql_log.log(level, "%s via %s %s %.1fms: %s", what, via, outcome, duration_ms, one_line, extra=extra)

    def _report_to_sentry(self, sql: str, seconds: float, failed: bool) -> None:
        data = {SPANDATA.DB_SYSTEM: self._system, "duration_ms": round(seconds * 1000, 1)}
        sentry_sdk.add_breadcrumb(category="query", message=sql, data=data, level="error" if failed else "info")
        parent = sentry_sdk.get_current_span()
        if not isinstance(parent, Span) or not parent.sampled:
            return  # tracing is off, or this request's transaction is not sent
        end = datetime.now(UTC)
        span = parent.start_child(op=OP.DB, name=sql, start_timestamp=end - timedelta(seconds=seconds))
        span.set_data(SPANDATA.DB_SYSTEM, self._system)
        if failed:
            span.set_status("internal_error")
        span.finish(end_timestamp=end)

    # --- SQLAlchemy's cursor events ------------------------------------------------------------------------------

    def _before_cursor_execute(
        self, _conn: object, _cursor: object, _sql: str, _parameters: object, context: Any, _executemany: bool
    ) -> None:
        if context is not None:
            setattr(context, _STARTED, perf_counter())

    def _after_cursor_execute(
        self, _conn: object, _cursor: object, sql: str, _parameters: object, context: Any, _executemany: bool
    ) -> None:
        self._finish_sqlalchemy(context, sql, failed=False)

    def _handle_error(self, exception_context: ExceptionContext) -> None:
        if exception_context.statement is not None:
            self._finish_sqlalchemy(exception_context.execution_context, exception_context.statement, failed=True)

    def _finish_sqlalchemy(self, context: Any, sql: str, *, failed: bool) -> None:
        started = getattr(context, _STARTED, None)
        if started is not None:  # else the statement never reached the cursor, or was reported already
            setattr(context, _STARTED, None)
            self.finished(sql, perf_counter() - started, via="sqlalchemy", failed=failed)
