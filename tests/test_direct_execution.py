"""Operations run without Strawberry's per-operation wrapper (`graphql/direct_execution.py`) answer as
Strawberry's own path does, the wrapper runs wherever it could add something, and the switch turns it off.

The generated queries of `test_differential.py` and the library schema of `test_execution.py` compare
the same two ways on many more documents; here are the requests at the edges of the rule: refused
before execution, operation names, operation types, variables, errors raised while executing.
"""

import re
from collections.abc import Iterator

import httpx
import pytest
from strawberry.extensions import SchemaExtension

from lunchtogether.config import Environment, Settings
from lunchtogether.graphql.limits import CheckedDocuments
from lunchtogether.graphql.schema import Schema, build_schema
from tests.support import GraphQL

REQUEST_ID = re.compile(rb'"requestId":"[^"]*"')
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

# (method, JSON body or GET parameters, with a token): each sent to both apps.
REQUESTS: dict[str, tuple[str, dict, bool]] = {
    "root typename": ("POST", {"query": "{ __typename }"}, False),
    "signed out me": ("POST", {"query": "query Me { me { id } }"}, False),
    "signed in me": ("POST", {"query": "query Me { me { id email fullName __typename } }"}, True),
    "does not parse": ("POST", {"query": "{ me { id "}, True),
    "does not validate": ("POST", {"query": "{ me { nope } }"}, True),
    "over a limit": ("POST", {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"}, True),
    "empty query": ("POST", {"query": ""}, True),
    "named operation missing": ("POST", {"query": "query A { me { id } }", "operationName": "B"}, True),
    "two operations, none named": ("POST", {"query": "query A { me { id } } query B { __typename }"}, True),
    "two operations, second named": (
        "POST",
        {"query": "query A { me { id } } query B { __typename }", "operationName": "B"},
        True,
    ),
    "mutation over GET": ("GET", {"query": "mutation { logout(input: {}) { loggedOut } }"}, True),
    "query over GET": ("GET", {"query": "query Me { me { fullName } }"}, True),
    "subscription": ("POST", {"query": "subscription S { me { id } }"}, True),
    "missing variable": ("POST", {"query": "query U($id: ID!) { user(id: $id) { id } }"}, True),
    "variable of the wrong type": (
        "POST",
        {"query": "query U($first: Int) { users(first: $first) { totalCount } }", "variables": {"first": "x"}},
        True,
    ),
    "resolver refuses an argument": ("POST", {"query": '{ user(id: "not-a-uuid") { id } }'}, True),
    "resolver refuses the caller": ("POST", {"query": "{ users { totalCount } }"}, False),
    "null from a nullable field": ("POST", {"query": f'{{ user(id: "{UNKNOWN_ID}") {{ id }} }}'}, True),
    "page with a bad cursor": ("POST", {"query": '{ users(after: "garbage") { totalCount } }'}, True),
    "mutation refused by input": (
        "POST",
        {
            "query": "mutation R($input: RegisterInput!) { register(input: $input) { user { id } } }",
            "variables": {"input": {"email": "not an email", "password": "long enough pass", "fullName": "X"}},
        },
        False,
    ),
    "mutation refused to the signed out": (
        "POST",
        {"query": 'mutation { changePassword(input: {currentPassword: "a", newPassword: "b"}) }'},
        False,
    ),
    "operation extensions": ("POST", {"query": "{ __typename }", "extensions": {"anything": [1, 2]}}, True),
}


@pytest.fixture
async def both_ways(make_app) -> tuple[GraphQL, GraphQL]:
    """The app with the shortcut (its default) and one with GRAPHQL_FAST_EXECUTION off."""
    return make_app(graphql_fast_execution=True), make_app(graphql_fast_execution=False)


@pytest.mark.parametrize("name", REQUESTS)
async def test_an_operation_run_directly_answers_as_strawberry_does(both_ways, name):
    direct, strawberry_path = both_ways
    await direct.register("ann@example.com")
    token = await direct.login("ann@example.com")
    method, request, signed_in = REQUESTS[name]
    headers = {"Authorization": f"Bearer {token}"} if signed_in else {}

    answers = []
    for api in (direct, strawberry_path):
        api.client.cookies.clear()
        if method == "GET":
            answers.append(await api.client.get("/graphql", params=request, headers=headers))
        else:
            answers.append(await api.client.post("/graphql", json=request, headers=headers))

    assert _comparable(answers[0]) == _comparable(answers[1]), f"{answers[0].text}\n{answers[1].text}"
    assert answers[0].status_code < 500


def _comparable(response: httpx.Response) -> tuple[int, str | None, bytes]:
    return (
        response.status_code,
        response.headers.get("content-type"),
        REQUEST_ID.sub(b'"requestId":""', response.content),
    )


class CountingHooks(SchemaExtension):
    """An extension that counts the phases it saw, as any extension added to the schema would hook in."""

    phases: list[str]

    def on_operation(self) -> Iterator[None]:
        self.phases.append("operation")
        yield

    def on_execute(self) -> Iterator[None]:
        self.phases.append("execute")
        yield


def _schema(*, fast_execution: bool) -> Schema:
    settings = Settings(_env_file=None, environment=Environment.DEVELOPMENT, graphql_fast_execution=fast_execution)
    return build_schema(settings)


def _count_made(schema: Schema) -> list[str]:
    """Replaces the schema's own extension factory by one that records every extension made from it."""
    made: list[str] = []
    policy = schema.policy

    def checked_documents() -> CheckedDocuments:
        made.append("CheckedDocuments")
        return CheckedDocuments(policy)

    schema.extensions = (checked_documents,)
    return made


async def test_the_wrapper_is_left_out_only_where_it_adds_nothing():
    direct, switched_off = _schema(fast_execution=True), _schema(fast_execution=False)
    made_direct, made_off = _count_made(direct), _count_made(switched_off)

    assert (await direct.execute("{ __typename }")).data == {"__typename": "Query"}
    assert (await switched_off.execute("{ __typename }")).data == {"__typename": "Query"}
    invalid = await direct.execute("{ nope }")

    assert made_direct == ["CheckedDocuments"]  # only the invalid document went through Strawberry
    assert invalid.errors is not None
    assert invalid.errors[0].message == "Cannot query field 'nope' on type 'Query'."
    assert made_off == ["CheckedDocuments"]


async def test_an_added_extension_runs_every_phase_of_every_operation():
    schema = _schema(fast_execution=True)
    phases: list[str] = []

    def counting() -> CountingHooks:
        hooks = CountingHooks()
        hooks.phases = phases
        return hooks

    schema.extensions = (*schema.extensions, counting)  # as Sentry's integration adds its own

    result = await schema.execute("query Me { __typename }")

    assert result.data == {"__typename": "Query"}
    assert phases == ["operation", "execute"]
