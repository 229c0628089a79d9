"""A real mail server for the email tests (aiosmtpd, in a thread of its own), and ways to fill the outbox.

Messages go into the outbox the way the app's own flows put them there: `EmailOutboxRepository.add`
in a committed transaction, on a repository the app's providers built (so the app's loop is told).
"""

import asyncio
import datetime
import email
import email.policy
import ipaddress
import re
import ssl
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any
from uuid import UUID

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from starlette.applications import Starlette

from lunchtogether.database import Database, RequestDatabase
from lunchtogether.dependencies import Dependencies
from lunchtogether.email_delivery import DeliveryTiming
from lunchtogether.models import OutboxEmail
from lunchtogether.schemas.email import EmailMessage
from tests.servers import free_port

# Polled often and retried at once, so that a test waits moments, not seconds.
QUICK = DeliveryTiming(poll_seconds=0.05, first_retry=datetime.timedelta(milliseconds=50))
SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-password-4b7e"


class _Collector:
    def __init__(self) -> None:
        self.messages: list[MimeMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, _server: object, _session: object, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, MimeMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class MailServer:
    """An SMTP server on a port chosen up front, so that it can be down (not started) and come up there later."""

    def __init__(self, **options: Any) -> None:
        self.port = free_port()
        self._options = options
        self._collector = _Collector()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[MimeMessage]:
        return self._collector.messages

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        return self._collector.envelopes

    def start(self) -> None:
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "MailServer":
        """Up for the block: `with MailServer() as server:`."""
        self.start()
        return self

    def __exit__(self, *_exception: object) -> None:
        self.stop()

    def settings(self, **overrides: object) -> dict[str, object]:
        """The settings of an app that sends here, without TLS unless `overrides` say so."""
        return {
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
            "smtp_timeout": 5,
            "email_from": "LunchTogether <no-reply@example.com>",
        } | overrides


def accept_test_user(_server: object, _session: object, _envelope: object, _mechanism: str, data: Any) -> AuthResult:
    """aiosmtpd's authenticator: only SMTP_USER with SMTP_PASSWORD."""
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers a failure with its 535


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as files: the client trusts the first (`SSL_CERT_FILE`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LunchTogether test mail server")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = directory / "mail-server.pem", directory / "mail-server.key"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_file, key_file


def server_tls_context(certificate_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    return context


@asynccontextmanager
async def running(app: Starlette) -> AsyncGenerator[Starlette]:
    """The app as a server runs it: its lifespan started (the delivery loop with it), and stopped after."""
    async with app.router.lifespan_context(app):
        yield app


def message(number: int = 1, *, link: str = "") -> EmailMessage:
    """Message `number` to user`number`@example.com; `link` goes into both bodies, as a real link would."""
    text = f"Plain text {number} {link}".strip()
    return EmailMessage(
        recipient=f"user{number}@example.com",
        subject=f"Message {number}",
        text_body=text,
        html_body=f"<p>{text.replace('Plain text', 'HTML')}</p>",
    )


async def store(app: Starlette, *messages: EmailMessage, user_id: UUID | None = None, fail: bool = False) -> None:
    """Commits `messages` to the app's outbox in one transaction, through the providers a request uses;
    with `fail`, the transaction fails after storing them (a change that does not commit)."""
    db = RequestDatabase(Database(app.state.engine))
    outbox = Dependencies(db, app.state.services).outbox
    async with db.transaction():
        for each in messages:
            await outbox.add(each, user_id=user_id)
        if fail:
            raise RuntimeError("the change fails after storing its messages")


async def outbox_rows(app: Starlette) -> list[Any]:
    async with app.state.engine.connect() as connection:
        return list((await connection.execute(select(OutboxEmail.__table__))).mappings().all())


async def eventually(condition: Callable[[], Awaitable[bool] | bool], *, within: float = 10.0) -> None:
    """Waits until `condition` holds, failing after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"not within {within} s"
        await asyncio.sleep(0.02)


async def link_received(server: MailServer, recipient: str, page: str, *, count: int, frontend_url: str) -> str:
    """The token of the link to `{frontend_url}/{page}` in the `count`th message that reached `recipient`."""

    def arrived() -> list[MimeMessage]:
        return [message for message in server.messages if message["To"] == recipient]

    await eventually(lambda: len(arrived()) >= count)
    received = arrived()[count - 1]
    plain = received.get_body(("plain",))
    assert plain is not None
    assert received.get_body(("html",)) is not None
    text = plain.get_content()
    assert "LunchTogether" in received["Subject"] + text
    link = re.compile(re.escape(frontend_url) + r"/(verify-email|reset-password)\?token=([A-Za-z0-9_-]+)")
    found = link.search(text)
    assert found is not None, text
    assert found.group(1) == page, text
    return found.group(2)
