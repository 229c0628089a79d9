"""Sessions: renewal of the cookie, refreshSession, the idle end and the maximum age, the `sessions`
listing, revokeSession, logout everywhere, and revocation seen at once by another app instance.

A token issued earlier in a session is made with the server's own TokenCodec and secret (`_earlier`),
as the server would have issued it then: that is how a test gets a token past half its life without
waiting half an hour. A session's row is moved back in time only where the time itself is the subject.
"""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from lunchtogether.core.security import TokenClaims, TokenCodec
from lunchtogether.models import Session
from tests.support import LOGIN, ME, PASSWORD, TEST_SECRET, GraphQL, code

LIFETIME = timedelta(minutes=60)  # the test apps' JWT_ACCESS_TOKEN_EXPIRE_MINUTES
CODEC = TokenCodec(secret=TEST_SECRET, algorithm="HS256", lifetime=LIFETIME)
FAR = datetime.now(UTC) + timedelta(days=365)
SESSIONS = "query Sessions { sessions { id createdAt lastUsedAt expiresAt userAgent current } }"
REFRESH = "mutation Refresh { refreshSession { accessToken expiresAt user { id email } } }"
REVOKE = "mutation Revoke($id: ID!) { revokeSession(id: $id) }"
LOGOUT_EVERYWHERE = "mutation { logout(everywhere: true) }"


def _claims(token: str) -> TokenClaims:
    claims = CODEC.decode(token)
    assert claims is not None
    return claims


def _earlier(token: str, *, age: timedelta) -> str:
    """A token of `token`'s session, issued `age` ago."""
    claims = _claims(token)
    return CODEC.issue(claims.user_id, claims.session_id, not_after=FAR, now=datetime.now(UTC) - age).token


def _expiry(token: str) -> datetime:
    return datetime.fromtimestamp(_claims(token).expires_at, UTC)


def _with_cookie(client: httpx.AsyncClient, token: str) -> None:
    """The client's only cookie is now `token`, as a browser holding it would send it."""
    client.cookies.clear()
    client.cookies.set("access_token", token)


async def _sessions(api: GraphQL, token: str) -> list[dict]:
    result = await api(SESSIONS, token=token)
    assert "errors" not in result, result
    return result["data"]["sessions"]


async def _login_as(client: httpx.AsyncClient, email: str, user_agent: str) -> str:
    body = {"query": LOGIN, "variables": {"input": {"email": email, "password": PASSWORD}}}
    response = await client.post("/graphql", json=body, headers={"User-Agent": user_agent})
    result = response.json()
    assert "errors" not in result, result
    return result["data"]["login"]["accessToken"]


async def _move_back(engine: AsyncEngine, session_id: UUID, **columns: timedelta) -> None:
    """Sets each named time of the session's row that far before now: time passing, not a change of state."""
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        values = {name: now - ago for name, ago in columns.items()}
        await connection.execute(update(Session).where(Session.id == session_id).values(**values))


# Renewal of the cookie


async def test_a_cookie_past_half_its_life_is_renewed_and_the_old_token_keeps_working(api, client, count_statements):
    _, token = await api.signed_up("ann@example.com")
    old = _earlier(token, age=LIFETIME * 0.6)
    _with_cookie(client, old)

    async with count_statements() as statements:
        response = await api.post(ME)

    assert [statement.split()[0] for statement in statements] == ["SELECT", "UPDATE"]  # the renewal: one write

    assert response.json()["data"]["me"]["email"] == "ann@example.com"
    renewed = response.cookies["access_token"]
    assert "HttpOnly" in response.headers["set-cookie"]
    assert _claims(renewed).session_id == _claims(old).session_id
    assert _expiry(renewed) >= datetime.now(UTC).replace(microsecond=0) + LIFETIME - timedelta(seconds=1)
    assert await api.me(old) is not None  # until its own exp
    [session] = await _sessions(api, renewed)
    assert datetime.fromisoformat(session["expiresAt"]) == _expiry(renewed)  # the session's end moved too
    assert await api.me(_earlier(token, age=LIFETIME + timedelta(seconds=5))) is None  # expired, session or not


async def test_no_renewal_before_half_a_lifetime(api, client):
    _, token = await api.signed_up("ann@example.com")

    for presented in (token, _earlier(token, age=LIFETIME * 0.4)):
        _with_cookie(client, presented)
        response = await api.post(ME)

        assert response.json()["data"]["me"] is not None
        assert "set-cookie" not in response.headers


