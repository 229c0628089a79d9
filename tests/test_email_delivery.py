"""Email delivery: stored messages reach a real mail server (aiosmtpd) once, through outages, restarts and
several server processes; mail never leaks its bodies (their links) into logs or Sentry."""

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import sentry_sdk
from starlette.applications import Starlette

from lunchtogether.core.email import ConsoleMailer
from lunchtogether.core.exceptions import ConflictError
from lunchtogether.email_delivery import DeliveryTiming
from lunchtogether.main import create_app
from lunchtogether.workflows.email.deliver_emails import retry_delay
from tests.email_support import (
    QUICK,
    SMTP_PASSWORD,
    SMTP_USER,
    MailServer,
    accept_test_user,
    eventually,
    message,
    outbox_rows,
    running,
    self_signed_certificate,
    server_tls_context,
    store,
)
from tests.support import make_settings

LINK = "https://app.example.com/reset-password?token=link-token-5c9a1f"


@pytest.fixture
def mail_server():
    server = MailServer()
    yield server
    server.stop()


@pytest.fixture
async def make_sender(settings):
    """Apps on this pass's database that send to a mail server; closed after the test."""
    apps: list[Starlette] = []

    def make(server: MailServer, timing: DeliveryTiming = QUICK, **overrides: object) -> Starlette:
        app_settings = make_settings(settings.sqlalchemy_url, **server.settings(**overrides))
        apps.append(create_app(app_settings, email_timing=timing))
        return apps[-1]

    yield make
    for app in apps:
        await app.state.engine.dispose()
        await app.state.services.close()


async def _empty(app: Starlette) -> bool:
    return await outbox_rows(app) == []


async def test_a_committed_message_is_sent_at_once_and_only_once(make_sender, mail_server):
    mail_server.start()
    # Polling every 30 s: arriving in moments, the message was announced by its commit.
    app = make_sender(mail_server, DeliveryTiming(poll_seconds=30))
    async with running(app):
        await asyncio.sleep(0.1)  # the loop has looked once and now sleeps
        await store(app, message(1))
        await eventually(lambda: len(mail_server.messages) == 1, within=5)
        await eventually(lambda: _empty(app))
    [sent] = mail_server.messages
    assert sent["From"] == "LunchTogether <no-reply@example.com>"
    assert sent["To"] == "user1@example.com"
    assert sent["Subject"] == "Message 1"
    assert sent.get_body(("plain",)).get_content().strip() == "Plain text 1"
    assert sent.get_body(("html",)).get_content().strip() == "<p>HTML 1</p>"
    assert mail_server.envelopes == [("no-reply@example.com", ["user1@example.com"])]


async def test_a_message_rolled_back_with_its_change_is_never_sent(make_sender, mail_server):
    mail_server.start()
    app = make_sender(mail_server)
    async with running(app):
        with pytest.raises(RuntimeError):
            await store(app, message(1), fail=True)
        await store(app, message(2))
        await eventually(lambda: len(mail_server.messages) == 1)
    assert [sent["To"] for sent in mail_server.messages] == ["user2@example.com"]
    assert await outbox_rows(app) == []


async def test_a_message_waits_while_the_mail_server_is_down_and_arrives_once_it_is_up(make_sender, mail_server):
    app = make_sender(mail_server)
    async with running(app):
        await store(app, message(1))

        async def failed_twice() -> bool:
            rows = await outbox_rows(app)
            return len(rows) == 1 and rows[0]["attempts"] >= 2

        await eventually(failed_twice)
        [row] = await outbox_rows(app)
        assert row["last_error"].startswith("SMTPConnectError: ")
        assert row["next_attempt_at"] > row["created_at"]

        mail_server.start()
        await eventually(lambda: _empty(app))
        await asyncio.sleep(0.2)  # several more polls: nothing is sent again
    assert [sent["To"] for sent in mail_server.messages] == ["user1@example.com"]


async def test_a_restarted_server_sends_what_was_pending(make_sender, mail_server):
    first = make_sender(mail_server)
    async with running(first):
        await store(first, message(1), message(2), message(3))

        async def all_tried() -> bool:
            rows = await outbox_rows(first)
            return len(rows) == 3 and all(row["attempts"] >= 1 for row in rows)

        await eventually(all_tried)
    mail_server.start()
    second = make_sender(mail_server)
    async with running(second):
        await eventually(lambda: _empty(second))
    assert sorted(sent["To"] for sent in mail_server.messages) == [f"user{n}@example.com" for n in (1, 2, 3)]


async def test_two_servers_on_one_database_send_each_message_once(make_sender, mail_server):
    mail_server.start()
    count = 60
    # Each app signs what it sends, to show that both took part.
    senders = [make_sender(mail_server, email_from=f"App {n} <app{n}@example.com>") for n in (1, 2)]
    await store(senders[0], *(message(n) for n in range(count)))
    async with running(senders[0]), running(senders[1]):
        await eventually(lambda: _empty(senders[0]), within=20)
    recipients = Counter(sent["To"] for sent in mail_server.messages)
    assert recipients == {f"user{n}@example.com": 1 for n in range(count)}
    assert {sender for sender, _recipients in mail_server.envelopes} == {"app1@example.com", "app2@example.com"}


# --- TLS and authentication: once, on a PostgreSQL database of their own ------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, which the app's TLS (the system's default) trusts here."""
    certificate_file, key_file = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate_file))
    return certificate_file, key_file


