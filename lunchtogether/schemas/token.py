from datetime import datetime
from uuid import UUID

from lunchtogether.schemas.base import RecordModel


class AccessTokenInDB(RecordModel):
    id: UUID
    user_id: UUID
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime
