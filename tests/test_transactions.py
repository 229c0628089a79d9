"""Every mutation runs in a transaction without asking: it commits whole or not at all."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from strawberry import Info
from strawberry.extensions import FieldExtension
from strawberry.types.base import get_object_definition

from lunchtogether.database import Database, RequestDatabase
from lunchtogether.dependencies import Dependencies
from lunchtogether.graphql.extensions import Transactional, transactional
from lunchtogether.graphql.schema import build_schema
from lunchtogether.models import User
from lunchtogether.repositories.user import UserRepository


def test_every_mutation_field_of_the_live_schema_runs_in_a_transaction(settings):
    mutation_type = build_schema(settings)._schema.mutation_type
    assert mutation_type is not None

    fields = {
        name: field.extensions["strawberry-definition"].extensions for name, field in mutation_type.fields.items()
    }

    assert "register" in fields
    assert {name for name, extensions in fields.items() if not _transactional(extensions)} == set()


def test_transactional_comes_last_so_it_wraps_a_fields_other_extensions():
    @transactional
    @strawberry.type
    class Mutation:
        @strawberry.mutation(extensions=[_Noted()])
        async def noted(self) -> bool:
            return True

    (field,) = get_object_definition(Mutation, strict=True).fields

    assert [type(extension) for extension in field.extensions] == [_Noted, Transactional]


class _Noted(FieldExtension):
    """Another extension, which only passes the call on."""

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any) -> Any:
        return await next_(source, info, **kwargs)


def _transactional(extensions: list[object]) -> bool:
    return any(isinstance(extension, Transactional) for extension in extensions)


@strawberry.type
class _Query:
    ok: bool = True


def _fails_after_a_write() -> type:
    """A new Mutation type each time, so that `transactional` changes no other test's."""

    @strawberry.type(name="Mutation")
    class FailsAfterAWrite:
        @strawberry.mutation
        async def register_then_fail(self, info: Info, email: str) -> bool:
            await info.context.deps.users.create({"email": email, "hashed_password": "x", "full_name": "Half"})
            raise RuntimeError("failed after the write")

    return FailsAfterAWrite


@dataclass
class _Context:
    deps: Dependencies


async def _run_failing_mutation(mutation_type: type, app: Starlette, engine: AsyncEngine) -> int:
    """Runs the mutation on the app's database; how many users it left behind."""
    schema = strawberry.Schema(query=_Query, mutation=mutation_type)
    context = _Context(deps=Dependencies(RequestDatabase(Database(engine)), app.state.services))

    result = await schema.execute('mutation { registerThenFail(email: "half@example.com") }', context_value=context)

    assert result.errors is not None
    assert result.errors[0].message == "failed after the write"
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(User))).scalar_one()


async def test_a_mutation_that_fails_after_a_write_leaves_nothing_committed(app, engine):
    left_behind = await _run_failing_mutation(transactional(_fails_after_a_write()), app, engine)

    assert left_behind == 0


async def test_without_the_transaction_the_same_mutation_half_commits(app, engine):
    """What `transactional` prevents: each write would commit on its own."""
    left_behind = await _run_failing_mutation(_fails_after_a_write(), app, engine)

    assert left_behind == 1


async def _emails(engine: AsyncEngine) -> list[str]:
    """The users' emails as another connection sees them: committed rows only."""
    async with engine.connect() as connection:
        return list((await connection.execute(select(User.email))).scalars())


async def test_reads_join_the_transaction_once_a_write_has_begun_it(engine):
    db = RequestDatabase(Database(engine))
    users = UserRepository(db)

    async with db.transaction():
        assert await users.get_by_email("ann@example.com") is None  # before any write: alone, in autocommit
        created = await users.create({"email": "ann@example.com", "hashed_password": "x", "full_name": "Ann"})
        assert await users.get_by_id(created.id) == created  # in the transaction: sees its uncommitted write
        assert await _emails(engine) == []
    assert await _emails(engine) == ["ann@example.com"]
