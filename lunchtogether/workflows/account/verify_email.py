from datetime import UTC, datetime

from pydantic import BaseModel

from lunchtogether.core.exceptions import InvalidLinkError
from lunchtogether.models import AccountTokenPurpose
from lunchtogether.repositories.account_token import AccountTokenRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserResponse


class VerifyEmailInput(InputModel):
    token: str
    """As the client sent it: whatever is no token of ours is answered as an unknown one."""


class VerifyEmailOutput(BaseModel):
    user: UserResponse


class VerifyEmailWorkflow:
    """Uses a verification link up and marks the address it was sent to as verified."""

    def __init__(self, *, tokens: AccountTokenRepository, users: UserRepository) -> None:
        self._tokens = tokens
        self._users = users

    async def execute(self, data: VerifyEmailInput) -> VerifyEmailOutput:
        used = await self._tokens.consume(data.token, purpose=AccountTokenPurpose.VERIFY_EMAIL, now=datetime.now(UTC))
        # Only while the address is still the user's: the link proves nothing about a newer one.
        # Raising rolls the transaction back, so the link is not used up either.
        user = await self._users.mark_verified(used.user_id, email=used.email) if used else None
        if user is None:
            raise InvalidLinkError
        return VerifyEmailOutput(user=user)
