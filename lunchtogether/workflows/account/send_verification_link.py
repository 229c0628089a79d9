from datetime import datetime, timedelta
from uuid import UUID

from lunchtogether.emails import AccountEmails
from lunchtogether.models import AccountTokenPurpose
from lunchtogether.repositories.account_token import AccountTokenRepository
from lunchtogether.repositories.email_outbox import EmailOutboxRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import Email


class SendVerificationLinkInput(InputModel):
    user_id: UUID
    email: Email
    now: datetime


class SendVerificationLinkWorkflow:
    """Stores a message with a new verification link for the user's address; earlier links stop working.

    The one way a link is sent, shared by `register`, `requestEmailVerification` and an email change,
    so that "only the newest link works" holds whichever sent it. Limits are the callers' to apply.
    """

    def __init__(
        self,
        *,
        tokens: AccountTokenRepository,
        outbox: EmailOutboxRepository,
        emails: AccountEmails,
        lifetime: timedelta,
    ) -> None:
        self._tokens = tokens
        self._outbox = outbox
        self._emails = emails
        self._lifetime = lifetime

    async def execute(self, data: SendVerificationLinkInput) -> None:
        purpose = AccountTokenPurpose.VERIFY_EMAIL
        await self._tokens.end_pending(data.user_id, purpose=purpose, now=data.now)
        token = await self._tokens.issue(
            user_id=data.user_id, email=data.email, purpose=purpose, lifetime=self._lifetime, now=data.now
        )
        message = self._emails.verify_email(data.email, token=token, expires_in=self._lifetime)
        await self._outbox.add(message, user_id=data.user_id)
