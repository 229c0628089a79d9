from datetime import UTC, datetime, timedelta
from uuid import UUID

from pydantic import BaseModel

from lunchtogether.core.security import TokenCodec
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserInDB

# A session's last use is written down at most this often: `lastUsedAt` is accurate to about a
# minute, and a client in steady use costs one statement per request, not two.
LAST_USE_PRECISION = timedelta(seconds=60)


class AuthenticateInput(InputModel):
    token: str


class Identity(BaseModel):
    """Who a request acts as, in which session (logout ends that one), and by a token expiring when."""

    user: UserInDB
    session_id: UUID
    session_created_at: datetime
    token_expires_at: datetime


class AuthenticateWorkflow:
    """Turns a presented token into an identity, or None for anything not honoured.

    A forged, expired, revoked or unknown token, or one of an inactive user, is
    simply signed out. A database failure is not: it propagates, so auth fails closed.
    """

    def __init__(self, *, users: UserRepository, sessions: SessionRepository, tokens: TokenCodec) -> None:
        self._users = users
        self._sessions = sessions
        self._tokens = tokens

    async def execute(self, data: AuthenticateInput) -> Identity | None:
        claims = self._tokens.decode(data.token)
        if claims is None:
            return None
        now = datetime.now(UTC)
        found = await self._users.get_by_session(user_id=claims.user_id, session_id=claims.session_id, now=now)
        if found is None:
            return None
        if found.session_last_used_at < now - LAST_USE_PRECISION:
            await self._sessions.mark_used(claims.session_id, now=now, stale_before=now - LAST_USE_PRECISION)
        return Identity(
            user=found.user,
            session_id=claims.session_id,
            session_created_at=found.session_created_at,
            token_expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        )
