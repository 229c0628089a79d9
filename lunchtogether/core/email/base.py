"""What every mailer shares: the interface, and one message as it goes on the wire."""

from email.message import EmailMessage as MimeMessage
from typing import Protocol

from lunchtogether.schemas.email import EmailMessage


class Mailer(Protocol):
    """Hands one message to whatever delivers it; raises `EmailDeliveryError` when that refuses or fails."""

    async def send(self, message: EmailMessage) -> None: ...


def mime_message(message: EmailMessage, *, sender: str) -> MimeMessage:
    """The message as sent: plain text first, the HTML alternative after it (clients show the last they can)."""
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    return mime
