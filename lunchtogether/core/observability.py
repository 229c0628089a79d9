"""Logs and Sentry: one access line per request, one Sentry event per unexpected error, no secrets in either.

Who reports what, so that an unexpected error reaches Sentry exactly once:

- an error inside `/graphql` (a resolver's, or the endpoint's own) is caught there and reported by
  `graphql.errors.report_unexpected`, which logs it and calls `capture_exception` once;
- an error that escapes the app (a middleware's) is captured by the Starlette integration's ASGI
  wrapper, the only layer that sees it;
- log records never become Sentry events (`event_level=None`): `report_unexpected` logs what it
  captures, and uvicorn logs what escapes, so letting logs through would send each error twice;
- the Strawberry integration only captures in Strawberry's own HTTP views, which we do not use
  (our endpoint calls `Schema.execute`); it adds breadcrumbs;
- domain errors (`DomainError`: bad input, auth, not found, rate limits) are answers, not faults:
  nothing reports them, and `before_send` drops one should it ever be captured.
"""

import json
import logging
import re
import time
from collections.abc import Generator, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast, override

import sentry_sdk
from sentry_sdk.integrations.asyncpg import AsyncPGIntegration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.integrations.strawberry import StrawberryIntegration

from lunchtogether.config import Settings
from lunchtogether.core.email import CONSOLE_MAIL_LOGGER
from lunchtogether.core.exceptions import DomainError
from lunchtogether.core.scrubbing import scrub, scrub_text

if TYPE_CHECKING:
    from sentry_sdk._types import Event, Hint

ACCESS_LOGGER = "lunchtogether.access"
HANDLER_NAME = "lunchtogether"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")
# uvicorn writes access lines whenever this logger has a handler, even through propagation; ours replace them.
UVICORN_ACCESS_LOGGER = "uvicorn.access"
# Loggers that write statement parameters at DEBUG: a pending message's body holds a live link.
PARAMETER_LOGGERS = ("aiosqlite",)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

access_log = logging.getLogger(ACCESS_LOGGER)
_ACCESS_LINE = "%s %s %s %s %.1fms request_id=%s user_id=%s"

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Parts of a Sentry event that describe the SDK and the installed packages (`pyjwt`), not the request.
_EVENT_KEYS_NOT_SCRUBBED = frozenset({"modules", "sdk", "debug_meta"})
# A record's own attributes, and uvicorn's copy of its message with terminal colours: not fields of a JSON line.
_NOT_EXTRA_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}

# The ASGI state of the request being served (request id, operation name, user id), for logs and Sentry.
_request_state: ContextVar[Mapping[str, Any] | None] = ContextVar("lunchtogether_request_state", default=None)


# --- the request context -----------------------------------------------------------------------------------------


@contextmanager
def request_context(state: Mapping[str, Any]) -> Generator[None]:
    """Binds a request's state to everything logged or captured while it is served.

    `state` is the ASGI scope's state, which the endpoint fills in (operation name, user id) as it
    learns them, so a log line or an event written later in the request sees them.
    """
    token = _request_state.set(state)
    try:
        yield
    except Exception:
        # The error escapes to the Starlette integration, which captures it after this context is gone.
        _pin_sentry_tags(state)
        raise
    finally:
        _request_state.reset(token)


def current_request_id() -> str | None:
    state = _request_state.get()
    return state.get("request_id") if state is not None else None


def _request_tags(state: Mapping[str, Any]) -> dict[str, str]:
    tags = {"request_id": state.get("request_id"), "graphql.operation_name": state.get("operation_name")}
    return {name: str(value) for name, value in tags.items() if value}


def _pin_sentry_tags(state: Mapping[str, Any]) -> None:
    """Puts the tags on the request's isolation scope (one per request, forked by the Starlette integration)."""
    if sentry_sdk.get_client().is_active():
        sentry_sdk.get_isolation_scope().set_tags(_request_tags(state))


