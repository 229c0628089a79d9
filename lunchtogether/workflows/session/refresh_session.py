from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from lunchtogether.core.exceptions import AuthenticationError
from lunchtogether.core.security import TokenCodec
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserResponse
from lunchtogether.workflows.user.authenticate import Identity


class RefreshSessionInput(InputModel):
    """Nothing to give: the session is the one the request is signed in with."""


class RefreshSessionOutput(BaseModel):
    access_token: str
    expires_at: datetime
    user: UserResponse


class RefreshSessionWorkflow:
    """A fresh token of the actor's session, which moves the session's end to the token's expiry.

    The session stays the same one (its id is every token's `jti`), so earlier tokens keep working
    until their own expiry and a logout still ends them all. No token outlives the session's
    maximum age after its login.
    """

    def __init__(self, *, sessions: SessionRepository, tokens: TokenCodec, max_age: timedelta) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._max_age = max_age

    async def execute(self, data: RefreshSessionInput, *, actor: Identity) -> RefreshSessionOutput:
        now = datetime.now(UTC)
        not_after = actor.session_created_at + self._max_age
        issued = self._tokens.issue(actor.user.id, actor.session_id, not_after=not_after, now=now)
        if not await self._sessions.extend(actor.session_id, expires_at=issued.expires_at, now=now):
            raise AuthenticationError  # ended since this request signed in with it
        return RefreshSessionOutput(access_token=issued.token, expires_at=issued.expires_at, user=actor.user)
