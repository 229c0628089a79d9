from datetime import UTC, datetime
from uuid import UUID

from lunchtogether.repositories.access_token import AccessTokenRepository
from lunchtogether.schemas.base import InputModel


class LogoutInput(InputModel):
    token_id: UUID | None
    """The token that authenticated the request; None when signed out."""


class LogoutWorkflow:
    """Revokes the presented token on the server, so that a copy kept elsewhere stops working."""

    def __init__(self, *, access_tokens: AccessTokenRepository) -> None:
        self._access_tokens = access_tokens

    async def execute(self, data: LogoutInput) -> None:
        if data.token_id is not None:
            await self._access_tokens.revoke(data.token_id, now=datetime.now(UTC))
