from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from lunchtogether.core.exceptions import NotFoundError
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.workflows.user.authenticate import Identity

NO_SUCH_SESSION = "You have no session with this id."


class RevokeSessionInput(InputModel):
    session_id: UUID


class RevokeSessionOutput(BaseModel):
    current: bool
    """Whether it was the session of the request itself, whose cookie then goes too."""


class RevokeSessionWorkflow:
    """Ends one of the actor's own live sessions, on every process at once.

    Another user's session, an ended one and an unknown id are the same NOT_FOUND: the
    answer tells nothing of other users' sessions. The ownership rule is part of the UPDATE
    itself, so it costs no read first.
    """

    def __init__(self, *, sessions: SessionRepository) -> None:
        self._sessions = sessions

    async def execute(self, data: RevokeSessionInput, *, actor: Identity) -> RevokeSessionOutput:
        revoked = await self._sessions.revoke_for_user(data.session_id, user_id=actor.user.id, now=datetime.now(UTC))
        if not revoked:
            raise NotFoundError(NO_SUCH_SESSION)
        return RevokeSessionOutput(current=data.session_id == actor.session_id)