async def test_a_bearer_token_never_gets_a_cookie(api, client):
    _, token = await api.signed_up("ann@example.com")
    client.cookies.clear()

    response = await api.post(ME, token=_earlier(token, age=LIFETIME * 0.9))

    assert response.json()["data"]["me"] is not None
    assert "set-cookie" not in response.headers


async def test_a_batch_renews_once_and_never_over_a_cookie_its_operations_set(make_app):
    api = make_app(graphql_batching=True)
    _, token = await api.signed_up("ann@example.com")
    _with_cookie(api.client, _earlier(token, age=LIFETIME * 0.6))

    def batch(*queries: str) -> bytes:
        return json.dumps([{"query": query} for query in queries]).encode()

    headers = {"Content-Type": "application/json"}
    both = await api.client.post("/graphql", content=batch(ME, SESSIONS), headers=headers)
    assert [len(answer["data"]) for answer in both.json()] == [1, 1]
    assert len(both.headers.get_list("set-cookie")) == 1

    _with_cookie(api.client, _earlier(token, age=LIFETIME * 0.6))
    ended = await api.client.post("/graphql", content=batch(ME, "mutation { logout }"), headers=headers)
    assert ended.json()[1] == {"data": {"logout": True}}
    assert [cookie.startswith('access_token="";') for cookie in ended.headers.get_list("set-cookie")] == [True]


async def test_a_revoked_session_is_not_renewed(api, client):
    _, token = await api.signed_up("ann@example.com")
    other = await api.login("ann@example.com")
    old = _earlier(token, age=LIFETIME * 0.6)
    _with_cookie(client, old)

    response = await api.post(REVOKE, {"id": str(_claims(token).session_id)})

    assert response.json() == {"data": {"revokeSession": True}}
    assert [cookie.startswith('access_token="";') for cookie in response.headers.get_list("set-cookie")] == [True]
    assert await api.me(old) is None
    assert await api.me(other) is not None


# refreshSession


async def test_refresh_session_issues_a_token_of_the_same_session_and_sets_the_cookie(api, client):
    ann, token = await api.signed_up("ann@example.com")
    presented = _earlier(token, age=timedelta(minutes=10))
    client.cookies.clear()

    response = await api.post(REFRESH, token=presented)

    payload = response.json()["data"]["refreshSession"]
    assert payload["user"] == {"id": ann["id"], "email": "ann@example.com"}
    fresh = payload["accessToken"]
    assert response.cookies["access_token"] == fresh
    assert _claims(fresh).session_id == _claims(token).session_id
    assert _expiry(fresh) > _expiry(presented)
    assert datetime.fromisoformat(payload["expiresAt"]) == _expiry(fresh)
    assert await api.me(presented) is not None
    [session] = await _sessions(api, fresh)
    assert datetime.fromisoformat(session["expiresAt"]) == _expiry(fresh)


async def test_refresh_session_needs_a_live_session(api):
    _, token = await api.signed_up("ann@example.com")
    await api(LOGOUT_EVERYWHERE, token=token)

    assert code(await api(REFRESH)) == "UNAUTHENTICATED"
    assert code(await api(REFRESH, token=token)) == "UNAUTHENTICATED"


# The end of a session: idle, and at its maximum age


async def test_a_session_whose_newest_token_expired_has_ended(api, engine):
    _, idle = await api.signed_up("ann@example.com")
    current = await api.login("ann@example.com")
    unexpired_copy = _earlier(idle, age=timedelta(minutes=1))
    await _move_back(engine, _claims(idle).session_id, expires_at=timedelta(seconds=1))

    assert await api.me(unexpired_copy) is None
    assert [session["current"] for session in await _sessions(api, current)] == [True]
    assert code(await api(REVOKE, {"id": str(_claims(idle).session_id)}, token=current)) == "NOT_FOUND"


async def test_no_token_outlives_the_maximum_age_of_its_session(make_app, settings):
    api = make_app(session_max_age_days=20 / (24 * 60))  # 20 minutes: less than a token's lifetime
    _, token = await api.signed_up("ann@example.com")
    [session] = await _sessions(api, token)
    ends = datetime.fromisoformat(session["createdAt"]) + timedelta(minutes=20)
    assert timedelta(0) <= ends - _expiry(token) < timedelta(seconds=1)

    _with_cookie(api.client, token)  # less than half a lifetime left, and still no renewal
    response = await api.post(ME)
    assert response.json()["data"]["me"] is not None
    assert "set-cookie" not in response.headers

    refreshed = await api(REFRESH, token=token)
    assert _expiry(refreshed["data"]["refreshSession"]["accessToken"]) == _expiry(token)


