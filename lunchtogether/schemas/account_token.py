from datetime import datetime
from uuid import UUID

from lunchtogether.schemas.base import RecordModel


class AccountTokenInDB(RecordModel):
    id: UUID
    user_id: UUID
    purpose: str
    token_hash: str
    email: str
    expires_at: datetime
    used_at: datetime | None
    created_at: datetime
    updated_at: datetime
