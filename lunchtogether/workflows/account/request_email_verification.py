from datetime import UTC, datetime

from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.schemas.user import UserResponse
from lunchtogether.workflows.account.send_verification_link import (
    SendVerificationLinkInput,
    SendVerificationLinkWorkflow,
)


class RequestEmailVerificationWorkflow:
    """Sends the signed-in user a new verification link, within the per-user limit (each message costs a send)."""

    def __init__(
        self, *, send_link: SendVerificationLinkWorkflow, limiter: AttemptLimiter, limits: AttemptLimits
    ) -> None:
        self._send_link = send_link
        self._limiter = limiter
        self._limits = limits

    async def execute(self, *, actor: UserResponse) -> None:
        await self._limiter.hit(self._limits.email_verification_per_user, str(actor.id))
        await self._send_link.execute(
            SendVerificationLinkInput(user_id=actor.id, email=actor.email, now=datetime.now(UTC))
        )
