"""Property-based fuzzing of every input a client can send: never a 500, never a leak."""

import asyncio
import json

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lunchtogether.main import create_app
from tests.support import make_settings

LEAKS = ("Traceback", "sqlalchemy", "asyncpg", "sqlite", "psycopg", "SELECT", "INSERT", "Exception", 'File "')
FUZZ = hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# Anything JSON can carry: lone surrogates and NUL included, large and small numbers, nesting.
text = st.text(st.characters(codec=None), max_size=120) | st.sampled_from(["", " ", "\x00", "\ud800", "a" * 5000])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=8,
)
maybe = lambda strategy: strategy | json_values  # noqa: E731 - a strategy or anything at all

OPERATIONS = {
    "register": (
        "mutation ($i: RegisterInput!) { register(input: $i) { user { id email } } }",
        st.fixed_dictionaries(
            {"i": st.fixed_dictionaries({"email": maybe(text), "password": maybe(text), "fullName": maybe(text)})}
        ),
    ),
    "login": (
        "mutation ($i: LoginInput!) { login(input: $i) { accessToken } }",
        st.fixed_dictionaries({"i": st.fixed_dictionaries({"email": maybe(text), "password": maybe(text)})}),
    ),
    "users": (
        "query ($first: Int, $after: String, $search: String) "
        "{ users(first: $first, after: $after, search: $search) { totalCount } }",
        st.fixed_dictionaries({"first": maybe(st.integers(-5, 200)), "after": maybe(text), "search": maybe(text)}),
    ),
    "updateUser": (
        "mutation ($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id } }",
        st.fixed_dictionaries(
            {
                "id": maybe(text),
                "i": st.dictionaries(
                    st.sampled_from(["fullName", "email", "isActive", "isVerified", "isSuperuser", "other"]),
                    json_values,
                    max_size=4,
                ),
            }
        ),
    ),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_fuzzed_inputs_never_fail_the_server(settings, operation):
    query, variables = OPERATIONS[operation]
    with asyncio.Runner() as runner:
        app = create_app(make_settings(settings.sqlalchemy_url))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        token = runner.run(_signed_in(client))
        tried: list[int] = []

        @FUZZ
        @given(variables)
        def check(values: dict) -> None:
            body = json.dumps({"query": query, "variables": values}).encode()  # ASCII: surrogates travel escaped
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            response = runner.run(client.post("/graphql", content=body, headers=headers))
            tried.append(response.status_code)
            assert response.status_code in {200, 400}, response.text
            payload = response.json()
            codes = {error.get("extensions", {}).get("code") for error in payload.get("errors", [])}
            assert "INTERNAL_SERVER_ERROR" not in codes, payload
            for leak in LEAKS:
                assert leak not in response.text, response.text

        try:
            check()
            assert len(tried) >= FUZZ.max_examples  # the fuzzer really ran
        finally:
            runner.run(client.aclose())
            runner.run(app.state.engine.dispose())


async def _signed_in(client: httpx.AsyncClient) -> str:
    email = "fuzzer@example.com"
    register = "mutation ($i: RegisterInput!) { register(input: $i) { user { id } } }"
    login = "mutation ($i: LoginInput!) { login(input: $i) { accessToken } }"
    credentials = {"email": email, "password": "a long fuzzing secret"}
    await client.post("/graphql", json={"query": register, "variables": {"i": credentials | {"fullName": "Fuzzer"}}})
    response = await client.post("/graphql", json={"query": login, "variables": {"i": credentials}})
    return response.json()["data"]["login"]["accessToken"]
