from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from lunchtogether.repositories.access_token import AccessTokenRepository


class LogoutInput(BaseModel):
    token_id: UUID | None
    """The token that authenticated the request; None when signed out."""


class LogoutOutput(BaseModel):
    revoked: bool


class LogoutWorkflow:
    """Revokes the presented token on the server, so that a copy kept elsewhere stops working."""

    def __init__(self, *, access_tokens: AccessTokenRepository) -> None:
        self._access_tokens = access_tokens

    async def execute(self, data: LogoutInput) -> LogoutOutput:
        if data.token_id is None:
            return LogoutOutput(revoked=False)
        return LogoutOutput(revoked=await self._access_tokens.revoke(data.token_id, now=datetime.now(UTC)))
