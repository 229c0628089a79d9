from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from lunchtogether.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from lunchtogether.policies.user import can_update_user
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserInDB, UserResponse, UserUpdate


class UpdateUserInput(InputModel):
    user_id: UUID
    changes: UserUpdate


class UpdateUserOutput(BaseModel):
    user: UserResponse


class UpdateUserWorkflow:
    """Changes an account's fields, as `can_update_user` allows; deactivation signs it out everywhere."""

    def __init__(self, *, users: UserRepository, sessions: SessionRepository) -> None:
        self._users = users
        self._sessions = sessions

    async def execute(self, data: UpdateUserInput, *, actor: UserInDB) -> UpdateUserOutput:
        # Before the lookup, so that a refusal tells a non-superuser nothing of other ids.
        if not can_update_user(actor, data.user_id, data.changes):
            raise PermissionDeniedError
        # These reads run before the update begins the transaction. What changes in between is
        # still caught there: a deleted target updates no row, a taken email breaks the unique index.
        target = await self._users.get_by_id(data.user_id)
        if target is None:
            raise NotFoundError("No user has this id.")
        changes = data.changes.changes
        if changes.get("email", target.email) != target.email and await self._users.exists_by_email(changes["email"]):
            raise ConflictError(UserRepository.conflict_message)
        user = await self._users.update(target.id, changes) if changes else target
        if user is None:
            raise NotFoundError("No user has this id.")
        if target.is_active and not user.is_active:
            # Deactivation signs the user out everywhere, and reactivation revives no old token.
            await self._sessions.revoke_all_for_user(user.id, now=datetime.now(UTC))
        return UpdateUserOutput(user=user)
