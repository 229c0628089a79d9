"""The account flows end to end through a real mail server: the links a user follows are the ones it received.

`test_account_flows.py` reads what the flows store; here the app runs as a server does (its lifespan,
its delivery loop) and sends over SMTP to aiosmtpd, and the test follows the links in what arrived.
"""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from lunchtogether.main import create_app
from tests.email_support import QUICK, MailServer, eventually, link_received, running
from tests.support import ME, PASSWORD, GraphQL, make_settings

FRONTEND_URL = "https://app.example.com"
VERIFY_EMAIL = "mutation Verify($token: String!) { verifyEmail(token: $token) { email isVerified } }"
REQUEST_RESET = "mutation Forgot($email: String!) { requestPasswordReset(email: $email) }"
RESET_PASSWORD = "mutation Reset($input: ResetPasswordInput!) { resetPassword(input: $input) }"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
async def served(postgresql_database: str, mail_server: MailServer) -> AsyncIterator[GraphQL]:
    """A running app on PostgreSQL that sends over SMTP, and a client of it."""
    app: Starlette = create_app(
        make_settings(postgresql_database, frontend_url=FRONTEND_URL, **mail_server.settings()), email_timing=QUICK
    )
    transport = httpx.ASGITransport(app=app)
    async with running(app), httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield GraphQL(client)
    await app.state.engine.dispose()
    await app.state.services.close()


async def test_register_sends_a_link_that_verifies_the_address(served: GraphQL, mail_server: MailServer):
    await served.register("ann@example.com")
    token = await link_received(mail_server, "ann@example.com", "verify-email", count=1, frontend_url=FRONTEND_URL)

    verified = await served(VERIFY_EMAIL, {"token": token})

    assert verified == {"data": {"verifyEmail": {"email": "ann@example.com", "isVerified": True}}}
    used_again = await served(VERIFY_EMAIL, {"token": token})
    assert used_again["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_reset_link_received_signs_out_every_session_and_sets_the_password(
    served: GraphQL, mail_server: MailServer
):
    await served.register("bob@example.com")
    old_session = await served.login("bob@example.com")
    assert (await served(REQUEST_RESET, {"email": "bob@example.com"})) == {"data": {"requestPasswordReset": True}}
    token = await link_received(mail_server, "bob@example.com", "reset-password", count=2, frontend_url=FRONTEND_URL)

    reset = await served(RESET_PASSWORD, {"input": {"token": token, "newPassword": NEW_PASSWORD}})

    assert reset == {"data": {"resetPassword": True}}
    assert (await served(ME, token=old_session))["data"]["me"] is None
    assert not await served.can_log_in("bob@example.com", password=PASSWORD)
    new_session = await served.login("bob@example.com", password=NEW_PASSWORD)
    assert (await served(ME, token=new_session))["data"]["me"]["email"] == "bob@example.com"
    await eventually(lambda: len([m for m in mail_server.messages if m["To"] == "bob@example.com"]) == 3)
