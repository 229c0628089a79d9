"""Production mode: no explorer, no introspection, no suggestions, Secure cookies."""

import httpx
import pytest

from lunchtogether.main import create_app
from tests.support import PRODUCTION_EMAIL, GraphQL, code, make_settings


@pytest.fixture
async def production_api(settings):
    app = create_app(make_settings(settings.sqlalchemy_url, environment="production", **PRODUCTION_EMAIL))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as production_client:
        yield GraphQL(production_client)
    await app.state.engine.dispose()


async def test_cookies_are_secure(production_api):
    await production_api.register("ann@example.com")

    response = await production_api.post(
        'mutation { login(input: {email: "ann@example.com", password: "correct horse battery"}) { accessToken } }'
    )

    assert "Secure" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]


async def test_introspection_is_off(production_api):
    result = await production_api("{ __schema { types { name } } }")

    assert "introspection" in result["errors"][0]["message"].lower()
    assert "data" not in result


async def test_field_suggestions_are_off(production_api):
    result = await production_api("{ mee { id } }")

    assert "Did you mean" not in result["errors"][0]["message"]


async def test_the_explorer_is_off(production_api):
    response = await production_api.client.get("/graphql", headers={"Accept": "text/html"})

    assert "graphiql" not in response.text.lower()
    assert response.status_code in {400, 406}


async def test_domain_errors_still_say_what_is_wrong(production_api):
    result = await production_api("{ users { totalCount } }")

    assert code(result) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ users(frist: 2) { totalCount } }", None),
        ('mutation { register(input: {emial: "a@b.co", password: "x", fullName: "y"}) { user { id } } }', None),
        ("query ($first: Itn) { users(first: $first) { totalCount } }", None),
        (
            "mutation ($i: RegisterInput!) { register(input: $i) { user { id } } }",
            {"i": {"emial": "a@b.co", "password": "x", "fullName": "y"}},
        ),
        ("{ mee { id } }", None),
    ],
    ids=["argument", "input field", "type", "variable field", "field"],
)
async def test_no_suggestions_for_any_name(production_api, query, variables):
    response = await production_api.post(query, variables)

    message = response.json()["errors"][0]["message"]
    assert "Did you mean" not in message
    assert message  # still says what is wrong


async def test_development_keeps_suggestions(api):
    result = await api("{ users(frist: 2) { totalCount } }")

    assert "Did you mean 'first'?" in result["errors"][0]["message"]
