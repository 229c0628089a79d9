"""Talking to the app the way a client does: GraphQL documents over HTTP."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { user { id email fullName isActive isVerified isSuperuser createdAt updatedAt } }
}"""
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken expiresAt user { id email fullName } }
}"""
ME = "query Me { me { id email fullName isActive isSuperuser } }"
PASSWORD = "correct horse battery"
# Outside the checkout, and kept between runs (Python checks each file against its source).
PYCACHE = Path(tempfile.gettempdir()) / "lunchtogether-test-pycache"


def python_environment(**variables: str) -> dict[str, str]:
    """The environment of a `lunchtogether` child process: ours, with `variables`.

    Bytecode is cached, under PYCACHE, so that each child does not compile the whole app
    again: that alone takes seconds, and a test here starts several.
    """
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return environment | {"PYTHONPYCACHEPREFIX": str(PYCACHE)} | variables


class GraphQL:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        # ASCII-escaped, as browsers send it, so that lone surrogates can be sent at all.
        body = json.dumps({"query": query, "variables": variables}).encode()
        return await self.client.post("/graphql", content=body, headers=headers)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict:
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        return response.json()

    async def register(self, email: str, *, password: str = PASSWORD, full_name: str = "Test User") -> dict:
        result = await self(REGISTER, {"input": {"email": email, "password": password, "fullName": full_name}})
        assert "errors" not in result, result
        return result["data"]["register"]["user"]

    async def login(self, email: str, *, password: str = PASSWORD) -> str:
        result = await self(LOGIN, {"input": {"email": email, "password": password}})
        assert "errors" not in result, result
        return result["data"]["login"]["accessToken"]

    async def signed_up(self, email: str, *, full_name: str = "Test User") -> tuple[dict, str]:
        """A new user and a token of theirs."""
        user = await self.register(email, full_name=full_name)
        return user, await self.login(email)

    async def me(self, token: str | None = None) -> dict | None:
        result = await self(ME, token=token)
        assert "errors" not in result, result
        return result["data"]["me"]


def error(result: dict) -> dict:
    """The one error of a result, asserting there is exactly one."""
    errors = result.get("errors")
    assert errors is not None, result
    assert len(errors) == 1, result
    return errors[0]


def code(result: dict) -> str:
    return error(result)["extensions"]["code"]
