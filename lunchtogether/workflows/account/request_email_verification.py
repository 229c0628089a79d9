from datetime import UTC, datetime
from uuid import UUID

from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import Email
from lunchtogether.workflows.account.send_verification_link import (
    SendVerificationLinkInput,
    SendVerificationLinkWorkflow,
)


class RequestEmailVerificationInput(InputModel):
    user_id: UUID
    """The signed-in user, who asks for a link to their own address."""
    email: Email


class RequestEmailVerificationWorkflow:
    """Sends the signed-in user a new verification link, within the per-user limit (each message costs a send)."""

    def __init__(
        self, *, send_link: SendVerificationLinkWorkflow, limiter: AttemptLimiter, limits: AttemptLimits
    ) -> None:
        self._send_link = send_link
        self._limiter = limiter
        self._limits = limits

    async def execute(self, data: RequestEmailVerificationInput) -> None:
        await self._limiter.hit(self._limits.email_verification_per_user, str(data.user_id))
        await self._send_link.execute(
            SendVerificationLinkInput(user_id=data.user_id, email=data.email, now=datetime.now(UTC))
        )
