"""`lunchtogether`: serve, migrate, export the schema, create and delete users."""

import argparse
import asyncio
import errno
import getpass
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import asyncpg
import uvicorn
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from alembic import command
from lunchtogether.config import Settings, SettingsError, get_settings
from lunchtogether.core.exceptions import DomainError, invalid_input_from_pydantic
from lunchtogether.database import Database, RequestDatabase, create_engine
from lunchtogether.dependencies import Dependencies, Services
from lunchtogether.graphql.schema import export_schema
from lunchtogether.schemas.user import UserResponse
from lunchtogether.workflows.user.delete_user import DeleteUserInput
from lunchtogether.workflows.user.register import RegisterInput

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSWORD_VARIABLE = "LUNCHTOGETHER_PASSWORD"
POSTGRESQL_PORT = 5432
BASE_REVISION = "base"
# With --workers, uvicorn pings every worker and replaces one that does not answer in time. A
# worker it has just spawned imports the whole app again first, which on a loaded machine can
# take longer than uvicorn's default of 5 s: the workers were then killed and restarted in a loop.
WORKER_HEALTH_CHECK_SECONDS = 30


class OperatorError(Exception):
    """A failure the operator can put right; the message is one line: what failed: what to do."""


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        sys.exit(f"lunchtogether: refusing to start: {exc}")
    try:
        args.run(settings, args)
    except OperatorError as exc:
        if args.debug or settings.log_level == "DEBUG":
            raise
        sys.exit(f"lunchtogether: {exc}")


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too, like every other failure of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"lunchtogether: {message}: see `{self.prog} --help`\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lunchtogether", description=__doc__)
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of a failure (default: off; LOG_LEVEL=DEBUG too)"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API server (migrates first in development)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8000, help="the port, 1..65535 (default: %(default)s)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes, for development (default: off)")
    serve.add_argument(
        "--workers", type=_positive, default=1, help="server processes sharing the port (default: %(default)s)"
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply or revert database migrations")
    migrate.add_argument(
        "direction",
        nargs="?",
        choices=["upgrade", "downgrade"],
        default="upgrade",
        help="which way (default: %(default)s)",
    )
    migrate.add_argument(
        "revision", nargs="?", help="where to go (default: head for upgrade, -1, one step back, for downgrade)"
    )
    migrate.set_defaults(run=_migrate)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL) or write it to PATH")
    export.add_argument("path", nargs="?", type=Path, help="the file to write (default: print it)")
    export.set_defaults(run=_export_schema)

    create_user = commands.add_parser(
        "create-user", help=f"create an account; the password comes from ${PASSWORD_VARIABLE} or a prompt"
    )
    create_user.add_argument("email", help="the account's email, which it signs in with")
    create_user.add_argument("--full-name", required=True, help="the name shown to others (required)")
    create_user.add_argument("--superuser", action="store_true", help="give the account every right (default: off)")
    create_user.set_defaults(run=_create_user)

    delete_user = commands.add_parser("delete-user", help="delete an account, its sessions and its files")
    delete_user.add_argument("email", help="the account's email")
    delete_user.add_argument("--yes", action="store_true", help="delete without asking (default: ask)")
    delete_user.set_defaults(run=_delete_user)
    return parser