@pytest.fixture
async def sender_on(postgresql_database):
    apps: list[Starlette] = []

    def make(server: MailServer, **overrides: object) -> Starlette:
        apps.append(create_app(make_settings(postgresql_database, **server.settings(**overrides)), email_timing=QUICK))
        return apps[-1]

    yield make
    for app in apps:
        await app.state.engine.dispose()
        await app.state.services.close()


async def test_starttls_with_a_login(sender_on, certificate):
    tls = server_tls_context(*certificate)
    server = MailServer(tls_context=tls, require_starttls=True, auth_required=True, authenticator=accept_test_user)
    server.start()
    try:
        app = sender_on(server, smtp_security="starttls", smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD)
        async with running(app):
            await store(app, message(1))
            await eventually(lambda: _empty(app))
    finally:
        server.stop()
    assert [sent["To"] for sent in server.messages] == ["user1@example.com"]


async def test_a_refused_login_is_retried_and_the_password_is_kept_out_of_the_error(sender_on, certificate, caplog):
    tls = server_tls_context(*certificate)
    server = MailServer(tls_context=tls, require_starttls=True, auth_required=True, authenticator=accept_test_user)
    server.start()
    try:
        app = sender_on(server, smtp_security="starttls", smtp_username=SMTP_USER, smtp_password="wrong-password-3e8")
        async with running(app):
            await store(app, message(1))

            async def refused() -> bool:
                rows = await outbox_rows(app)
                return bool(rows) and rows[0]["attempts"] >= 1

            await eventually(refused)
    finally:
        server.stop()
    [row] = await outbox_rows(app)
    assert row["last_error"].startswith("SMTPAuthenticationError: 535")
    assert server.messages == []
    assert "wrong-password-3e8" not in caplog.text
    assert "not sent (attempt 1)" in caplog.text
    assert "user1@" not in caplog.text  # the domain only


async def test_implicit_tls(sender_on, certificate):
    server = MailServer(ssl_context=server_tls_context(*certificate))
    server.start()
    try:
        app = sender_on(server, smtp_security="tls")
        async with running(app):
            await store(app, message(1))
            await eventually(lambda: _empty(app))
    finally:
        server.stop()
    assert [sent["To"] for sent in server.messages] == ["user1@example.com"]


# --- the schedule, the console, and what stays out of logs and Sentry ----------------------------------------------


def test_retries_grow_to_a_minute_in_the_first_hour_then_to_15_minutes_and_stop_after_24_hours():
    first = timedelta(seconds=2)
    assert retry_delay(1, timedelta(0), first=first) == first
    assert retry_delay(2, timedelta(seconds=2), first=first) == 2 * first

    age, attempts, waits = timedelta(0), 0, []
    while (wait := retry_delay(attempts + 1, age, first=first)) is not None:
        assert wait <= (timedelta(minutes=1) if age < timedelta(hours=1) else timedelta(minutes=15))
        attempts, age = attempts + 1, age + wait
        waits.append(wait)
    assert waits == sorted(waits)  # never shorter than the one before
    assert timedelta(minutes=1) in waits
    assert waits[-1] == timedelta(minutes=15)
    assert timedelta(hours=24) <= age < timedelta(hours=24, minutes=15)
    assert retry_delay(1000, timedelta(hours=24)) is None


async def test_the_console_mailer_writes_the_whole_message_to_the_log(caplog):
    caplog.set_level(logging.INFO, logger="lunchtogether.email.console")
    await ConsoleMailer(sender="LunchTogether <no-reply@localhost>").send(message(1, link=LINK))
    assert "From: LunchTogether <no-reply@localhost>" in caplog.text
    assert "To: user1@example.com" in caplog.text
    assert "Subject: Message 1" in caplog.text
    assert caplog.text.count(LINK) == 2  # the text and the HTML


def test_development_sends_to_the_console_by_default():
    app = create_app(make_settings("sqlite+aiosqlite://"))
    assert isinstance(app.state.services.mailer, ConsoleMailer)


async def test_bodies_stay_out_of_logs_and_sentry(make_sender, mail_server, ingest, caplog):
    """Every log line at DEBUG, SQLAlchemy's and the drivers' included, and every Sentry event: no link."""
    app = make_sender(mail_server, log_level="DEBUG", sentry_dsn=ingest.dsn)
    caplog.set_level(logging.DEBUG)
    # A scope of the test's own, as a request has, so that its breadcrumbs do not follow later tests.
    with sentry_sdk.isolation_scope():
        async with running(app):
            await store(app, message(1, link=LINK))

            async def failed() -> bool:
                rows = await outbox_rows(app)
                return bool(rows) and rows[0]["attempts"] >= 1

            await eventually(failed)  # the server is down: a failure, logged
            mail_server.start()
            await eventually(lambda: _empty(app))
            # A statement that fails with the link among its parameters (no such user), its error captured.
            with pytest.raises(ConflictError) as failure:
                await store(app, message(2, link=LINK), user_id=uuid4())
            sentry_sdk.capture_exception(failure.value.__cause__)
    assert "SQL parameters hidden" in str(failure.value.__cause__)
    assert [sent["To"] for sent in mail_server.messages] == ["user1@example.com"]
    assert LINK in mail_server.messages[0].get_body(("plain",)).get_content()
    # The test's mail server logs what it receives; every other line is the app's or its libraries'.
    app_log = "\n".join(caplog.handler.format(record) for record in caplog.records if record.name != "mail.log")
    assert "not sent (attempt 1)" in app_log
    assert "link-token-5c9a1f" not in app_log
    assert len(ingest.events()) == 1
    assert b"link-token-5c9a1f" not in ingest.raw()
