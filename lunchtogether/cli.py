"""`lunchtogether`: serve, migrate, export the schema, create users."""

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from alembic.config import Config
from pydantic import ValidationError

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


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        sys.exit(f"lunchtogether: refusing to start: {exc}")
    args.run(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lunchtogether", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API server (migrates first in development)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply or revert database migrations")
    migrate.add_argument("direction", nargs="?", choices=["upgrade", "downgrade"], default="upgrade")
    migrate.add_argument("revision", nargs="?", help="default: head for upgrade, -1 for downgrade")
    migrate.set_defaults(run=_migrate)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL) or write it to PATH")
    export.add_argument("path", nargs="?", type=Path)
    export.set_defaults(run=_export_schema)

    create_user = commands.add_parser(
        "create-user", help=f"create an account; the password comes from ${PASSWORD_VARIABLE} or a prompt"
    )
    create_user.add_argument("email")
    create_user.add_argument("--full-name", required=True)
    create_user.add_argument("--superuser", action="store_true")
    create_user.set_defaults(run=_create_user)

    delete_user = commands.add_parser("delete-user", help="delete an account, its sessions and its files")
    delete_user.add_argument("email")
    delete_user.set_defaults(run=_delete_user)
    return parser


def alembic_config(settings: Settings) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["settings"] = settings
    return config


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    def stopped(_signal: int, _frame: object) -> None:
        """A stop that was asked for is a success: exit 0, not "killed by SIGTERM".

        uvicorn, once it has shut down gracefully, raises the SIGTERM again for this handler.
        """
        sys.exit(0)

    signal.signal(signal.SIGTERM, stopped)
    if settings.is_development:
        command.upgrade(alembic_config(settings), "head")
    uvicorn.run(
        "lunchtogether.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only.
        proxy_headers=False,
        # The app writes its own access line, with the request id.
        access_log=False,
        server_header=False,
        # On SIGTERM: stop accepting, let the requests in flight finish (so that every answer a
        # client got stands), then run the lifespan's shutdown, which disposes of the engine.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    config = alembic_config(settings)
    if args.direction == "upgrade":
        command.upgrade(config, args.revision or "head")
    else:
        command.downgrade(config, args.revision or "-1")


def _export_schema(_settings: Settings, args: argparse.Namespace) -> None:
    sdl = export_schema()
    if args.path is None:
        sys.stdout.write(sdl)
    else:
        args.path.write_text(sdl)


def _create_user(settings: Settings, args: argparse.Namespace) -> None:
    password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass("Password: ")
    try:
        data = RegisterInput(email=args.email, password=password, full_name=args.full_name)
        user = asyncio.run(register_user(settings, data, superuser=args.superuser))
    except ValidationError as exc:
        fields = invalid_input_from_pydantic(exc).fields
        sys.exit("lunchtogether: " + "; ".join(f"{name} {message}" for name, message in fields.items()))
    except DomainError as exc:
        sys.exit(f"lunchtogether: {exc.message}")
    print(f"Created {user.email} ({user.id}){' as a superuser' if user.is_superuser else ''}.")


def _delete_user(settings: Settings, args: argparse.Namespace) -> None:
    if not asyncio.run(delete_account(settings, args.email.strip().lower())):
        sys.exit(f"lunchtogether: no account has the email {args.email!r}")
    print(f"Deleted {args.email} and their files.")


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