async def test_a_session_ends_at_its_maximum_age_however_used(make_app):
    # Two seconds: a token's `exp` is in whole seconds, floored, so at least one second is left to use it
    api = make_app(session_max_age_days=2 / (24 * 60 * 60))
    _, token = await api.signed_up("ann@example.com")
    uncapped = _earlier(token, age=timedelta(0))  # no server issues it: the session's row still refuses it
    assert await api.me(token) is not None

    await asyncio.sleep(max((_expiry(token) - datetime.now(UTC)).total_seconds(), 0) + 0.05)

    assert await api.me(token) is None
    assert await api.me(uncapped) is None


# The listing


async def test_sessions_lists_the_users_live_sessions_most_recently_used_first(api, client, engine):
    await api.register("ann@example.com")
    await api.register("bob@example.com")
    first = await _login_as(client, "ann@example.com", "Firefox " + "x" * 300)
    second = await _login_as(client, "ann@example.com", "Curl")
    third = await _login_as(client, "ann@example.com", "Safari")
    await _login_as(client, "bob@example.com", "Bob's")
    ended = await _login_as(client, "ann@example.com", "Ended")
    await api("mutation { logout }", token=ended)
    for token, minutes in ((first, 3), (second, 2), (third, 1)):
        await _move_back(engine, _claims(token).session_id, last_used_at=timedelta(minutes=minutes))
    client.cookies.clear()

    listed = await _sessions(api, first)  # a use after more than a minute is written down

    assert [UUID(session["id"]) for session in listed] == [_claims(t).session_id for t in (first, third, second)]
    assert [session["current"] for session in listed] == [True, False, False]
    assert [session["userAgent"] for session in listed] == ["Firefox " + "x" * 248, "Safari", "Curl"]
    now = datetime.now(UTC)
    assert now - datetime.fromisoformat(listed[0]["lastUsedAt"]) < timedelta(seconds=30)
    assert now - datetime.fromisoformat(listed[1]["lastUsedAt"]) > timedelta(seconds=59)
    relisted = await _sessions(api, second)
    assert [UUID(session["id"]) for session in relisted] == [_claims(t).session_id for t in (second, first, third)]
    assert [session["current"] for session in relisted] == [True, False, False]


async def test_sessions_needs_sign_in(api):
    assert code(await api(SESSIONS)) == "UNAUTHENTICATED"


# revokeSession and logout(everywhere)


async def test_revoke_session_ends_one_own_session_only(api, client):
    _, token = await api.signed_up("ann@example.com")
    other = await api.login("ann@example.com")
    _, bobs = await api.signed_up("bob@example.com")
    other_id = str(_claims(other).session_id)

    assert await api(REVOKE, {"id": other_id}, token=token) == {"data": {"revokeSession": True}}

    assert await api.me(other) is None
    assert await api.me(token) is not None
    for unknown in (other_id, str(_claims(bobs).session_id), str(uuid4()), "not-an-id", ""):
        result = await api(REVOKE, {"id": unknown}, token=token)
        assert code(result) == "NOT_FOUND", unknown
        assert result["data"] is None
    assert await api.me(bobs) is not None
    client.cookies.clear()
    assert [code(await api(REVOKE, {"id": id})) for id in (other_id, "not-an-id")] == ["UNAUTHENTICATED"] * 2


async def test_logout_everywhere_ends_every_session_of_the_user_only(api, client):
    _, token = await api.signed_up("ann@example.com")
    other = await api.login("ann@example.com")
    _, bobs = await api.signed_up("bob@example.com")
    client.cookies.clear()

    response = await api.post(LOGOUT_EVERYWHERE, token=token)

    assert response.json() == {"data": {"logout": True}}
    assert response.headers["set-cookie"].startswith('access_token="";')
    assert [await api.me(t) for t in (token, other)] == [None, None]
    assert await api.me(bobs) is not None
    assert await api(LOGOUT_EVERYWHERE) == {"data": {"logout": True}}  # signed out: nothing to end


async def test_revocation_is_seen_at_once_by_another_app_instance(make_app):
    """Two instances on one database, as two server processes are: neither keeps token state."""
    here, there = make_app(), make_app()
    _, token = await here.signed_up("ann@example.com")
    other = await here.login("ann@example.com")
    assert await there.me(token) is not None
    assert await there.me(other) is not None

    await here(REVOKE, {"id": str(_claims(other).session_id)}, token=token)
    assert await there.me(other) is None

    await here("mutation { logout }", token=token)
    assert await there.me(token) is None
