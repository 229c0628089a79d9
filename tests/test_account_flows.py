"""Email verification, password reset and account deletion, through the API as a client uses them.

Messages are read where the app leaves them, in the `email_outbox` table (sending them is the
delivery loop's part, tested on its own); a link's token is taken from the plain-text body, as a
reader would click it.
"""

import asyncio
import logging
import re
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from lunchtogether.cli import delete_account
from lunchtogether.emails import AccountEmails
from lunchtogether.models import AccountToken, Base, OutboxEmail, Session, User
from tests.support import (
    PASSWORD,
    GraphQL,
    code,
    error,
    image,
    make_superuser,
    stored_files,
    upload,
)

FRONTEND_URL = "http://localhost:5173"
NEW_PASSWORD = "a brand new secret"
_LINK = re.compile(r"(https?://\S+)\?token=([A-Za-z0-9_-]+)")

VERIFY = "mutation Verify($token: String!) { verifyEmail(token: $token) { id email isVerified } }"
REQUEST_VERIFICATION = "mutation { requestEmailVerification }"
REQUEST_RESET = "mutation Request($email: String!) { requestPasswordReset(email: $email) }"
RESET = "mutation Reset($input: ResetPasswordInput!) { resetPassword(input: $input) }"
ME_VERIFIED = "query { me { isVerified } }"
DELETE_ACCOUNT = "mutation Delete($password: String!) { deleteAccount(password: $password) }"
DELETE_USER = "mutation Delete($id: ID!) { deleteUser(id: $id) }"
UPDATE_EMAIL = (
    "mutation Update($id: ID!, $email: String!) { updateUser(id: $id, input: {email: $email}) { isVerified } }"
)
DEACTIVATE = "mutation Deactivate($id: ID!) { updateUser(id: $id, input: {isActive: false}) { isActive } }"


async def messages(engine: AsyncEngine, recipient: str) -> list[dict]:
    """The messages stored for `recipient`, oldest first."""
    table = OutboxEmail.__table__
    statement = select(table).where(table.c.recipient == recipient).order_by(table.c.created_at)
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(statement)).mappings()]


def link(message: dict) -> tuple[str, str]:
    """The page a message links to, and the token in the link."""
    found = _LINK.search(message["text_body"])
    assert found is not None, message["text_body"]
    return found.group(1), found.group(2)


async def token_sent(engine: AsyncEngine, recipient: str) -> str:
    """The token of the newest message to `recipient`."""
    return link((await messages(engine, recipient))[-1])[1]


async def rows_of(engine: AsyncEngine, model: type[Base], user_id: str) -> int:
    """How many rows of `model`'s table belong to the user."""
    table = model.__table__
    statement = select(func.count()).select_from(table).where(table.c.user_id == UUID(user_id))
    async with engine.connect() as connection:
        return (await connection.execute(statement)).scalar_one()


def without_location(result: dict) -> dict:
    """An error as the client reads it, minus where in the document it happened."""
    return {key: value for key, value in error(result).items() if key not in {"locations", "path"}}


async def verify(api: GraphQL, token: str) -> dict:
    return await api(VERIFY, {"token": token})


async def reset(api: GraphQL, token: str, new_password: str = NEW_PASSWORD) -> dict:
    return await api(RESET, {"input": {"token": token, "newPassword": new_password}})


# Email verification


async def test_register_sends_a_link_that_verifies_the_address(api, engine):
    ann = await api.register("ann@example.com")

    [message] = await messages(engine, "ann@example.com")
    page, token = link(message)
    result = await verify(api, token)

    assert ann["isVerified"] is False
    assert page == f"{FRONTEND_URL}/verify-email"
    assert "LunchTogether" in message["subject"]
    assert "LunchTogether" in message["text_body"]
    assert "LunchTogether" in message["html_body"]
    assert f'href="{FRONTEND_URL}/verify-email?token={token}"' in message["html_body"]
    assert result == {"data": {"verifyEmail": {"id": ann["id"], "email": "ann@example.com", "isVerified": True}}}


