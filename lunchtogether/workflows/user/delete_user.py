from uuid import UUID

from pydantic import BaseModel

from lunchtogether.core.storage import Storage
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel


class DeleteUserInput(InputModel):
    user_id: UUID


class DeleteUserOutput(BaseModel):
    deleted: bool


class DeleteUserWorkflow:
    """Deletes an account, its tokens (by cascade) and its files."""

    def __init__(self, *, users: UserRepository, storage: Storage) -> None:
        self._users = users
        self._storage = storage

    async def execute(self, data: DeleteUserInput) -> DeleteUserOutput:
        user = await self._users.get_by_id(data.user_id)
        if user is None or not await self._users.delete(user.id):
            return DeleteUserOutput(deleted=False)
        if user.avatar_key:
            await self._storage.delete(user.avatar_key)
        return DeleteUserOutput(deleted=True)
