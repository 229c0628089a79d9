from collections.abc import Sequence
from uuid import UUID

from strawberry.dataloader import DataLoader

from lunchtogether.schemas.user import UserResponse
from lunchtogether.workflows.user.get_users import GetUsersInput, GetUsersWorkflow


def user_loader(get_users: GetUsersWorkflow) -> DataLoader[UUID, UserResponse | None]:
    """Every user-by-id lookup of a request, batched into one workflow call (one query) per tick."""

    async def load(ids: Sequence[UUID]) -> list[UserResponse | None]:
        return (await get_users.execute(GetUsersInput(ids=list(ids)))).users

    return DataLoader(load_fn=load)
