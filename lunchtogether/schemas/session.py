from datetime import datetime
from uuid import UUID

from lunchtogether.schemas.base import RecordModel


class SessionInDB(RecordModel):
    id: UUID
    user_id: UUID
    expires_at: datetime
    last_used_at: datetime
    user_agent: str | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime
