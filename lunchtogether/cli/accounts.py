"""`lunchtogether create-user` and `delete-user`: accounts made and removed outside any request."""

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager

from pydantic import ValidationError

from lunchtogether.cli.failures import OperatorError
from lunchtogether.cli.migrations import require_head
from lunchtogether.config import Settings
from lunchtogether.core.exceptions import DomainError, invalid_input_from_pydantic
from lunchtogether.database import Database, RequestDatabase, create_engine
from lunchtogether.dependencies import Dependencies, Services
from lunchtogether.schemas.user import UserResponse
from lunchtogether.workflows.user.delete_user import DeleteUserInput
from lunchtogether.workflows.user.register import RegisterInput

PASSWORD_VARIABLE = "LUNCHTOGETHER_PASSWORD"


def create_user(settings: Settings, args: argparse.Namespace) -> None:
    require_head(settings)
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


def delete_user(settings: Settings, args: argparse.Namespace) -> None:
    require_head(settings)
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
        output = await deps.delete_user().execute(DeleteUserInput(user_id=user.id), actor=None) if user else None
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
