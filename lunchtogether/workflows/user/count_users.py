from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.pagination import Count, SearchTerm


class CountUsersInput(InputModel):
    search: SearchTerm | None
    """As `ListUsersInput.search`: the count is of the users that listing pages through."""


class CountUsersOutput(Count):
    pass


class CountUsersWorkflow:
    """How many users a listing holds across all its pages: a query of its own, run only when asked."""

    def __init__(self, *, users: UserRepository) -> None:
        self._users = users

    async def execute(self, data: CountUsersInput) -> CountUsersOutput:
        return CountUsersOutput(total=await self._users.count_search(data.search))