async def test_a_new_link_replaces_the_earlier_ones(api, engine):
    _, token = await api.signed_up("ann@example.com")
    first = await token_sent(engine, "ann@example.com")

    assert await api(REQUEST_VERIFICATION, token=token) == {"data": {"requestEmailVerification": True}}
    second = await token_sent(engine, "ann@example.com")

    assert first != second
    assert code(await verify(api, first)) == "BAD_USER_INPUT"
    assert (await verify(api, second))["data"]["verifyEmail"]["isVerified"] is True


async def test_requesting_a_link_needs_sign_in(api):
    assert code(await api(REQUEST_VERIFICATION)) == "UNAUTHENTICATED"


async def test_unknown_used_superseded_expired_and_malformed_tokens_get_one_answer(api, engine, make_app):
    _, token = await api.signed_up("ann@example.com")
    superseded = await token_sent(engine, "ann@example.com")
    await api(REQUEST_VERIFICATION, token=token)
    used = await token_sent(engine, "ann@example.com")
    await verify(api, used)
    short_lived = make_app(email_verification_ttl_hours=0.000_01)  # 36 ms
    await short_lived.register("bob@example.com")
    expired = await token_sent(engine, "bob@example.com")
    await asyncio.sleep(0.1)
    cases = {
        "used": used,
        "superseded": superseded,
        "expired": expired,
        "unknown": "A" * 43,
        "empty": "",
        "malformed": "not a token \x00 \ud800",
        "long": "x" * 5000,
    }

    answers = {name: without_location(await verify(api, value)) for name, value in cases.items()}

    expected = {
        "message": "This link is invalid or has expired; ask for a new one.",
        "extensions": {"code": "BAD_USER_INPUT", "fields": {"token": "is invalid or has expired"}},
    }
    assert answers == dict.fromkeys(cases, expected)


async def test_verification_links_are_limited_per_user_counting_aliases(make_app, engine):
    api = make_app(rate_limit_email_verification="2/hour")
    _, token = await api.signed_up("ann@example.com")  # the link of `register` does not count
    three = "mutation { a: requestEmailVerification b: requestEmailVerification c: requestEmailVerification }"

    result = await api(three, token=token)

    assert code(result) == "RATE_LIMITED"
    assert error(result)["path"] == ["c"]
    assert len(await messages(engine, "ann@example.com")) == 3  # register's, a's and b's: each field commits alone


async def test_a_changed_email_is_unverified_until_its_own_link_is_used(api, engine):
    ann, token = await api.signed_up("ann@example.com")
    await verify(api, await token_sent(engine, "ann@example.com"))
    await api(REQUEST_VERIFICATION, token=token)
    pending = await token_sent(engine, "ann@example.com")

    changed = await api(UPDATE_EMAIL, {"id": ann["id"], "email": "ann.new@example.com"}, token=token)

    assert changed == {"data": {"updateUser": {"isVerified": False}}}
    assert code(await verify(api, pending)) == "BAD_USER_INPUT"  # sent to the old address
    notice = (await messages(engine, "ann@example.com"))[-1]
    assert "ann.new@example.com" in notice["text_body"]
    assert "token=" not in notice["text_body"]
    assert "token=" not in notice["html_body"]
    result = await verify(api, await token_sent(engine, "ann.new@example.com"))
    assert result["data"]["verifyEmail"] == {"id": ann["id"], "email": "ann.new@example.com", "isVerified": True}


# Password reset


async def test_a_reset_sets_the_password_and_signs_out_every_session(api, engine):
    await api.register("ann@example.com")
    sessions = [await api.login("ann@example.com") for _ in range(2)]

    answer = await api(REQUEST_RESET, {"email": " Ann@Example.com "})
    [message] = [m for m in await messages(engine, "ann@example.com") if "reset-password" in m["text_body"]]
    page, token = link(message)
    result = await reset(api, token)

    assert answer == {"data": {"requestPasswordReset": True}}
    assert page == f"{FRONTEND_URL}/reset-password"
    assert "LunchTogether" in message["subject"]
    assert result == {"data": {"resetPassword": True}}
    assert [await api.me(session) for session in sessions] == [None, None]
    assert not await api.can_log_in("ann@example.com")
    new_session = await api.login("ann@example.com", password=NEW_PASSWORD)
    me = await api(ME_VERIFIED, token=new_session)
    assert me == {"data": {"me": {"isVerified": True}}}  # the link proved the address
    assert "was reset" in (await messages(engine, "ann@example.com"))[-1]["subject"]
    assert code(await reset(api, token, "yet another secret")) == "BAD_USER_INPUT"  # single use


