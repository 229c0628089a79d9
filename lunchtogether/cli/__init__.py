"""`lunchtogether`: serve, migrate, export the schema, create and delete users."""

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from lunchtogether.cli import accounts, migrations, schema, serve
from lunchtogether.cli.accounts import PASSWORD_VARIABLE, delete_account, register_user
from lunchtogether.cli.failures import OperatorError
from lunchtogether.cli.migrations import alembic_config
from lunchtogether.config import SettingsError, get_settings

__all__ = ["PASSWORD_VARIABLE", "alembic_config", "delete_account", "main", "register_user"]


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

    server = commands.add_parser("serve", help="run the API server (migrates first in development)")
    server.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)")
    server.add_argument("--port", type=_port, default=8000, help="the port, 1..65535 (default: %(default)s)")
    server.add_argument("--reload", action="store_true", help="restart on code changes, for development (default: off)")
    server.add_argument(
        "--workers", type=_positive, default=1, help="server processes sharing the port (default: %(default)s)"
    )
    server.set_defaults(run=serve.serve)

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
    migrate.set_defaults(run=migrations.migrate)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL) or write it to PATH")
    export.add_argument("path", nargs="?", type=Path, help="the file to write (default: print it)")
    export.set_defaults(run=schema.write_schema)

    create_user = commands.add_parser(
        "create-user", help=f"create an account; the password comes from ${PASSWORD_VARIABLE} or a prompt"
    )
    create_user.add_argument("email", help="the account's email, which it signs in with")
    create_user.add_argument("--full-name", required=True, help="the name shown to others (required)")
    create_user.add_argument("--superuser", action="store_true", help="give the account every right (default: off)")
    create_user.set_defaults(run=accounts.create_user)

    delete_user = commands.add_parser("delete-user", help="delete an account, its sessions and its files")
    delete_user.add_argument("email", help="the account's email")
    delete_user.add_argument("--yes", action="store_true", help="delete without asking (default: ask)")
    delete_user.set_defaults(run=accounts.delete_user)
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
