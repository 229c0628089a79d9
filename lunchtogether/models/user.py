from sqlalchemy import Boolean, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from lunchtogether.models.base import Base

EMAIL_MAX_LENGTH = 320
FULL_NAME_MAX_LENGTH = 100


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # Serves `users` pages: newest first, ties broken by id.
        Index("ix_users_created_at_id", "created_at", "id"),
    )

    # Stored trimmed and lower-cased, so the unique index means one account per address.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A key in `core.storage`, not a URL: the storage backend makes the URL when one is shown.
    avatar_key: Mapped[str | None] = mapped_column(String(2048))
