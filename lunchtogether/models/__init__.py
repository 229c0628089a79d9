"""Every model, imported here so that Alembic and `Base.metadata` see them all."""

from lunchtogether.models.access_token import AccessToken
from lunchtogether.models.base import Base
from lunchtogether.models.user import User

__all__ = ["AccessToken", "Base", "User"]
