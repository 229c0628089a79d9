from datetime import datetime
from typing import Self

import strawberry

from lunchtogether.graphql.connections import Connection, total_count_field
from lunchtogether.graphql.context import Context
from lunchtogether.schemas.session import SessionInDB
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
    def from_record(cls, user: UserResponse, *, show_email: bool) -> Self:
        """`show_email` is the caller's answer from `policies.user.can_see_email`."""
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email if show_email else None,
            full_name=user.full_name,
            avatar_key=user.avatar_key,
            is_active=user.is_active,
            is_verified=user.is_verified,
            is_superuser=user.is_superuser,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


@strawberry.type(name="UserConnection")
class UserConnection(Connection[UserType]):
    total_count: int = total_count_field("How many users match, across all pages.")


@strawberry.type
class RegisterPayload:
    user: UserType


@strawberry.type
class LoginPayload:
    user: UserType
    access_token: str = strawberry.field(description="For clients that send `Authorization: Bearer`.")
    expires_at: datetime


@strawberry.type(name="Session", description="A sign-in, from `login` until it ends.")
class SessionType:
    id: strawberry.ID
    created_at: datetime = strawberry.field(description="The login that started it.")
    last_used_at: datetime = strawberry.field(description="Accurate to about a minute.")
    expires_at: datetime = strawberry.field(description="When it ends unless used (and renewed) before.")
    user_agent: str | None = strawberry.field(description="As sent at login, at most 256 characters.")
    current: bool = strawberry.field(description="The session of this request.")

    @classmethod
    def from_record(cls, session: SessionInDB, *, current: bool) -> Self:
        return cls(
            id=strawberry.ID(str(session.id)),
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            current=current,
        )