def log_access(scope: MutableMapping[str, Any], status_code: int, seconds: float) -> None:
    """The one access line of a request: structured fields for JSON, and the same as readable text."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    state = scope.get("state", {})
    fields = {
        "method": scope["method"],
        "path": scope["path"],
        "operation_name": state.get("operation_name"),
        "status": status_code,
        "duration_ms": round(seconds * 1000, 1),
        "request_id": state.get("request_id"),
        "user_id": state.get("user_id"),
    }
    arguments = (
        fields["method"],
        _one_line(fields["path"]),
        _one_line(fields["operation_name"] or "-"),
        fields["status"],
        fields["duration_ms"],
        fields["request_id"] or "-",
        fields["user_id"] or "-",
    )
    if _direct_access_lines is not None and _direct_access_lines.write(_ACCESS_LINE % arguments, fields):
        return
    # Made here rather than by `info()`, which looks up the caller's file and line for every
    # request: no format prints them, and every line is this one.
    record = access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, _ACCESS_LINE, arguments, None, extra=fields
    )
    access_log.handle(record)


def _one_line(text: str) -> str:
    """The client chooses the path and the operation name: a newline in either must not forge a line."""
    return _CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


# --- logging -----------------------------------------------------------------------------------------------------


class RequestContextFilter(logging.Filter):
    """Gives every record written while a request is served that request's id."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None and (request_id := current_request_id()) is not None:
            record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector.

    A line holds the message, the fields passed as `extra` and the traceback; nothing reads the
    request, so bodies and variables never get here. Secret-named fields and secret-looking text
    are replaced all the same, as a guard against a careless `extra` or exception message.
    """

    @override
    def format(self, record: logging.LogRecord) -> str:
        return self.line(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            {key: value for key, value in record.__dict__.items() if key not in _NOT_EXTRA_FIELDS},
            exception=self.formatException(record.exc_info) if record.exc_info else None,
            stack=self.formatStack(record.stack_info) if record.stack_info else None,
        )

    @staticmethod
    def line(
        created: float,
        level: str,
        logger: str,
        message: str,
        extra: Mapping[str, Any],
        *,
        exception: str | None = None,
        stack: str | None = None,
    ) -> str:
        """The line of a record with these parts: `created` as `time.time()`, `extra` its fields."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "logger": logger,
            "message": scrub_text(message),
        }
        entry |= scrub(extra)
        if exception is not None:
            entry["exception"] = scrub_text(exception)
        if stack is not None:
            entry["stack"] = stack
        # ASCII only: a client's lone surrogate in a path must not break the stream.
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for a developer's terminal; a line written during a request names its id."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    @override
    def formatMessage(self, record: logging.LogRecord) -> str:
        line = scrub_text(super().formatMessage(record))
        request_id = getattr(record, "request_id", None)
        if request_id and record.name != ACCESS_LOGGER:  # the access line says it already
            line += f" request_id={request_id}"
        return line

    @override
    def formatException(self, ei: Any) -> str:
        return scrub_text(super().formatException(ei))


class DirectAccessLines:
    """Access lines written straight to our console handler, as it would write their records.

    An access line costs a `me` request about 75 µs of CPU under load, a sixth of it; the LogRecord
    and the logger's and handler's calls and checks are about 20 µs of that (docs/performance.md).
    They are left out only while logging is exactly as `configure_logging` left it, with JSON lines:
    no other handler or filter on the way, no patched logging class (Sentry's integration patches
    `Logger.callHandlers` for breadcrumbs), no record factory. The line is then the one the handler
    would write, made by the same `JsonFormatter.line`. Anything else, or a line that fails to be
    made or written, goes through the logging module.
    """

    def __init__(self, handler: logging.StreamHandler, formatter: JsonFormatter, context: RequestContextFilter) -> None:
        self._handler = handler
        self._formatter = formatter
        self._context = context

    def write(self, message: str, fields: dict[str, Any]) -> bool:
        """Writes the line of an access record; False where the logging module must."""
        if not self._logging_untouched():
            return False
        created = time.time_ns() / 1e9  # as a LogRecord's
        if fields["request_id"] is None:
            fields["request_id"] = current_request_id()  # as `RequestContextFilter` would
        handler = self._handler
        try:
            line = self._formatter.line(created, "INFO", ACCESS_LOGGER, message, fields)
            with handler.lock:  # ty: ignore[invalid-context-manager]
                handler.stream.write(line + handler.terminator)
                handler.flush()
        except Exception:  # noqa: BLE001 - the logging module writes it, and reports its own error
            return False
        return True

    def _logging_untouched(self) -> bool:
        handler = self._handler
        root = logging.root
        if (
            root.handlers != [handler]
            or root.filters
            or handler.filters != [self._context]
            or handler.formatter is not self._formatter
            or handler.level > logging.INFO
            or type(handler) is not logging.StreamHandler
            or logging.getLogRecordFactory() is not logging.LogRecord
            or _logging_calls() != _LOGGING_CALLS
        ):
            return False
        logger = access_log
        while logger is not root:
            if logger.handlers or logger.filters or logger.disabled or not logger.propagate:
                return False
            logger = cast(logging.Logger, logger.parent)
        return True


def _logging_calls() -> tuple[object, ...]:
    """What a record passes through on its way to a stream handler's stream."""
    return (
        logging.Logger.handle,
        logging.Logger.callHandlers,
        logging.Logger.makeRecord,
        logging.Handler.handle,
        logging.Handler.filter,
        logging.Handler.format,
        logging.StreamHandler.emit,
        logging.StreamHandler.flush,
        RequestContextFilter.filter,
        JsonFormatter.format,
    )


