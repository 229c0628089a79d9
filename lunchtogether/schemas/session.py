from datetime import datetime
from uuid import UUID

from lunchtogether.schemas.base import RecordModel
from lunchtogether.schemas.user import UserInDB


class SessionInDB(RecordModel):
    id: UUID
    user_id: UUID
    expires_at: datetime
    last_used_at: datetime
    user_agent: str | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SessionUser(RecordModel):
    """A live session's user and the session's times, read together: a signed-in request's one statement."""

    user: UserInDB
    session_created_at: datetime
    session_last_used_at: datetime
    session_expires_at: datetime
