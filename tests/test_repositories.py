"""The repository layer on a real database: what the workflows rely on."""

import pytest

from lunchtogether.core.exceptions import ConflictError
from lunchtogether.database import Database, RequestDatabase
from lunchtogether.repositories.user import UserRepository


@pytest.fixture
def users(client, engine):
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
