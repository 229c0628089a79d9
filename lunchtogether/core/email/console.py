"""Development's mailer: each message goes to the log, whole, so that a developer can follow its links."""

import logging

from lunchtogether.core.email.base import mime_message
from lunchtogether.schemas.email import EmailMessage

# A logger of its own, so that Sentry can be told to ignore it (`observability.init_sentry`): its
# lines hold live links, which nothing else may log.
CONSOLE_MAIL_LOGGER = "lunchtogether.email.console"

logger = logging.getLogger(CONSOLE_MAIL_LOGGER)


class ConsoleMailer:
    """Writes the message at INFO. Production refuses this backend: its log would hold live links."""

    def __init__(self, *, sender: str) -> None:
        self._sender = sender

    async def send(self, message: EmailMessage) -> None:
        logger.info("Email (console backend, not sent):\n%s", mime_message(message, sender=self._sender).as_string())
