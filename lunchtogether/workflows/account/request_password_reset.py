from datetime import UTC, datetime, timedelta

from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.emails import AccountEmails
from lunchtogether.models import AccountTokenPurpose
from lunchtogether.repositories.account_token import AccountTokenRepository
from lunchtogether.repositories.email_outbox import EmailOutboxRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import SafeText, email_for_lookup


class RequestPasswordResetInput(InputModel):
    email: SafeText
    """Any text: the answer is the same for an address that is no account's, valid or not."""


class RequestPasswordResetWorkflow:
    """Sends a reset link to an active account with the address, and tells nobody whether there is one.

    Known and unknown addresses run the same statements (each an INSERT … SELECT that writes a row
    only for an active account), so neither the answer nor its timing tells them apart.
    """

    def __init__(
        self,
        *,
        tokens: AccountTokenRepository,
        outbox: EmailOutboxRepository,
        emails: AccountEmails,
        lifetime: timedelta,
        limiter: AttemptLimiter,
        limits: AttemptLimits,
    ) -> None:
        self._tokens = tokens
        self._outbox = outbox
        self._emails = emails
        self._lifetime = lifetime
        self._limiter = limiter
        self._limits = limits

    async def execute(self, data: RequestPasswordResetInput, *, client_ip: str) -> None:
        email = email_for_lookup(data.email)
        # Counted per attempt, as logins are: aliases and batches each count.
        await self._limiter.hit(self._limits.password_reset_per_ip, client_ip)
        await self._limiter.hit(self._limits.password_reset_per_email, email)
        token = await self._tokens.issue_for_active_account(
            email, purpose=AccountTokenPurpose.RESET_PASSWORD, lifetime=self._lifetime, now=datetime.now(UTC)
        )
        await self._outbox.add_for_active_account(
            self._emails.reset_password(email, token=token, expires_in=self._lifetime)
        )
