"""Failures an operator can put right, and how a failure to connect or to listen reads in one line."""

import errno
import socket
import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy.engine import make_url

from lunchtogether.config import Settings

POSTGRESQL_PORT = 5432


class OperatorError(Exception):
    """A failure the operator can put right; the message is one line: what failed: what to do."""


def listen_failure(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use: stop what listens there, or pass another --port"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port}: pass a --port above 1023"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine: pass --host 127.0.0.1 or --host 0.0.0.0"
    return f"cannot listen on {host}:{port}: {exc.strerror}: pass another --host or --port"


def connection_failure(exc: BaseException, settings: Settings) -> str | None:
    """What went wrong connecting to the database and what to do, in one line; None if unknown.

    SQLAlchemy wraps the driver's error, so the whole chain of causes is searched. The URL is
    never shown whole: it may hold a password.
    """
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_failure(exc, url.database or "")
    where = f"{url.host}:{url.port or POSTGRESQL_PORT}"
    for cause in _causes(exc):
        match cause:
            case asyncpg.InvalidCatalogNameError():
                return f"database {url.database} does not exist at {where}: createdb {url.database}"
            case asyncpg.InvalidPasswordError():
                return f"PostgreSQL at {where} refused the password of {url.username}: fix it in DATABASE_URL"
            case asyncpg.InvalidAuthorizationSpecificationError():
                return f"PostgreSQL at {where} refused: {cause}: createuser {url.username}, or fix DATABASE_URL"
            case socket.gaierror():
                return f"cannot find the database host {url.host}: fix the host in DATABASE_URL"
            case ConnectionRefusedError():
                return f"nothing accepts connections at {where}: start PostgreSQL, or fix DATABASE_URL"
            case TimeoutError():
                return (
                    f"the database at {where} did not answer within {settings.database_connect_timeout:g} s: "
                    "check that it runs and can be reached, or raise DATABASE_CONNECT_TIMEOUT"
                )
            case OSError(strerror=str(reason)):
                return f"cannot reach the database at {where}: {reason}: check the network, or fix DATABASE_URL"
    return None


def _sqlite_failure(exc: BaseException, path: str) -> str | None:
    for cause in _causes(exc):
        if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
            return f"cannot open the SQLite database {path}: {cause}: check that its folder exists and is writable"
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
