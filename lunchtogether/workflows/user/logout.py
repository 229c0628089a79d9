from datetime import UTC, datetime
from uuid import UUID

from lunchtogether.repositories.session import SessionRepository
from lunchtogether.schemas.base import InputModel


class LogoutInput(InputModel):
    token_id: UUID | None
    """The token that authenticated the request; None when signed out."""


class LogoutWorkflow:
    """Revokes the presented token on the server, so that a copy kept elsewhere stops working."""

    def __init__(self, *, sessions: SessionRepository) -> None:
        self._sessions = sessions

    async def execute(self, data: LogoutInput) -> None:
        if data.token_id is not None:
            await self._sessions.revoke(data.token_id, now=datetime.now(UTC))
