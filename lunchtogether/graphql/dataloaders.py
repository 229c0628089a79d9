from collections.abc import Sequence
from uuid import UUID

from strawberry.dataloader import DataLoader

from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.user import UserInDB


def user_loader(users: UserRepository) -> DataLoader[UUID, UserInDB | None]:
    """Every user-by-id lookup of a request, batched into one query per tick."""

    async def load(ids: Sequence[UUID]) -> list[UserInDB | None]:
        found = {user.id: user for user in await users.get_by_ids(ids)}
        return [found.get(id) for id in ids]

    return DataLoader(load_fn=load)
