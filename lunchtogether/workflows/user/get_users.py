from uuid import UUID

from pydantic import BaseModel

from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserResponse


class GetUsersInput(InputModel):
    ids: list[UUID]


class GetUsersOutput(BaseModel):
    users: list[UserResponse | None]
    """One per id asked, in the same order; None where no user has that id."""


class GetUsersWorkflow:
    """Users by id, in one query however many ids: the batch behind every `user(id:)` of a request."""

    def __init__(self, *, users: UserRepository) -> None:
        self._users = users

    async def execute(self, data: GetUsersInput) -> GetUsersOutput:
        found = {user.id: user for user in await self._users.get_by_ids(data.ids)}
        return GetUsersOutput(users=[found.get(id) for id in data.ids])
