from functools import partial
from uuid import UUID

import strawberry

from lunchtogether.core.exceptions import InvalidInputError
from lunchtogether.graphql.context import Context
from lunchtogether.graphql.types import SessionType, UserConnection, UserType
from lunchtogether.policies.user import can_see_email
from lunchtogether.schemas.pagination import SearchPageRequest
from lunchtogether.schemas.user import UserResponse
from lunchtogether.workflows.session.list_sessions import ListSessionsInput
from lunchtogether.workflows.user.count_users import CountUsersInput
from lunchtogether.workflows.user.list_users import ListUsersInput

Info = strawberry.Info[Context, None]


def parse_id(value: str, *, field: str = "id") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInputError({field: "must be a UUID"}) from None


def user_as_seen_by(viewer: UserResponse | None, user: UserResponse) -> UserType:
    return UserType.from_record(user, show_email=can_see_email(viewer, user))


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when signed out.")
    async def me(self, info: Info) -> UserType | None:
        user = await info.context.current_user()
        return None if user is None else user_as_seen_by(user, user)

    @strawberry.field(description="A user by id; null when there is none. Requires sign-in.")
    async def user(self, info: Info, id: strawberry.ID) -> UserType | None:
        viewer = await info.context.require_user()
        user = await info.context.user_loader.load(parse_id(id))
        return None if user is None else user_as_seen_by(viewer, user)

    @strawberry.field(description="Users, newest first, a page at a time. Requires sign-in.")
    async def users(
        self,
        info: Info,
        first: int = 20,
        after: str | None = strawberry.UNSET,
        search: str | None = strawberry.UNSET,
    ) -> UserConnection:
        viewer = await info.context.require_user()
        request = SearchPageRequest(first=first, after=after or None, search=search or None)
        after_keyset = info.context.cursors.decode_after(request.after)
        data = ListUsersInput(first=request.first, after=after_keyset, search=request.search)
        page = await info.context.deps.list_users().execute(data)
        return UserConnection.of(
            page,
            cursors=info.context.cursors,
            node=partial(user_as_seen_by, viewer),
            count=partial(info.context.deps.count_users().execute, CountUsersInput(search=request.search)),
        )

    @strawberry.field(description="The signed-in user's own live sessions, most recently used first.")
    async def sessions(self, info: Info) -> list[SessionType]:
        identity = await info.context.require_identity()
        output = await info.context.deps.list_sessions().execute(ListSessionsInput(), actor=identity)
        return [
            SessionType.from_record(session, current=session.id == identity.session_id) for session in output.sessions
        ]
