"""register, login, logout, me: sign-up, sign-in, cookies, bearer tokens and revocation."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from lunchtogether.core.security import TokenCodec
from tests.support import LOGIN, ME, PASSWORD, REGISTER, TEST_SECRET, code, error

LOGOUT = "mutation { logout }"


async def test_register_returns_the_user_with_their_email_normalised(api):
    user = await api.register("  Ann.Lee@Example.COM ", full_name="  Ann Lee  ")

    assert user["email"] == "ann.lee@example.com"
    assert user["fullName"] == "Ann Lee"
    assert (user["isActive"], user["isVerified"], user["isSuperuser"]) == (True, False, False)
    assert datetime.fromisoformat(user["createdAt"]).utcoffset() == timedelta(0)


async def test_register_does_not_sign_in(api, client):
    await api.register("ann@example.com")

    assert "access_token" not in client.cookies
    assert await api.me() is None


async def test_register_refuses_an_email_taken_in_any_case(api):
    await api.register("ann@example.com")

    result = await api(REGISTER, {"input": {"email": "ANN@example.com", "password": PASSWORD, "fullName": "Ann"}})

    assert code(result) == "CONFLICT"
    assert result["data"] is None


async def test_concurrent_duplicate_registrations_end_in_one_success_and_conflicts(api):
    variables = {"input": {"email": "race@example.com", "password": PASSWORD, "fullName": "Racer"}}

    results = await asyncio.gather(*(api(REGISTER, variables) for _ in range(4)))

    outcomes = sorted("ok" if "errors" not in result else code(result) for result in results)
    assert outcomes == ["CONFLICT", "CONFLICT", "CONFLICT", "ok"]


@pytest.mark.parametrize(
    ("field", "value", "bad_field"),
    [
        ("email", "not-an-email", "email"),
        ("email", "ann@", "email"),
        ("password", "short", "password"),
        ("password", "é" * 37, "password"),  # 74 bytes: more than bcrypt takes
        ("password", "password123", "password"),
        ("password", "ann@example.com", "password"),
        ("fullName", "   ", "fullName"),
        ("fullName", "x" * 101, "fullName"),
        ("fullName", "Ann\x00Lee", "fullName"),
        ("fullName", "Ann\ud800", "fullName"),
    ],
)
async def test_register_names_the_bad_field(api, field, value, bad_field):
    fields = {"email": "ann@example.com", "password": PASSWORD, "fullName": "Ann"} | {field: value}

    result = await api(REGISTER, {"input": fields})

    assert code(result) == "BAD_USER_INPUT"
    assert set(error(result)["extensions"]["fields"]) == {bad_field}


async def test_login_sets_an_httponly_lax_cookie_and_returns_the_token(api):
    await api.register("ann@example.com")

    response = await api.post(LOGIN, {"input": {"email": "Ann@Example.com", "password": PASSWORD}})

    payload = response.json()["data"]["login"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"access_token={payload['accessToken']};")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # development
    assert payload["user"]["email"] == "ann@example.com"
    assert datetime.fromisoformat(payload["expiresAt"]) > datetime.now(UTC)
    claims = jwt.decode(payload["accessToken"], TEST_SECRET, algorithms=["HS256"])
    assert set(claims) == {"sub", "jti", "iat", "exp"}
    assert claims["sub"] == payload["user"]["id"]


async def test_the_cookie_signs_in_later_requests(api):
    user = await api.register("ann@example.com")
    await api.login("ann@example.com")  # the client keeps the cookie

    assert (await api.me())["id"] == user["id"]


async def test_the_header_wins_over_the_cookie(api):
    await api.register("ann@example.com")
    bob = await api.register("bob@example.com")
    await api.login("ann@example.com")
    bob_token = await api.login("bob@example.com")
    await api.login("ann@example.com")  # the cookie is Ann's again

    assert (await api.me(bob_token))["id"] == bob["id"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)],
)
async def test_unknown_email_and_wrong_password_fail_alike(api, email, password):
    await api.register("ann@example.com")

    result = await api(LOGIN, {"input": {"email": email, "password": password}})

    assert code(result) == "UNAUTHENTICATED"
    assert error(result)["message"] == "Wrong email or password."


async def test_login_refuses_a_password_bcrypt_cannot_take(api):
    result = await api(LOGIN, {"input": {"email": "ann@example.com", "password": "x" * 73}})

    assert code(result) == "BAD_USER_INPUT"
    assert set(error(result)["extensions"]["fields"]) == {"password"}


async def test_logout_revokes_the_token_on_the_server(api, client):
    await api.register("ann@example.com")
    token = await api.login("ann@example.com")

    response = await api.post(LOGOUT, token=token)

    assert response.json() == {"data": {"logout": True}}
    assert 'access_token=""' in response.headers["set-cookie"]
    assert "access_token" not in client.cookies
    assert await api.me(token) is None  # a copy kept elsewhere no longer works


async def test_logout_revokes_the_cookie_token(api):
    await api.register("ann@example.com")
    token = await api.login("ann@example.com")

    await api(LOGOUT)

    assert await api.me(token) is None


async def test_logout_revokes_only_the_presented_token(api):
    await api.register("ann@example.com")
    first = await api.login("ann@example.com")
    second = await api.login("ann@example.com")

    await api(LOGOUT, token=first)

    assert await api.me(first) is None
    assert await api.me(second) is not None


async def test_logout_is_true_when_signed_out(api):
    assert await api(LOGOUT) == {"data": {"logout": True}}
    assert await api(LOGOUT, token="garbage") == {"data": {"logout": True}}


def _forge(claims: dict, *, key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def test_tokens_that_are_not_honoured_sign_out(api):
    await api.register("ann@example.com")
    token = await api.login("ann@example.com")
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    now = datetime.now(UTC)
    header, payload, _signature = token.split(".")
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # ty: ignore[invalid-argument-type]

    forged = [
        unsigned,
        f"{header}.{payload}.",
        _forge(claims, key="another-secret-that-is-long-enough-too"),
        _forge(claims, algorithm="HS512"),
        _forge(claims | {"exp": now - timedelta(minutes=1)}),
        _forge(claims | {"sub": "00000000-0000-0000-0000-000000000000"}),
        _forge(claims | {"sub": "not-a-uuid"}),
        _forge(claims | {"jti": "00000000-0000-0000-0000-000000000000"}),
        _forge({key: value for key, value in claims.items() if key != "jti"}),
        "garbage",
        "a.b.c",
        "x" * 10_000,
    ]

    for bad in forged:
        assert await api.me(bad) is None, bad
    assert await api.me(token) is not None


async def test_garbage_in_the_cookie_signs_out(api, client):
    client.cookies.set("access_token", "not.a.jwt")

    assert await api(ME) == {"data": {"me": None}}


def test_a_verified_token_still_expires():
    codec = TokenCodec(secret=TEST_SECRET, algorithm="HS256", lifetime=timedelta(seconds=10))
    user_id = uuid.uuid4()
    session_id, not_after = uuid.uuid4(), datetime.now(UTC) + timedelta(days=1)
    expired = codec.issue(user_id, session_id, not_after=not_after, now=datetime.now(UTC) - timedelta(seconds=20))
    fresh = codec.issue(user_id, session_id, not_after=not_after)

    assert codec.decode(expired.token) is None
    claims = codec.decode(fresh.token)
    assert claims is not None
    assert (claims.user_id, claims.session_id) == (user_id, session_id)
