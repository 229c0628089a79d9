"""The production mailer: one SMTP connection per message, bounded by `SMTP_TIMEOUT` at every step."""

import asyncio
from typing import Literal

import aiosmtplib

from lunchtogether.core.email.base import mime_message
from lunchtogether.core.exceptions import EmailDeliveryError
from lunchtogether.schemas.email import EmailMessage

REASON_MAX_LENGTH = 200
# The exchanges of one message: connect, EHLO, STARTTLS, EHLO again, AUTH, MAIL, RCPT, DATA, its end, QUIT.
SEND_STEPS = 10


def longest_send(timeout: float) -> float:
    """The most seconds one message can take with `SMTP_TIMEOUT` = `timeout`: whatever the server does, it ends."""
    return SEND_STEPS * timeout


class SmtpMailer:
    """Sends through one mail server, with STARTTLS, implicit TLS or neither (`SMTP_SECURITY`).

    The server's certificate is checked against the system's trust store (`SSL_CERT_FILE` points
    it elsewhere). A connection per message keeps a failure to the message it hit; the outbox sends
    one message at a time anyway.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Literal["starttls", "tls", "none"],
        timeout: float,
        sender: str,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._timeout = timeout
        self._sender = sender
        self._username = username
        self._password = password

    async def send(self, message: EmailMessage) -> None:
        try:
            async with asyncio.timeout(longest_send(self._timeout)):
                await self._send(message)
        except (aiosmtplib.SMTPException, OSError) as exc:  # OSError: refused connections, TLS failures, time-outs
            raise EmailDeliveryError(failure_reason(exc)) from exc

    async def _send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            mime_message(message, sender=self._sender),
            hostname=self._host,
            port=self._port,
            use_tls=self._security == "tls",
            # False rather than None: None would upgrade whenever the server offers it, which
            # `none` (a relay on the same host) should not depend on.
            start_tls=self._security == "starttls",
            username=self._username,
            password=self._password,
            timeout=self._timeout,
        )


def failure_reason(exc: BaseException) -> str:
    """What the server said (its code and answer) or what failed, short enough to store and log.

    The server's answer names at most the addresses; the message itself is never part of it.
    """
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        detail = f"{exc.code} {exc.message}"
    else:
        detail = str(exc) or "no detail"
    reason = f"{type(exc).__name__}: {' '.join(detail.split())}"
    return reason if len(reason) <= REASON_MAX_LENGTH else reason[: REASON_MAX_LENGTH - 1] + "…"
