from datetime import datetime
from typing import Self

import strawberry

from lunchtogether.graphql.context import Context
from lunchtogether.schemas.user import UserResponse


def _avatar_url(root: "UserType", info: strawberry.Info[Context, None]) -> str | None:
    # The column holds the storage key; the URL is the storage backend's to make.
    return None if root.avatar_key is None else info.context.deps.services.storage.url(root.avatar_key)


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    email: str | None = strawberry.field(description="Shown to the user themself and to superusers; null otherwise.")
    full_name: str
    avatar_url: str | None = strawberry.field(
        resolver=_avatar_url, description="Absolute when the server has a public base URL, else root-relative."
    )
    avatar_key: strawberry.Private[str | None]
    is_active: bool
    is_verified: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, user: UserResponse, *, viewer: UserResponse | None = None, show_email: bool = False) -> Self:
        show_email = show_email or (viewer is not None and (viewer.is_superuser or viewer.id == user.id))
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email if show_email else None,
            full_name=user.full_name,
            avatar_key=user.avatar_url,
            is_active=user.is_active,
            is_verified=user.is_verified,
            is_superuser=user.is_superuser,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class UserEdge:
    cursor: str
    node: UserType


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    search: strawberry.Private[str | None]

    @strawberry.field(description="How many users match, across all pages.")
    async def total_count(self, info: strawberry.Info[Context, None]) -> int:
        return await info.context.deps.users.count_search(self.search)


@strawberry.type
class RegisterPayload:
    user: UserType


@strawberry.type
class LoginPayload:
    user: UserType
    access_token: str = strawberry.field(description="For clients that send `Authorization: Bearer`.")
    expires_at: datetime