_LOGGING_CALLS = _logging_calls()
_direct_access_lines: DirectAccessLines | None = None


def configure_logging(settings: Settings) -> None:
    """Routes the process's logs, uvicorn's included, through one stderr handler at `LOG_LEVEL`.

    uvicorn's access lines stay off: `log_access` writes one per request, with the request id.

    JSON lines in production (or with `LOG_FORMAT=json`), readable lines in development. Calling it
    again replaces the handler rather than adding one. Plain console handlers installed before
    (`logging.basicConfig`, alembic.ini) are removed so that no line is written twice; handlers of
    other kinds (pytest's, a file) are left alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.name == HANDLER_NAME or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = _console_handler(settings)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    _write_access_lines_directly(handler, settings)
    for name in UVICORN_LOGGERS:
        # uvicorn's own config gives these handlers of their own and stops propagation.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    uvicorn_access = logging.getLogger(UVICORN_ACCESS_LOGGER)
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def _console_handler(settings: Settings) -> logging.StreamHandler:
    handler = logging.StreamHandler()
    handler.name = HANDLER_NAME
    handler.setFormatter(JsonFormatter() if _wants_json(settings) else TextFormatter())
    handler.addFilter(RequestContextFilter())
    return handler


def _write_access_lines_directly(handler: logging.StreamHandler, settings: Settings) -> None:
    """Set with the handler it writes to: both belong to the process's logging configuration."""
    global _direct_access_lines
    formatter, filters = handler.formatter, handler.filters
    _direct_access_lines = None
    if settings.log_access_direct and type(formatter) is JsonFormatter and len(filters) == 1:
        _direct_access_lines = DirectAccessLines(handler, formatter, cast(RequestContextFilter, filters[0]))


def _wants_json(settings: Settings) -> bool:
    if settings.log_format is not None:
        return settings.log_format == "json"
    return not settings.is_development


# --- Sentry ------------------------------------------------------------------------------------------------------


def init_sentry(settings: Settings) -> None:
    """Sends unexpected errors to Sentry when `SENTRY_DSN` is set; see the module docstring for who captures what."""
    if not settings.sentry_dsn:
        return
    # Its lines are whole messages with live links: not even breadcrumbs.
    ignore_logger(CONSOLE_MAIL_LOGGER)
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment.value,
        send_default_pii=False,
        include_local_variables=False,
        # The integration would otherwise read small bodies (with their passwords) before our endpoint,
        # outside its size limits; the body is never sent anyway.
        max_request_body_size="never",
        before_send=before_send,
        before_send_transaction=before_send_transaction,
        integrations=[
            StarletteIntegration(),
            StrawberryIntegration(async_execution=True),
            # Logs become breadcrumbs, never events: see the module docstring.
            LoggingIntegration(level=logging.INFO, event_level=None),
        ],
        # Statements become breadcrumbs and spans in `database/statements.py`, whichever way they
        # went; these would see only some of them, and some twice.
        disabled_integrations=[SqlalchemyIntegration, AsyncPGIntegration],
    )


def before_send(event: "Event", hint: "Hint") -> "Event | None":
    """The last look at an event: no domain errors, the request's tags, and no secrets."""
    exc_info = hint.get("exc_info")
    if exc_info and isinstance(exc_info[1], DomainError):
        return None
    _tag(event)
    return _scrubbed(event)


def before_send_transaction(event: "Event", _hint: "Hint") -> "Event | None":
    """Tracing is off; should it be turned on, transactions are scrubbed like errors."""
    return _scrubbed(event)


def _tag(event: "Event") -> None:
    tags = event.setdefault("tags", {})
    if environment := event.get("environment"):
        tags.setdefault("environment", environment)
    if (state := _request_state.get()) is not None:
        for name, value in _request_tags(state).items():
            tags.setdefault(name, value)


def _scrubbed(event: "Event") -> "Event":
    request = event.get("request")
    if isinstance(request, dict):
        # Bodies and query strings carry GraphQL variables and documents; neither is ever sent.
        for part in ("data", "query_string", "cookies"):
            request.pop(part, None)
    for frame in _frames(event):
        frame.pop("vars", None)
    scrubbed = {key: value if key in _EVENT_KEYS_NOT_SCRUBBED else scrub(value) for key, value in event.items()}
    return cast("Event", scrubbed)  # the same keys, scrubbed values


def _frames(event: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every stack frame of an event, in its exceptions and its threads."""
    for section in ("exception", "threads"):
        container = event.get(section)
        values = container.get("values", []) if isinstance(container, dict) else []
        for value in values:
            stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
            frames = stacktrace.get("frames", []) if isinstance(stacktrace, dict) else []
            yield from (frame for frame in frames if isinstance(frame, dict))
