"""Brute-force protection: per attempt, per email and per client, shared through Redis."""

import uuid

from tests.support import LOGIN, PASSWORD, REGISTER, code, error


def _aliased_logins(password: str, count: int) -> str:
    arguments = f'input: {{email: "ann@example.com", password: "{password}"}}'
    return "mutation { " + " ".join(f"a{n}: login({arguments}) {{ accessToken }}" for n in range(count)) + " }"


def _login(email: str, password: str = PASSWORD) -> dict:
    return {"input": {"email": email, "password": password}}


async def test_logins_per_email_are_limited_even_with_the_right_password(make_app):
    api = make_app(rate_limit_login_per_email="3/minute")
    await api.register("ann@example.com")

    wrong = [await api(LOGIN, _login("ann@example.com", "wrong password")) for _ in range(3)]
    blocked = await api(LOGIN, _login("ANN@example.com"))

    assert [code(result) for result in wrong] == ["UNAUTHENTICATED"] * 3
    assert code(blocked) == "RATE_LIMITED"
    retry_after = error(blocked)["extensions"]["retryAfter"]
    assert 0 < retry_after <= 60
    assert code(await api(LOGIN, _login("bob@example.com", "anything1"))) == "UNAUTHENTICATED"  # other emails go on


async def test_aliased_logins_count_one_attempt_each(make_app):
    api = make_app(rate_limit_login_per_email="2/minute")
    await api.register("ann@example.com")
    result = await api(_aliased_logins(PASSWORD, 3))

    # Mutations run in order; the third is refused (and, being non-null, nulls the whole result).
    assert code(result) == "RATE_LIMITED"
    assert error(result)["path"] == ["a2"]


async def test_a_failed_aliased_login_stops_the_rest(make_app):
    """login is non-null: the first wrong password ends the operation, so aliases buy an attacker nothing."""
    api = make_app(rate_limit_login_per_email="3/minute")
    await api.register("ann@example.com")
    result = await api(_aliased_logins("wrong password", 5))

    assert code(result) == "UNAUTHENTICATED"
    # Only one attempt of the three was used: two more sign in, and the next is refused.
    assert [await api.can_log_in("ann@example.com") for _ in range(3)] == [True, True, False]


async def test_logins_per_client_are_limited_across_emails(make_app):
    api = make_app(rate_limit_login_per_ip="3/minute")

    results = [await api(LOGIN, _login(f"user{n}@example.com")) for n in range(4)]

    assert [code(result) for result in results] == ["UNAUTHENTICATED"] * 3 + ["RATE_LIMITED"]


async def test_a_forged_forwarded_for_does_not_make_a_new_client(make_app):
    api = make_app(rate_limit_login_per_ip="2/minute")

    async def attempt(forwarded_for: str) -> dict:
        response = await api.client.post(
            "/graphql",
            json={"query": LOGIN, "variables": _login("x@example.com", "nope nope")},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return response.json()

    codes = [code(await attempt(f"203.0.113.{n}")) for n in range(3)]

    assert codes == ["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]


async def test_forwarded_for_counts_behind_a_trusted_proxy(make_app):
    api = make_app(rate_limit_login_per_ip="1/minute", trusted_proxies="127.0.0.1")

    async def attempt(forwarded_for: str) -> dict:
        response = await api.client.post(
            "/graphql",
            json={"query": LOGIN, "variables": _login(f"{uuid.uuid4().hex}@example.com", "nope nope")},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return response.json()

    assert code(await attempt("203.0.113.1")) == "UNAUTHENTICATED"
    assert code(await attempt("203.0.113.2")) == "UNAUTHENTICATED"
    assert code(await attempt("198.51.100.7, 203.0.113.1")) == "RATE_LIMITED"  # the proxy appended .1


async def test_registrations_per_client_are_limited(make_app):
    api = make_app(rate_limit_register="2/hour")

    results = [
        await api(REGISTER, {"input": {"email": f"user{n}@example.com", "password": PASSWORD, "fullName": "U"}})
        for n in range(3)
    ]

    assert ["errors" in result for result in results] == [False, False, True]
    assert code(results[2]) == "RATE_LIMITED"


async def test_two_server_instances_share_one_count_through_redis(make_app, redis_url):
    first = make_app(redis_url=redis_url, rate_limit_login_per_email="2/minute")
    second = make_app(redis_url=redis_url, rate_limit_login_per_email="2/minute")
    await first.register("ann@example.com")

    results = [
        await first(LOGIN, _login("ann@example.com", "wrong one")),
        await second(LOGIN, _login("ann@example.com", "wrong two")),
        await first(LOGIN, _login("ann@example.com")),
    ]

    assert [code(result) for result in results] == ["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]


async def test_in_memory_counts_are_per_instance(make_app):
    first = make_app(rate_limit_login_per_email="1/minute")
    second = make_app(rate_limit_login_per_email="1/minute")
    await first.register("ann@example.com")

    assert "errors" not in await first(LOGIN, _login("ann@example.com"))
    assert "errors" not in await second(LOGIN, _login("ann@example.com"))


CHANGE_PASSWORD = "mutation ($i: ChangePasswordInput!) { changePassword(input: $i) }"


async def test_password_changes_are_limited_per_user(make_app):
    api = make_app(rate_limit_change_password="2/minute")
    _, token = await api.signed_up("ann@example.com")
    attempt = {"i": {"currentPassword": "wrong password", "newPassword": "a new long secret"}}

    results = [await api(CHANGE_PASSWORD, attempt, token=token) for _ in range(3)]

    assert [code(result) for result in results] == ["BAD_USER_INPUT", "BAD_USER_INPUT", "RATE_LIMITED"]


async def test_a_second_aliased_password_change_sees_the_first(make_app):
    api = make_app()
    _, token = await api.signed_up("ann@example.com")
    change = 'changePassword(input: {currentPassword: "%s", newPassword: "%s"})'
    query = (
        "mutation { a: "
        + change % (PASSWORD, "second secret 2")
        + " b: "
        + change % (PASSWORD, "third secret 3")
        + " }"
    )

    result = await api(query, token=token)

    assert error(result)["path"] == ["b"]  # b's current password is no longer current
    assert error(result)["extensions"]["fields"] == {"currentPassword": "is incorrect"}
    assert await api.can_log_in("ann@example.com", password="second secret 2")
