from datetime import UTC, datetime

from pydantic import BaseModel

from lunchtogether.repositories.session import SessionRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.session import SessionInDB
from lunchtogether.workflows.user.authenticate import Identity


class ListSessionsInput(InputModel):
    """Nothing to give: a user sees their own sessions only."""


class ListSessionsOutput(BaseModel):
    sessions: list[SessionInDB]
    """Most recently used first."""


class ListSessionsWorkflow:
    """The actor's sessions that have not ended, so that they can recognise and end the ones they do not know."""

    def __init__(self, *, sessions: SessionRepository) -> None:
        self._sessions = sessions

    async def execute(self, data: ListSessionsInput, *, actor: Identity) -> ListSessionsOutput:
        return ListSessionsOutput(
            sessions=await self._sessions.list_live_for_user(actor.user.id, now=datetime.now(UTC))
        )
