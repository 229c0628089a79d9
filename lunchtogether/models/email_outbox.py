from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Integer, String, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from lunchtogether.models.base import Base, UTCDateTime, utc_now
from lunchtogether.models.user import EMAIL_MAX_LENGTH

LAST_ERROR_MAX_LENGTH = 500


class OutboxEmail(Base):
    """A message waiting to be sent, written in the same transaction as the change that causes it.

    Rows are claimed by the delivery loop, and deleted once the mail server has accepted them.
    """

    __tablename__ = "email_outbox"

    # Who the message is about, so that it goes with a deleted user; None for no account.
    user_id: Mapped[UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Not before then: the next retry, or the end of a claim that a sender holds.
    next_attempt_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utc_now, server_default=func.now(), index=True
    )
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_MAX_LENGTH))
