"""Sending mail: `EMAIL_BACKEND` picks the console (development) or an SMTP server.

Nothing here is called by a request: requests store messages in the outbox, and the delivery loop
(`lunchtogether.email_delivery`) hands them to the mailer.
"""

from lunchtogether.config import Settings
from lunchtogether.core.email.base import Mailer, mime_message
from lunchtogether.core.email.console import CONSOLE_MAIL_LOGGER, ConsoleMailer
from lunchtogether.core.email.signal import OutboxSignal
from lunchtogether.core.email.smtp import SmtpMailer, failure_reason, longest_send

__all__ = [
    "CONSOLE_MAIL_LOGGER",
    "ConsoleMailer",
    "Mailer",
    "OutboxSignal",
    "SmtpMailer",
    "build_mailer",
    "failure_reason",
    "longest_send",
    "mime_message",
]


def build_mailer(settings: Settings) -> Mailer:
    """The mailer `EMAIL_BACKEND` names, configured from the settings."""
    if settings.email_backend_in_use == "console":
        return ConsoleMailer(sender=settings.email_sender)
    if settings.smtp_host is None:  # the settings refuse this; narrowed here for the type checker
        raise ValueError("SMTP_HOST must be set when EMAIL_BACKEND is smtp")
    password = settings.smtp_password
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        timeout=settings.smtp_timeout,
        sender=settings.email_sender,
        username=settings.smtp_username,
        password=password.get_secret_value() if password is not None else None,
    )
