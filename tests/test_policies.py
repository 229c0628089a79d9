"""The rules of `policies/`: who sees and does what, decided from the actor and the record."""

from datetime import UTC, datetime
from uuid import UUID

import pytest

from lunchtogether.policies.user import can_see_email, can_update_user
from lunchtogether.schemas.user import UserResponse, UserUpdate

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _user(number: int, *, superuser: bool = False) -> UserResponse:
    return UserResponse(
        id=UUID(int=number),
        email=f"user{number}@example.com",
        full_name="Someone",
        avatar_key=None,
        is_active=True,
        is_verified=True,
        is_superuser=superuser,
        created_at=NOW,
        updated_at=NOW,
    )


ANN, BOB, ROOT = _user(1), _user(2), _user(3, superuser=True)


@pytest.mark.parametrize(
    ("viewer", "user", "sees"),
    [(ANN, ANN, True), (BOB, ANN, False), (ROOT, ANN, True), (None, ANN, False), (ANN, ROOT, False)],
)
def test_an_email_is_seen_by_its_owner_and_superusers_only(viewer, user, sees):
    assert can_see_email(viewer, user) is sees


@pytest.mark.parametrize(
    ("actor", "target", "changes", "allowed"),
    [
        (ANN, ANN, {"full_name": "Ann"}, True),
        (ANN, ANN, {"is_verified": True}, False),
        (ANN, BOB, {"full_name": "Bob"}, False),
        (ANN, BOB, {}, False),
        (ROOT, BOB, {"full_name": "Bob", "is_superuser": True}, True),
        (ROOT, ROOT, {"is_active": False}, True),
    ],
)
def test_users_edit_themselves_and_superusers_anyone_and_the_flags(actor, target, changes, allowed):
    assert can_update_user(actor, target.id, UserUpdate.model_validate(changes)) is allowed