async def test_a_reset_ends_the_users_other_reset_links_and_only_those(api, engine):
    await api.register("ann@example.com")
    await api(REQUEST_RESET, {"email": "ann@example.com"})
    first = await token_sent(engine, "ann@example.com")
    await api(REQUEST_RESET, {"email": "ann@example.com"})
    second = await token_sent(engine, "ann@example.com")

    assert (await reset(api, second))["data"] == {"resetPassword": True}  # an earlier link did not stop this one
    assert without_location(await reset(api, first)) == without_location(await verify(api, "unknown"))


async def test_a_password_that_breaks_the_rules_leaves_the_link_usable(api, engine):
    await api.register("ann@example.com")
    await api(REQUEST_RESET, {"email": "ann@example.com"})
    token = await token_sent(engine, "ann@example.com")

    too_short = await reset(api, token, "short")
    is_the_email = await reset(api, token, "ann@example.com")

    for result in (too_short, is_the_email):
        assert code(result) == "BAD_USER_INPUT"
        assert set(error(result)["extensions"]["fields"]) == {"newPassword"}
    assert await reset(api, token) == {"data": {"resetPassword": True}}


async def test_unknown_invalid_and_inactive_addresses_get_true_and_no_message(api, engine, settings):
    bob = await api.register("bob@example.com")
    root = await make_superuser(settings, api)
    await api(DEACTIVATE, {"id": bob["id"]}, token=root)
    before = await messages(engine, "bob@example.com")

    answers = [
        await api(REQUEST_RESET, {"email": email}) for email in ("nobody@example.com", "no address", "bob@example.com")
    ]

    assert answers == [{"data": {"requestPasswordReset": True}}] * 3
    assert await messages(engine, "nobody@example.com") == []
    assert await messages(engine, "bob@example.com") == before
    async with engine.connect() as connection:
        assert (
            await connection.execute(
                select(func.count())
                .select_from(AccountToken.__table__)
                .where(AccountToken.__table__.c.purpose == "reset_password")
            )
        ).scalar_one() == 0


async def test_known_and_unknown_addresses_run_the_same_statements(api, count_statements):
    await api.register("ann@example.com")

    async with count_statements() as known:
        await api(REQUEST_RESET, {"email": "ann@example.com"})
    async with count_statements() as unknown:
        await api(REQUEST_RESET, {"email": "nobody@example.com"})

    assert known == unknown
    assert len(known) >= 2


async def test_reset_requests_are_limited_per_address_counting_aliases(make_app, engine):
    api = make_app(rate_limit_password_reset="2/hour")
    await api.register("ann@example.com")
    three = "mutation { " + " ".join(f'r{n}: requestPasswordReset(email: "ann@example.com")' for n in range(3)) + " }"

    result = await api(three)

    assert code(result) == "RATE_LIMITED"
    assert error(result)["path"] == ["r2"]
    assert code(await api(REQUEST_RESET, {"email": "ANN@example.com"})) == "RATE_LIMITED"  # the same address


async def test_reset_requests_are_limited_per_client_across_addresses(make_app):
    api = make_app(rate_limit_password_reset="2/hour")

    answers = [await api(REQUEST_RESET, {"email": f"user{n}@example.com"}) for n in range(3)]

    assert [result.get("data") for result in answers[:2]] == [{"requestPasswordReset": True}] * 2
    assert code(answers[2]) == "RATE_LIMITED"


async def test_tokens_and_passwords_appear_in_no_log_line(api, engine, caplog):
    with caplog.at_level(logging.DEBUG):
        await api.register("ann@example.com")
        verification = await token_sent(engine, "ann@example.com")
        await verify(api, verification)
        await api(REQUEST_RESET, {"email": "ann@example.com"})
        reset_token = await token_sent(engine, "ann@example.com")
        await reset(api, reset_token, "short")
        await reset(api, reset_token)

    logged = "\n".join(f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records)
    for secret in (verification, reset_token, NEW_PASSWORD, PASSWORD):
        assert secret not in logged