def _port(text: str) -> int:
    port = _integer(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range: a port is 1..65535")
    return port


def _positive(text: str) -> int:
    number = _integer(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not a positive number")
    return number


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def alembic_config(settings: Settings, *, log: bool = True) -> Config:
    """`log=False`: alembic's own lines stay off, as `migrate` reports what it did itself."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["settings"] = settings
    config.attributes["configure_logger"] = log
    return config


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    def stopped(_signal: int, _frame: object) -> None:
        """A stop that was asked for is a success: exit 0, not "killed by SIGTERM".

        uvicorn, once it has shut down gracefully, raises the SIGTERM again for this handler.
        """
        sys.exit(0)

    signal.signal(signal.SIGTERM, stopped)
    _check_can_listen(args.host, args.port)
    if settings.is_development:
        print(_migrate_and_report(settings, "head", upgrade=True, debug=args.debug), flush=True)
    uvicorn.run(
        "lunchtogether.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        timeout_worker_healthcheck=WORKER_HEALTH_CHECK_SECONDS,
        # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only.
        proxy_headers=False,
        # The app writes its own access line, with the request id.
        access_log=False,
        server_header=False,
        # On SIGTERM: stop accepting, let the requests in flight finish (so that every answer a
        # client got stands), then run the lifespan's shutdown, which disposes of the engine.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def _check_can_listen(host: str, port: int) -> None:
    """uvicorn binds the socket itself and reports a failure at length; this says it in one line.

    The probe binds as uvicorn does (SO_REUSEADDR, so a port in TIME_WAIT is free) and lets go.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except socket.gaierror:
        raise OperatorError(f"cannot find the address {host}: pass --host 127.0.0.1 or --host 0.0.0.0") from None
    except OSError as exc:
        raise OperatorError(_listen_failure(exc, host, port)) from exc


def _listen_failure(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use: stop what listens there, or pass another --port"
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port}: pass a --port above 1023"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine: pass --host 127.0.0.1 or --host 0.0.0.0"
    return f"cannot listen on {host}:{port}: {exc.strerror}: pass another --host or --port"


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    upgrade = args.direction == "upgrade"
    target = args.revision or ("head" if upgrade else "-1")
    print(_migrate_and_report(settings, target, upgrade=upgrade, debug=args.debug))


def _migrate_and_report(settings: Settings, target: str, *, upgrade: bool, debug: bool) -> str:
    """Migrates to `target` and says what changed, e.g. "Upgraded the database from 0001 to 0003."."""
    config = alembic_config(settings, log=debug)
    before = database_revision(settings)
    try:
        (command.upgrade if upgrade else command.downgrade)(config, target)
    except (CommandError, RevisionError) as exc:
        raise OperatorError(f"cannot migrate to {target}: {exc}: `uv run alembic history` lists the revisions") from exc
    after = database_revision(settings)
    if after != before:
        return f"{'Upgraded' if upgrade else 'Downgraded'} the database from {before} to {after}."
    if after == _head(config):
        return f"The database is already at head ({after})."
    return f"The database is already at {after}."


def _head(config: Config) -> str:
    return _revision_label(tuple(ScriptDirectory.from_config(config).get_heads()))


def database_revision(settings: Settings) -> str:
    """The revision the database is at ("base" when it has none), or a one-line failure to connect."""
    try:
        return asyncio.run(_read_revision(settings))
    except (OSError, SQLAlchemyError) as exc:  # TimeoutError is an OSError
        if (reason := _connection_failure(exc, settings)) is None:
            raise
        raise OperatorError(reason) from exc


async def _read_revision(settings: Settings) -> str:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return _revision_label(await connection.run_sync(_current_heads))
    finally:
        await engine.dispose()


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def _revision_label(heads: tuple[str, ...]) -> str:
    return ", ".join(heads) or BASE_REVISION


def _connection_failure(exc: BaseException, settings: Settings) -> str | None:
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


def _require_head(settings: Settings) -> None:
    """An operator command on a database that is not migrated would fail with a missing table."""
    current, head = database_revision(settings), _head(alembic_config(settings, log=False))
    if current != head:
        raise OperatorError(f"the database is at {current}, not at {head}: run `lunchtogether migrate` first")


def _export_schema(_settings: Settings, args: argparse.Namespace) -> None:
    sdl = export_schema()
    if args.path is None:
        sys.stdout.write(sdl)
        return
    try:
        args.path.write_text(sdl)
    except OSError as exc:
        raise OperatorError(f"cannot write {args.path}: {exc.strerror}: pass a path in a folder that exists") from exc


def _create_user(settings: Settings, args: argparse.Namespace) -> None:
    _require_head(settings)
    try:
        data = RegisterInput(email=args.email, password=_new_password(), full_name=args.full_name)
        user = asyncio.run(register_user(settings, data, superuser=args.superuser))
    except ValidationError as exc:
        fields = invalid_input_from_pydantic(exc).fields
        raise OperatorError("; ".join(f"{name} {message}" for name, message in fields.items())) from exc
    except DomainError as exc:
        raise OperatorError(exc.message) from exc
    print(f"Created {user.email} ({user.id}){' as a superuser' if user.is_superuser else ''}.")


def _new_password() -> str:
    """From the environment (for scripts), or typed twice, so that a typo does not lock the account."""
    if password := os.environ.get(PASSWORD_VARIABLE):
        return password
    password = _ask(getpass.getpass, "Password: ")
    if _ask(getpass.getpass, "Repeat the password: ") != password:
        raise OperatorError("the two passwords differ: run create-user again")
    return password


def _ask(read: Callable[[str], str], prompt: str) -> str:
    try:
        return read(prompt)
    except EOFError:
        raise OperatorError(f"no answer to {prompt.strip()!r}: run this in a terminal, or see --help") from None


def _delete_user(settings: Settings, args: argparse.Namespace) -> None:
    _require_head(settings)
    email = args.email.strip().lower()
    if not args.yes and not _confirmed(f"Delete {email}, their sessions and files? [y/N] "):
        raise OperatorError("nothing was deleted: answer y to delete")
    if not asyncio.run(delete_account(settings, email)):
        raise OperatorError(f"no account has the email {args.email!r}: check the spelling")
    print(f"Deleted {email} and their files.")


def _confirmed(question: str) -> bool:
    if not sys.stdin.isatty():
        raise OperatorError("delete-user asks before it deletes, and there is no terminal to ask on: pass --yes")
    return _ask(input, question).strip().lower() in {"y", "yes"}


async def delete_account(settings: Settings, email: str) -> bool:
    """Deletes an account by email outside any request, as `delete-user` does."""
    async with _operator_transaction(settings) as deps:
        user = await deps.users.get_by_email(email)
        output = await deps.delete_user().execute(DeleteUserInput(user_id=user.id)) if user else None
    return output is not None and output.deleted


async def register_user(settings: Settings, data: RegisterInput, *, superuser: bool = False) -> UserResponse:
    """Creates an account outside any request, as `create-user` does."""
    async with _operator_transaction(settings) as deps:
        output = await deps.register().execute(data, client_ip=None, superuser=superuser)
    return output.user


@asynccontextmanager
async def _operator_transaction(settings: Settings) -> AsyncGenerator[Dependencies]:
    """What a request would get, for an operator's command: its writes commit together."""
    services = Services.from_settings(settings)
    engine = create_engine(settings)
    db = RequestDatabase(Database(engine, native_reads=settings.database_native_reads))
    try:
        async with db.transaction():
            yield Dependencies(db, services)
    finally:
        await engine.dispose()
        await services.close()
