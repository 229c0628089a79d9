from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from lunchtogether.models.base import Base, UTCDateTime, utc_now

USER_AGENT_MAX_LENGTH = 256


class Session(Base):
    """A sign-in, from `login` until it ends; its id is the `jti` of every token issued for it.

    A token is honoured only while its session's row says so, which lets logout, password
    changes and deactivation take effect at once on every process.
    """

    __tablename__ = "sessions"

    user_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the newest token of the session expires: past it, the session has ended by idleness."""
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, server_default=func.now())
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX_LENGTH))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
