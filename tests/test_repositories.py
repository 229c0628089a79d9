"""The repository layer on a real database: what the workflows rely on."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from lunchtogether.core.exceptions import ConflictError
from lunchtogether.database import Database, ExecutedStatement, RequestDatabase, StatementObserver
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.pagination import Keyset


@pytest.fixture
def users(engine):
    return UserRepository(RequestDatabase(Database(engine)))


def _values(email: str) -> dict[str, str]:
    return {"email": email, "hashed_password": "x", "full_name": "Someone"}


async def test_a_duplicate_email_is_a_conflict_even_past_the_exists_check(users):
    """What a registration that lost the race meets: the unique index, not the pre-check."""
    await users.create(_values("ann@example.com"))

    with pytest.raises(ConflictError, match="already exists"):
        await users.create(_values("ann@example.com"))


async def test_crud_round_trip(users):
    created = await users.create(_values("ann@example.com"))

    assert await users.get_by_id(created.id) == created
    assert await users.get_by_email("ann@example.com") == created
    assert await users.exists_by_email("ann@example.com")
    assert not await users.exists_by_email("bob@example.com")
    updated = await users.update(created.id, {"full_name": "Ann"})
    assert updated is not None
    assert updated.full_name == "Ann"
    assert updated.updated_at >= created.updated_at
    assert await users.delete(created.id)
    assert await users.get_by_id(created.id) is None
    assert not await users.delete(created.id)
    assert await users.update(created.id, {"full_name": "Ghost"}) is None


@pytest.fixture
def observed(engine):
    """Every statement run on the test app's engine inside the test, as observed."""
    statements: list[ExecutedStatement] = []
    observer = StatementObserver.of(engine)
    observer.add_listener(statements.append)
    yield statements
    observer.remove_listener(statements.append)


async def test_each_statement_is_observed_once_on_the_way_it_went(engine, backend, observed):
    users = UserRepository(RequestDatabase(Database(engine)))
    sessions = SessionRepository(RequestDatabase(Database(engine)))
    created = await users.create(_values("ann@example.com"))
    session = await sessions.create({"user_id": created.id, "expires_at": datetime.now(UTC) + timedelta(hours=1)})
    observed.clear()

    await users.get_by_id(created.id)  # declared once
    await users.search("ann", limit=10)  # declared once
    await users.count_search("ann")
    await users.exists_by_email("ann@example.com")
    await sessions.revoke(session.id, now=datetime.now(UTC))
    await users.delete(created.id)

    declared = "asyncpg" if backend == "postgresql" else "sqlalchemy"
    assert [statement.via for statement in observed] == [declared] * 2 + ["sqlalchemy"] * 4
    assert [statement.sql.split()[0] for statement in observed] == ["SELECT"] * 4 + ["UPDATE", "DELETE"]
    assert not any(statement.failed for statement in observed)


async def test_a_failed_statement_is_observed_as_failed(engine, observed):
    users = UserRepository(RequestDatabase(Database(engine)))
    await users.create(_values("ann@example.com"))

    with pytest.raises(ConflictError):
        await users.create(_values("ann@example.com"))

    assert [(statement.sql.split()[0], statement.failed) for statement in observed] == [
        ("INSERT", False),
        ("INSERT", True),
    ]


async def test_reads_sent_to_asyncpg_return_what_sqlalchemy_returns(engine):
    """The shortcut and the library's way, side by side on the same rows (on SQLite both are SQLAlchemy's)."""
    native, library = (UserRepository(RequestDatabase(Database(engine, native_reads=on))) for on in (True, False))
    sessions = SessionRepository(RequestDatabase(Database(engine)))
    created = [await native.create(_values(f"user{n}@example.com")) for n in range(5)]
    session = await sessions.create({"user_id": created[0].id, "expires_at": datetime.now(UTC) + timedelta(hours=1)})
    after = Keyset(created[3].created_at, created[3].id)

    async def reads(users: UserRepository) -> list[Any]:
        return [
            await users.get_by_id(created[1].id),
            await users.get_by_ids([created[2].id, created[0].id, uuid4()]),
            await users.search(None, limit=3),
            await users.search(None, limit=3, after=after),
            await users.search("USER1", limit=3),
            await users.search("user", limit=3, after=after),
            await users.get_by_session(user_id=created[0].id, session_id=session.id, now=datetime.now(UTC)),
        ]

    answers = await reads(native)
    assert answers == await reads(library)
    assert answers[0] == created[1]
    assert answers[-1].user == created[0]
    assert [user.id for user in answers[3]] == [created[2].id, created[1].id, created[0].id]
