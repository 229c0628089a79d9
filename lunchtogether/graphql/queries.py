from uuid import UUID

import strawberry

from lunchtogether.core.exceptions import InvalidInputError
from lunchtogether.graphql.context import Context
from lunchtogether.graphql.types import PageInfo, UserConnection, UserEdge, UserType
from lunchtogether.repositories.base import Keyset
from lunchtogether.schemas.pagination import PageRequest

Info = strawberry.Info[Context, None]


def parse_id(value: str, *, field: str = "id") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInputError({field: "must be a UUID"}) from None


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when signed out.")
    async def me(self, info: Info) -> UserType | None:
        user = await info.context.current_user()
        return None if user is None else UserType.from_record(user, viewer=user)

    @strawberry.field(description="A user by id; null when there is none. Requires sign-in.")
    async def user(self, info: Info, id: strawberry.ID) -> UserType | None:
        viewer = await info.context.require_user()
        user = await info.context.user_loader.load(parse_id(id))
        return None if user is None else UserType.from_record(user, viewer=viewer)

    @strawberry.field(description="Users, newest first, a page at a time. Requires sign-in.")
    async def users(
        self,
        info: Info,
        first: int = 20,
        after: str | None = strawberry.UNSET,
        search: str | None = strawberry.UNSET,
    ) -> UserConnection:
        viewer = await info.context.require_user()
        page = PageRequest(first=first, after=after or None, search=search or None)
        keyset = info.context.cursors.decode(page.after) if page.after else None
        rows = await info.context.deps.users.search(page.search, limit=page.first + 1, after=keyset)
        users = rows[: page.first]
        edges = [
            UserEdge(
                cursor=info.context.cursors.encode(Keyset(created_at=user.created_at, id=user.id)),
                node=UserType.from_record(user, viewer=viewer),
            )
            for user in users
        ]
        page_info = PageInfo(
            has_next_page=len(rows) > page.first,
            has_previous_page=keyset is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return UserConnection(edges=edges, page_info=page_info, search=page.search)
