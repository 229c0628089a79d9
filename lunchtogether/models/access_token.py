from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lunchtogether.models.base import Base, UTCDateTime


class AccessToken(Base):
    """An issued JWT, by its `jti`: a token is honoured only while its row says so.

    Keeping issued tokens (rather than a list of revoked ones) lets logout,
    password changes and deactivation take effect at once on every process.
    """

    __tablename__ = "access_tokens"

    user_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
