from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import uuid4

from pydantic import AfterValidator, BaseModel

from lunchtogether.core.exceptions import InvalidCredentialsError
from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.core.security import PasswordHasher, TokenCodec
from lunchtogether.models.session import USER_AGENT_MAX_LENGTH
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.user import UserLogin, UserResponse


def _user_agent(value: str) -> str:
    """As sent, cut to what the column holds (telling devices apart needs no more), without the NULs no column takes."""
    return value.replace("\x00", "")[:USER_AGENT_MAX_LENGTH]


class LoginInput(UserLogin):
    user_agent: Annotated[str, AfterValidator(_user_agent)] | None = None
    """The client's User-Agent, so that a user can tell their sessions apart."""


class LoginOutput(BaseModel):
    access_token: str
    expires_at: datetime
    user: UserResponse


class LoginWorkflow:
    """Checks a password and starts a session, which the server can end, with its first token."""

    def __init__(
        self,
        *,
        users: UserRepository,
        sessions: SessionRepository,
        hasher: PasswordHasher,
        tokens: TokenCodec,
        limiter: AttemptLimiter,
        limits: AttemptLimits,
        max_age: timedelta,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._tokens = tokens
        self._limiter = limiter
        self._limits = limits
        self._max_age = max_age

    async def execute(self, data: LoginInput, *, client_ip: str) -> LoginOutput:
        # Counted per attempt, before any hash: aliased or parallel attempts gain nothing.
        await self._limiter.hit(self._limits.login_per_ip, client_ip)
        await self._limiter.hit(self._limits.login_per_email, data.email)
        user = await self._users.get_by_email(data.email)
        # Verified even when the account is unknown, so that timing tells nothing.
        password_matches = await self._hasher.verify(data.password, user.hashed_password if user else None)
        if user is None or not password_matches or not user.is_active:
            raise InvalidCredentialsError
        now = datetime.now(UTC)
        issued = self._tokens.issue(user.id, uuid4(), not_after=now + self._max_age, now=now)
        await self._sessions.create(
            {
                "id": issued.session_id,
                "user_id": user.id,
                "created_at": now,
                "last_used_at": now,
                "expires_at": issued.expires_at,
                "user_agent": data.user_agent,
            }
        )
        return LoginOutput(access_token=issued.token, expires_at=issued.expires_at, user=user)
