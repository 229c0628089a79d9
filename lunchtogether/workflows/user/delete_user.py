from uuid import UUID

from pydantic import BaseModel

from lunchtogether.core.exceptions import PermissionDeniedError
from lunchtogether.core.storage import Storage
from lunchtogether.policies.user import can_delete_user
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserResponse


class DeleteUserInput(InputModel):
    user_id: UUID


class DeleteUserOutput(BaseModel):
    deleted: bool


class DeleteUserWorkflow:
    """Deletes an account and its files; its sessions, link tokens and pending messages go by cascade."""

    def __init__(self, *, users: UserRepository, storage: Storage) -> None:
        self._users = users
        self._storage = storage

    async def execute(self, data: DeleteUserInput, *, actor: UserResponse | None) -> DeleteUserOutput:
        """`actor` None is an operator's own call (the CLI, `deleteAccount` after its password check)."""
        # Before the lookup, so that a refusal tells a non-superuser nothing of other ids.
        if actor is not None and not can_delete_user(actor):
            raise PermissionDeniedError
        user = await self._users.get_by_id(data.user_id)
        if user is None or not await self._users.delete(user.id):
            return DeleteUserOutput(deleted=False)
        if user.avatar_key:
            await self._storage.delete(user.avatar_key)
        return DeleteUserOutput(deleted=True)
