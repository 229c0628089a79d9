from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from lunchtogether.schemas.base import RecordModel


class EmailMessage(BaseModel):
    """One message as sent: every message has a plain-text body and an HTML alternative."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    subject: str
    text_body: str
    html_body: str


class OutboxEmailInDB(RecordModel):
    id: UUID
    user_id: UUID | None
    recipient: str
    subject: str
    text_body: str
    html_body: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
