from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.pagination import Keyset, Page, PageSize, SearchTerm
from lunchtogether.schemas.user import UserResponse


class ListUsersInput(InputModel):
    first: PageSize
    after: Keyset | None
    """Where the previous page ended; None for the first page."""
    search: SearchTerm | None
    """Only users whose email or full name contains it, ignoring case; None for all."""


class ListUsersOutput(Page[UserResponse]):
    pass


class ListUsersWorkflow:
    """Users newest first, a page at a time: the page a signed-in user browses."""

    def __init__(self, *, users: UserRepository) -> None:
        self._users = users

    async def execute(self, data: ListUsersInput) -> ListUsersOutput:
        rows = await self._users.search(data.search, limit=data.first + 1, after=data.after)
        return ListUsersOutput.of(rows, first=data.first, has_previous_page=data.after is not None)
