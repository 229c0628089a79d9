"""The background loop that empties the outbox: started and stopped with the app (`main.py`'s lifespan).

Every server process runs one. Messages are rows, so what one process leaves behind (a restart, a
crash) another finds; each message is claimed before it is sent, so two processes never send the same
one (`EmailOutboxRepository.claim_due`).
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import sentry_sdk

from lunchtogether.core.email import longest_send
from lunchtogether.database import Database, RequestDatabase
from lunchtogether.dependencies import Dependencies, Services
from lunchtogether.workflows.email.deliver_emails import FIRST_RETRY, DeliverEmailsInput

# Added to the longest send, so that a hold never ends while its message is still being sent.
LEASE_MARGIN = timedelta(seconds=30)
# How long a stop waits for the message being sent (usually milliseconds) before it cancels the send.
STOP_GRACE_SECONDS = 5.0

logger = logging.getLogger("lunchtogether.email")


@dataclass(frozen=True, slots=True)
class DeliveryTiming:
    """How often the loop looks without being told, and how soon a first retry comes: short in tests."""

    poll_seconds: float = 1.0
    first_retry: timedelta = FIRST_RETRY


class EmailDelivery:
    """Sends what is due, one message at a time, then sleeps until a request stores a message or
    `poll_seconds` pass."""

    def __init__(self, database: Database, services: Services, timing: DeliveryTiming) -> None:
        self._database = database
        self._services = services
        self._signal = services.outbox_signal
        self._timing = timing
        self._input = DeliverEmailsInput(
            lease=timedelta(seconds=longest_send(services.settings.smtp_timeout)) + LEASE_MARGIN,
            first_retry=timing.first_retry,
        )
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="email-delivery")

    async def stop(self) -> None:
        """Lets the message being sent finish (within STOP_GRACE_SECONDS) and starts no other.

        A send still going after that is cancelled: its message is tried again when its hold ends.
        """
        if self._task is None:
            return
        self._stopping = True
        self._signal.ring()  # wakes the loop if it sleeps
        task, self._task = self._task, None
        _done, pending = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if pending:
            task.cancel()
            await asyncio.wait({task})

    async def _run(self) -> None:
        while not self._stopping:
            if not await self._deliver_next():
                await self._signal.wait(self._timing.poll_seconds)

    async def _deliver_next(self) -> bool:
        """Whether a message was due; False after a failure too, so that the loop waits before trying again."""
        deps = Dependencies(RequestDatabase(self._database), self._services)
        # A scope of its own, as a request has: this send's statements and log lines are the
        # breadcrumbs of its own failure, not of everything the process does after it.
        with sentry_sdk.isolation_scope():
            try:
                return (await deps.deliver_emails().execute(self._input)).handled
            except Exception as exc:  # any failure: the loop outlives a database outage; each failure is reported
                logger.error("Email delivery failed", exc_info=exc)
                sentry_sdk.capture_exception(exc)
                return False
