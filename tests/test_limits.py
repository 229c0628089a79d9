"""Query limits: refused before execution, as request errors."""

import pytest

from tests.support import LOGIN, PASSWORD, code


def _refused(response, fragment: str) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" not in body, body  # never executed
    assert fragment in body["errors"][0]["message"], body


async def test_deep_queries_are_refused(make_app):
    """The schema is 3 deep today (users > edges > node), so the limit is lowered to show it."""
    api = make_app(graphql_max_depth=2)
    users = "{ users { edges { node { id } } } }"

    _refused(await api.post(users), "exceeds maximum operation depth of 2")
    assert (await api.post("{ me { id } }")).json() == {"data": {"me": None}}


def _aliased_logins(count: int) -> str:
    arguments = 'input: {email: "ann@example.com", password: "wrong-password"}'
    return "mutation { " + " ".join(f"a{n}: login({arguments}) {{ accessToken }}" for n in range(count)) + " }"


async def test_aliases_over_the_limit_are_refused_before_any_login_is_tried(make_app):
    api = make_app(rate_limit_login_per_email="5/minute")
    await api.register("ann@example.com")

    _refused(await api.post(_aliased_logins(16)), "16 aliases found. Allowed: 15")
    _refused(await api.post(_aliased_logins(200)), "more than 2000 tokens")

    assert await api.can_log_in("ann@example.com")  # none of them counted against the limit


async def test_documents_over_the_token_limit_are_refused(api):
    _refused(await api.post("{ me { " + "id " * 2500 + "} }"), "more than 2000 tokens")


async def test_too_many_directives_are_refused(api):
    fields = " ".join(f"f{n}: id @include(if: true)" for n in range(11))

    _refused(await api.post(f"{{ me {{ {fields} }} }}"), "directives found")


@pytest.mark.parametrize(
    "query",
    [
        "{ " + "users(first: 1) { totalCount } " * 200 + "}",
        "{ me { " + "id " * 4 + "} }",
        "{ "
        + " ".join(f"...F{n}" for n in range(60))
        + " } "
        + " ".join(f"fragment F{n} on Query {{ users {{ totalCount }} }}" for n in range(60)),
    ],
    ids=["fields", "scalars", "fragments"],
)
async def test_a_field_repeated_at_one_place_is_refused_before_validation(api, query):
    _refused(await api.post(query), "times at one place")


async def test_ordinary_repetition_is_fine(api):
    result = await api("{ me { id id } a: me { id } ...F } fragment F on Query { me { id } }")

    assert result == {"data": {"me": None, "a": None}}


async def test_batching_is_bounded_when_enabled(make_app):
    api = make_app(graphql_batching=True, graphql_max_batch_size=2)
    operation = {"query": "{ me { id } }"}

    accepted = await api.client.post("/graphql", json=[operation, operation])
    too_many = await api.client.post("/graphql", json=[operation] * 3)
    empty = await api.client.post("/graphql", json=[])

    assert accepted.json() == [{"data": {"me": None}}, {"data": {"me": None}}]
    assert too_many.status_code == empty.status_code == 400


async def test_batched_logins_count_one_attempt_each(make_app):
    api = make_app(graphql_batching=True, graphql_max_batch_size=5, rate_limit_login_per_email="2/minute")
    await api.register("ann@example.com")
    attempt = {"query": LOGIN, "variables": {"input": {"email": "ann@example.com", "password": PASSWORD}}}

    results = (await api.client.post("/graphql", json=[attempt] * 3)).json()

    assert ["errors" in result for result in results] == [False, False, True]
    assert code(results[2]) == "RATE_LIMITED"


async def test_the_body_limit_is_a_setting(make_app):
    api = make_app(max_request_body_size=2048)

    response = await api.client.post("/graphql", json={"query": "{ me { id } }", "variables": {"x": "y" * 3000}})

    assert response.status_code == 413
