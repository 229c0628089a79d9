from datetime import UTC, datetime

from lunchtogether.repositories.session import SessionRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.workflows.user.authenticate import Identity


class LogoutInput(InputModel):
    everywhere: bool = False
    """Every session of the user, not only the request's."""


class LogoutWorkflow:
    """Ends the session on the server, so that a copy of its token kept elsewhere stops working."""

    def __init__(self, *, sessions: SessionRepository) -> None:
        self._sessions = sessions

    async def execute(self, data: LogoutInput, *, actor: Identity | None) -> None:
        """Signed out already (`actor` None): nothing to end."""
        if actor is None:
            return
        now = datetime.now(UTC)
        if data.everywhere:
            await self._sessions.revoke_all_for_user(actor.user.id, now=now)
        else:
            await self._sessions.revoke(actor.session_id, now=now)
