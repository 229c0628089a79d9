"""With no database to talk to: health stays up, readiness says no, auth fails closed."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest

from lunchtogether.core.security import TokenCodec
from lunchtogether.main import create_app
from tests.support import ME, TEST_SECRET, make_settings

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"


@pytest.fixture
async def outage_client():
    app = create_app(make_settings(UNREACHABLE))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


async def test_health_stays_up_and_readiness_says_unavailable(outage_client):
    assert (await outage_client.get("/health")).status_code == 200
    ready = await outage_client.get("/health/ready")
    assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})


async def test_a_signed_in_request_fails_closed(outage_client):
    codec = TokenCodec(secret=TEST_SECRET, algorithm="HS256", lifetime=timedelta(hours=1))
    issued = codec.issue(uuid4(), uuid4(), not_after=datetime.now(UTC) + timedelta(days=1))
    headers = {"Authorization": f"Bearer {issued.token}"}

    me = await outage_client.post("/graphql", json={"query": ME}, headers=headers)
    logout = await outage_client.post("/graphql", json={"query": "mutation { logout }"}, headers=headers)

    assert me.json()["data"] == {"me": None}
    assert me.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"  # not silently signed out
    assert logout.json()["data"] is None  # does not claim true
    assert logout.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


async def test_a_malformed_token_is_signed_out_without_the_database(outage_client):
    response = await outage_client.post("/graphql", json={"query": ME}, headers={"Authorization": "Bearer x.y.z"})

    assert response.json() == {"data": {"me": None}}


async def test_a_database_failure_is_an_internal_error_that_says_nothing_of_the_cause(outage_client):
    body = {"query": 'mutation { login(input: {email: "ann@example.com", password: "whatever1"}) { accessToken } }'}

    response = await outage_client.post("/graphql", json=body)

    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": response.headers["x-request-id"]}
    assert "9" not in error["message"]
    assert "Wrong email or password" not in response.text
