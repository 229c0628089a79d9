from datetime import datetime

from pydantic import BaseModel

from lunchtogether.core.exceptions import InvalidCredentialsError
from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.core.security import PasswordHasher, TokenCodec
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.user import UserLogin, UserResponse


class LoginInput(UserLogin):
    pass


class LoginOutput(BaseModel):
    access_token: str
    expires_at: datetime
    user: UserResponse


class LoginWorkflow:
    """Checks a password and issues a token that the server can later revoke."""

    def __init__(
        self,
        *,
        users: UserRepository,
        sessions: SessionRepository,
        hasher: PasswordHasher,
        tokens: TokenCodec,
        limiter: AttemptLimiter,
        limits: AttemptLimits,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._tokens = tokens
        self._limiter = limiter
        self._limits = limits

    async def execute(self, data: LoginInput, *, client_ip: str) -> LoginOutput:
        # Counted per attempt, before any hash: aliased or parallel attempts gain nothing.
        await self._limiter.hit(self._limits.login_per_ip, client_ip)
        await self._limiter.hit(self._limits.login_per_email, data.email)
        user = await self._users.get_by_email(data.email)
        # Verified even when the account is unknown, so that timing tells nothing.
        password_matches = await self._hasher.verify(data.password, user.hashed_password if user else None)
        if user is None or not password_matches or not user.is_active:
            raise InvalidCredentialsError
        issued = self._tokens.issue(user.id)
        await self._sessions.create({"id": issued.token_id, "user_id": user.id, "expires_at": issued.expires_at})
        return LoginOutput(access_token=issued.token, expires_at=issued.expires_at, user=user)
