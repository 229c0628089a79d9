from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from lunchtogether.core.security import TokenCodec
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserInDB


class AuthenticateInput(InputModel):
    token: str


class Identity(BaseModel):
    """Who a request acts as, and by which token (logout revokes that one)."""

    user: UserInDB
    token_id: UUID


class AuthenticateWorkflow:
    """Turns a presented token into an identity, or None for anything not honoured.

    A forged, expired, revoked or unknown token, or one of an inactive user, is
    simply signed out. A database failure is not: it propagates, so auth fails closed.
    """

    def __init__(self, *, users: UserRepository, tokens: TokenCodec) -> None:
        self._users = users
        self._tokens = tokens

    async def execute(self, data: AuthenticateInput) -> Identity | None:
        claims = self._tokens.decode(data.token)
        if claims is None:
            return None
        user = await self._users.get_by_access_token(
            user_id=claims.user_id, token_id=claims.token_id, now=datetime.now(UTC)
        )
        return None if user is None else Identity(user=user, token_id=claims.token_id)
