import logging
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from lunchtogether.core.email import Mailer
from lunchtogether.core.exceptions import EmailDeliveryError
from lunchtogether.repositories.email_outbox import EmailOutboxRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.email import EmailMessage, OutboxEmailInDB

# The contract (docs/api.md, "Email"): retries at growing intervals of at most a minute for the
# first hour, then at most 15 minutes, for 24 hours.
FIRST_RETRY = timedelta(seconds=2)
FIRST_HOUR = timedelta(hours=1)
FIRST_HOUR_LONGEST_WAIT = timedelta(minutes=1)
LATER_LONGEST_WAIT = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(hours=24)

logger = logging.getLogger("lunchtogether.email")
_MESSAGE_FIELDS = set(EmailMessage.model_fields)


def retry_delay(attempts: int, age: timedelta, *, first: timedelta = FIRST_RETRY) -> timedelta | None:
    """How long a message `age` old waits after its `attempts`-th failed attempt; None once it is given up.

    The wait doubles from `first` with each attempt, up to the longest wait of the message's age.
    """
    if age >= GIVE_UP_AFTER:
        return None
    longest = FIRST_HOUR_LONGEST_WAIT if age < FIRST_HOUR else LATER_LONGEST_WAIT
    doublings = min(max(attempts - 1, 0), 32)  # past a few dozen it is the longest wait anyway
    return min(first * 2**doublings, longest)


def recipient_domain(recipient: str) -> str:
    """What a log line may say about a recipient: the domain, never the address."""
    return recipient.rpartition("@")[2]


class DeliverEmailsInput(InputModel):
    lease: timedelta
    """How long the claimed message is held: longer than any one send takes."""
    first_retry: timedelta = FIRST_RETRY


class DeliverEmailsOutput(BaseModel):
    handled: bool
    """A message was due, and was sent, rescheduled or given up; False when none was due."""


class DeliverEmailsWorkflow:
    """Sends the next message that is due, claimed before it is sent.

    One message a call: the caller decides between two whether to go on (it may be stopping), and a
    claim holds only the message being sent. A sender that stops in the middle of a send leaves that
    one message held; it is tried again once the hold ends (and may then arrive twice, the one case
    where it can).
    """

    def __init__(self, *, outbox: EmailOutboxRepository, mailer: Mailer) -> None:
        self._outbox = outbox
        self._mailer = mailer

    async def execute(self, data: DeliverEmailsInput) -> DeliverEmailsOutput:
        now = datetime.now(UTC)
        claimed = await self._outbox.claim_due(now=now, until=now + data.lease, limit=1)
        if not claimed:
            return DeliverEmailsOutput(handled=False)
        await self._deliver(claimed[0], first_retry=data.first_retry)
        return DeliverEmailsOutput(handled=True)

    async def _deliver(self, message: OutboxEmailInDB, *, first_retry: timedelta) -> None:
        try:
            await self._mailer.send(EmailMessage.model_validate(message.model_dump(include=_MESSAGE_FIELDS)))
        except EmailDeliveryError as exc:
            await self._failed(message, reason=exc.reason, first_retry=first_retry)
            return
        await self._outbox.delete(message.id)

    async def _failed(self, message: OutboxEmailInDB, *, reason: str, first_retry: timedelta) -> None:
        attempts = message.attempts + 1
        now = datetime.now(UTC)
        delay = retry_delay(attempts, now - message.created_at, first=first_retry)
        domain = recipient_domain(message.recipient)
        if delay is None:
            await self._outbox.delete(message.id)
            logger.error("Email to a recipient at %s given up after %d attempts in 24 h: %s", domain, attempts, reason)
            return
        await self._outbox.reschedule(message.id, at=now + delay, error=reason)
        logger.warning(
            "Email to a recipient at %s not sent (attempt %d), next try in %g s: %s",
            domain,
            attempts,
            delay.total_seconds(),
            reason,
        )