# Deleting accounts


async def test_delete_account_checks_the_password_then_deletes_everything_of_the_user(api, engine, client, settings):
    ann, token = await api.signed_up("ann@example.com")
    await api.login("ann@example.com")  # a second session
    files_before = set(stored_files(Path(settings.upload_dir)))
    await upload(api, image("PNG"), token=token)
    avatar = set(stored_files(Path(settings.upload_dir))) - files_before
    await api(REQUEST_RESET, {"email": "ann@example.com"})

    wrong = await api(DELETE_ACCOUNT, {"password": "not my password"}, token=token)
    response = await api.post(DELETE_ACCOUNT, {"password": PASSWORD}, token=token)

    assert code(wrong) == "BAD_USER_INPUT"
    assert set(error(wrong)["extensions"]["fields"]) == {"password"}
    assert response.json() == {"data": {"deleteAccount": True}}
    assert 'access_token=""' in response.headers["set-cookie"]
    assert await api.me(token) is None
    for model in (Session, AccountToken, OutboxEmail):
        assert await rows_of(engine, model, ann["id"]) == 0, model
    async with engine.connect() as connection:
        assert (
            await connection.execute(select(User.__table__).where(User.__table__.c.id == UUID(ann["id"])))
        ).all() == []
    assert len(avatar) == 1
    assert set(stored_files(Path(settings.upload_dir))) == files_before  # the avatar is gone


async def test_delete_account_needs_sign_in(api):
    assert code(await api(DELETE_ACCOUNT, {"password": PASSWORD})) == "UNAUTHENTICATED"


async def test_delete_user_is_for_superusers_only(api, settings, engine):
    _, token = await api.signed_up("ann@example.com")
    bob = await api.register("bob@example.com")
    root = await make_superuser(settings, api)
    unknown = "00000000-0000-4000-8000-000000000000"

    api.client.cookies.clear()  # the superuser's, from signing in
    signed_out = await api(DELETE_USER, {"id": bob["id"]})
    not_superuser = [await api(DELETE_USER, {"id": id}, token=token) for id in (bob["id"], unknown)]
    not_found = await api(DELETE_USER, {"id": unknown}, token=root)
    deleted = await api(DELETE_USER, {"id": bob["id"]}, token=root)

    assert code(signed_out) == "UNAUTHENTICATED"
    assert [code(result) for result in not_superuser] == ["FORBIDDEN", "FORBIDDEN"]
    assert code(not_found) == "NOT_FOUND"
    assert deleted == {"data": {"deleteUser": True}}
    assert await rows_of(engine, OutboxEmail, bob["id"]) == 0
    assert not await api.can_log_in("bob@example.com")
    assert await api.can_log_in("ann@example.com")


async def test_the_operators_delete_user_takes_the_pending_messages_and_links_too(api, engine, settings):
    ann = await api.register("ann@example.com")
    await api(REQUEST_RESET, {"email": "ann@example.com"})

    assert await delete_account(settings, "ann@example.com")

    assert await rows_of(engine, AccountToken, ann["id"]) == 0
    assert await rows_of(engine, OutboxEmail, ann["id"]) == 0
    assert not await api.can_log_in("ann@example.com")


# Rendering


def test_values_are_escaped_in_the_html_body_only():
    emails = AccountEmails(frontend_url=f"{FRONTEND_URL}/")

    message = emails.email_changed("a&b@example.com", new_email="<b>x@example.com")
    expiring = emails.verify_email("ann@example.com", token="abc", expires_in=timedelta(minutes=90))

    assert "a&b@example.com" in message.text_body
    assert "<b>x@example.com" in message.text_body
    assert "a&amp;b@example.com" in message.html_body
    assert "&lt;b&gt;x@example.com" in message.html_body
    assert f"{FRONTEND_URL}/verify-email?token=abc" in expiring.text_body  # one slash, whatever the setting ends with
    assert "90 minutes" in expiring.text_body
