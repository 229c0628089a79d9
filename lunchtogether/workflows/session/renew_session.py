from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from lunchtogether.core.exceptions import AuthenticationError
from lunchtogether.core.security import TokenCodec
from lunchtogether.schemas.base import InputModel
from lunchtogether.workflows.session.refresh_session import (
    RefreshSessionInput,
    RefreshSessionOutput,
    RefreshSessionWorkflow,
)
from lunchtogether.workflows.user.authenticate import Identity


class RenewSessionInput(InputModel):
    """Nothing to give: the session is the one the request is signed in with."""


class RenewSessionOutput(BaseModel):
    renewed: RefreshSessionOutput | None
    """The fresh token, or None when none was due."""


class RenewSessionWorkflow:
    """Keeps a cookie session that is in use signed in, without the client doing anything.

    A token with less than half its lifetime left is replaced, at most once per half lifetime
    per client; never past the session's maximum age (a new token would expire no later than
    the one presented), and never for a session that ended meanwhile.
    """

    def __init__(self, *, refresh: RefreshSessionWorkflow, tokens: TokenCodec, max_age: timedelta) -> None:
        self._refresh = refresh
        self._tokens = tokens
        self._max_age = max_age

    async def execute(self, data: RenewSessionInput, *, actor: Identity) -> RenewSessionOutput:
        if not self._due(actor, datetime.now(UTC)):
            return RenewSessionOutput(renewed=None)
        try:
            return RenewSessionOutput(renewed=await self._refresh.execute(RefreshSessionInput(), actor=actor))
        except AuthenticationError:
            return RenewSessionOutput(renewed=None)  # ended meanwhile: the presented token ends with it

    def _due(self, actor: Identity, now: datetime) -> bool:
        if actor.token_expires_at - now >= self._tokens.lifetime / 2:
            return False
        renewed_expiry = self._tokens.expiry(not_after=actor.session_created_at + self._max_age, now=now)
        return renewed_expiry > actor.token_expires_at
