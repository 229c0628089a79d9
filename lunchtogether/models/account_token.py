from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lunchtogether.models.base import Base, UTCDateTime
from lunchtogether.models.user import EMAIL_MAX_LENGTH

TOKEN_HASH_LENGTH = 64


class AccountTokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


class AccountToken(Base):
    """A single-use link token (email verification, password reset), kept only as its SHA-256.

    The token itself exists only in the message that carries it: the database holds nothing
    that would let a reader of it use a link.
    """

    __tablename__ = "account_tokens"

    user_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    """The address the link was sent to: verifying it says nothing about any other address."""
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the link was used, or stopped working because a newer one replaced it."""
