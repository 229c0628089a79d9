"""The background loop that empties the outbox: started and stopped with the app (`main.py`'s lifespan).

Every server process runs one. Messages are rows, so what one process leaves behind (a restart, a
crash) another finds; each message is claimed before it is sent, so two processes never send the same
one (`EmailOutboxRepository.claim_due`).
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

import sentry_sdk

from lunchtogether.core.email import longest_send
from lunchtogether.database import Database, RequestDatabase
from lunchtogether.dependencies import Dependencies, Services
from lunchtogether.workflows.email.deliver_emails import FIRST_RETRY, DeliverEmailsInput

# Messages per round: between rounds the loop looks whether it is stopping.
ROUND_LIMIT = 20
# Added to the longest send, so that a hold never ends while its message is still being sent.
LEASE_MARGIN = timedelta(seconds=30)

logger = logging.getLogger("lunchtogether.email")


@dataclass(frozen=True, slots=True)
class DeliveryTiming:
    """How often the loop looks without being told, and how soon a first retry comes: short in tests."""

    poll_seconds: float = 1.0
    first_retry: timedelta = FIRST_RETRY


class EmailDelivery:
    """Sends what is due, then sleeps until a request stores a message or `poll_seconds` pass."""

    def __init__(self, database: Database, services: Services, timing: DeliveryTiming) -> None:
        self._database = database
        self._services = services
        self._timing = timing
        self._lease = timedelta(seconds=longest_send(services.settings.smtp_timeout)) + LEASE_MARGIN
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="email-delivery")

    async def stop(self) -> None:
        """Stops at once: a message being sent is tried again when its hold ends; the others were not claimed."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            handled = await self._round()
            if handled < ROUND_LIMIT:  # nothing more is due: wait for news
                await self._services.outbox_signal.wait(self._timing.poll_seconds)

    async def _round(self) -> int:
        """How many messages this round handled; 0 after a failure, so that the loop waits before trying again."""
        deps = Dependencies(RequestDatabase(self._database), self._services)
        data = DeliverEmailsInput(limit=ROUND_LIMIT, lease=self._lease, first_retry=self._timing.first_retry)
        try:
            return (await deps.deliver_emails().execute(data)).handled
        except Exception as exc:  # any failure: the loop outlives a database outage; each failure is reported
            logger.error("Email delivery round failed", exc_info=exc)
            sentry_sdk.capture_exception(exc)
            return 0
