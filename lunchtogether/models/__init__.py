"""Every model, imported here so that Alembic and `Base.metadata` see them all."""

from lunchtogether.models.account_token import AccountToken, AccountTokenPurpose
from lunchtogether.models.base import Base
from lunchtogether.models.email_outbox import OutboxEmail
from lunchtogether.models.session import Session
from lunchtogether.models.user import User

__all__ = ["AccountToken", "AccountTokenPurpose", "Base", "OutboxEmail", "Session", "User"]
