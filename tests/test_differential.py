"""The shortcuts change nothing a client can see: random queries over the live schema, answered by an app
with every shortcut on (the execution plan, `graphql/plan.py`, among them) and by one with all of them off
(graphql-core's own execution), give the same bytes: data with its key order, errors with their paths,
locations and extensions, status and content type.

A few hundred queries by default, from a fixed seed; more on demand:
`DIFFERENTIAL_QUERIES=5000 DIFFERENTIAL_SEED=7 uv run pytest tests/test_differential.py`.
"""

import asyncio
import json
import os
import random
import re
from dataclasses import dataclass, field
from typing import Any

import graphql
import httpx
import pytest
from graphql import GraphQLField, GraphQLObjectType, Undefined, get_named_type

from lunchtogether.config import Settings
from lunchtogether.graphql.schema import export_schema
from tests.support import GraphQL, make_superuser

QUERIES = int(os.environ.get("DIFFERENTIAL_QUERIES", "200"))
SEED = int(os.environ.get("DIFFERENTIAL_SEED", "20261204"))
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
# The one part of an answer that differs between two requests.
REQUEST_ID = re.compile(rb'"requestId":"[^"]*"')


@dataclass
class Values:
    """What arguments are drawn from: good values, and values that are null or refused."""

    user_ids: list[str]
    cursors: list[str]
    tokens: list[str | None]  # signed in more often than not: a signed-out page is null as a whole

    def argument(self, rng: random.Random, type_name: str, field_name: str, argument: str) -> Any:
        pools: dict[tuple[str, str, str], list[Any]] = {
            ("Query", "user", "id"): [*self.user_ids, UNKNOWN_ID, "not-a-uuid", ""],
            ("Query", "users", "first"): [1, 2, 3, 5, 20, 100, 0, -1, 101],
            ("Query", "users", "after"): [*self.cursors, None, "garbage", ""],
            ("Query", "users", "search"): [None, "", "ann", "TEST", "%", "_", "zzz"],
        }
        return rng.choice(pools[(type_name, field_name, argument)])


@dataclass
class Operation:
    name: str
    variables: list[str] = field(default_factory=list)  # `$name: Type` definitions


@dataclass
class Request:
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    token: str | None
    accept: str


# Introspection a query may select: each entry's selections are drawn from at random. `__typename` is
# among them, so that it is asked of introspection's own types too.
INTROSPECTION: dict[str, list[str]] = {
    "__schema": [
        "__typename",
        "queryType { name __typename }",
        "mutationType { name }",
        "subscriptionType { name }",
        "types { name kind }",
        "directives { name locations args { name } }",
    ],
    "__type": [
        "__typename",
        "name",
        "kind",
        "description",
        "fields { name isDeprecated args { name defaultValue type { name kind ofType { name } } } }",
        "fields(includeDeprecated: true) { name type { kind ofType { kind ofType { name } } } }",
        "inputFields { name defaultValue }",
        "enumValues { name }",
    ],
}
TYPE_NAMES = ["Query", "Mutation", "User", "UserConnection", "String", "LoginInput", "Unknown", ""]


class Documents:
    """Random documents over a schema: aliases, fragments, `@skip`/`@include`, `__typename`, several operations,
    introspection."""

    def __init__(self, query_type: GraphQLObjectType, values: Values, rng: random.Random) -> None:
        self._query_type = query_type
        self._values = values
        self._rng = rng
        self._count = 0
        # Of the request being made.
        self._fragments: list[str] = []
        self._variables: dict[str, Any] = {}

    def request(self) -> Request:
        self._fragments, self._variables = [], {}
        operations = [Operation(self._name("Op")) for _ in range(self._rng.choice([1, 1, 1, 2, 3]))]
        bodies = [self._selection_set(self._query_type, operation) for operation in operations]
        if len(operations) == 1 and not operations[0].variables and self._rng.random() < 0.3:
            texts = bodies  # the shorthand: one anonymous operation
            operation_name = None
        else:
            texts = [
                f"query {operation.name}{self._definitions(operation)} {body}"
                for operation, body in zip(operations, bodies, strict=True)
            ]
            # Now and then no name: with several operations, a request error.
            operation_name = None if self._rng.random() < 0.1 else self._rng.choice(operations).name
        query = "\n".join(self._rng.sample(texts, len(texts)) + self._fragments)
        token = self._rng.choice(self._values.tokens)
        accept = self._rng.choice(["application/json", "application/graphql-response+json"])
        return Request(query, self._variables, operation_name, token, accept)

    def _selection_set(self, type_: GraphQLObjectType, operation: Operation) -> str:
        selections = [self._selection(type_, operation) for _ in range(self._rng.randint(1, 3))]
        return "{ " + " ".join(selections) + " }"

    def _selection(self, type_: GraphQLObjectType, operation: Operation) -> str:
        roll = self._rng.random()
        if roll < 0.07:
            return "__typename"
        if roll < 0.1 and type_ is self._query_type:
            return self._introspection(operation)
        if roll < 0.13:
            on = self._rng.choice([f"on {type_.name} ", ""])
            return f"... {on}{self._directive(operation)}{self._selection_set(type_, operation)}"
        if roll < 0.19:
            name = self._name("F")
            self._fragments.append(f"fragment {name} on {type_.name} {self._selection_set(type_, operation)}")
            return f"...{name}{self._directive(operation)}"
        return self._field(type_, operation)

    def _field(self, type_: GraphQLObjectType, operation: Operation) -> str:
        name, definition = self._rng.choice(sorted(type_.fields.items()))
        # Mostly aliased where there are arguments: the same name with other arguments is a conflict.
        alias = f"{self._name('a')}: " if self._rng.random() < (0.8 if definition.args else 0.2) else ""
        arguments = self._arguments(type_, name, definition, operation)
        named = get_named_type(definition.type)
        selections = self._selection_set(named, operation) if isinstance(named, GraphQLObjectType) else ""
        return f"{alias}{name}{arguments} {self._directive(operation)}{selections}".strip()

    def _introspection(self, operation: Operation) -> str:
        field = self._rng.choice(sorted(INTROSPECTION))
        pool = INTROSPECTION[field]
        selections = " ".join(self._rng.sample(pool, self._rng.randint(1, 3)))
        alias = f"{self._name('i')}: " if self._rng.random() < 0.5 else ""
        arguments = ""
        if field == "__type":
            type_name = json.dumps(self._rng.choice(TYPE_NAMES))
            if self._rng.random() < 0.5:
                variable = self._name("t")
                operation.variables.append(f"${variable}: String!")
                self._variables[variable] = json.loads(type_name)
                type_name = f"${variable}"
            arguments = f"(name: {type_name})"
        return f"{alias}{field}{arguments} {self._directive(operation)}{{ {selections} }}"

    def _arguments(self, type_: GraphQLObjectType, name: str, definition: GraphQLField, operation: Operation) -> str:
        given: list[str] = []
        for argument, argument_definition in definition.args.items():
            optional = argument_definition.default_value is not Undefined or graphql.is_nullable_type(
                argument_definition.type
            )
            if optional and self._rng.random() < 0.3:
                continue  # left out: its default, or null
            value = self._values.argument(self._rng, type_.name, name, argument)
            if self._rng.random() < 0.5:
                variable = self._name("v")
                operation.variables.append(f"${variable}: {argument_definition.type}")
                self._variables[variable] = value
                given.append(f"{argument}: ${variable}")
            else:
                given.append(f"{argument}: {json.dumps(value)}")
        if self._rng.random() < 0.03 and given:
            given.pop()  # now and then: a required argument missing, or a variable unused, is a validation error
        return f"({', '.join(given)})" if given else ""

    def _directive(self, operation: Operation) -> str:
        roll = self._rng.random()
        if roll < 0.92:
            return ""
        directive = self._rng.choice(["skip", "include"])
        if roll < 0.95:
            return f"@{directive}(if: {self._rng.choice(['true', 'false'])}) "
        variable = self._name("b")
        operation.variables.append(f"${variable}: Boolean!")
        self._variables[variable] = self._rng.choice([True, False])
        return f"@{directive}(if: ${variable}) "

    def _definitions(self, operation: Operation) -> str:
        return f"({', '.join(operation.variables)})" if operation.variables else ""

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"


async def _values(api: GraphQL, settings: Settings) -> Values:
    names = ["Ann Lee", "Bob Test", "Cy 100%", "Dee_Underscore", "Eve Annex"]
    users = [await api.register(f"user{n}@example.com", full_name=name) for n, name in enumerate(names)]
    superuser = await make_superuser(settings, api)
    user = await api.login("user0@example.com")
    tokens = [None, "not-a-token", user, user, user, superuser, superuser]
    page = await api("{ users(first: 3) { edges { cursor } } }", token=user)
    cursors = [edge["cursor"] for edge in page["data"]["users"]["edges"]]
    return Values(user_ids=[user["id"] for user in users], cursors=cursors, tokens=tokens)


# The test sets both ways itself, so the pass without shortcuts would only repeat the PostgreSQL one.
@pytest.mark.parametrize("suite_pass", ["postgresql", "sqlite"], indirect=True)
async def test_every_shortcut_on_and_all_of_them_off_answer_the_same(make_app, settings):
    shortcuts = make_app(graphql_fast_execution=True, database_native_reads=True)
    library = make_app(graphql_fast_execution=False, database_native_reads=False)
    values = await _values(shortcuts, settings)
    shortcuts.client.cookies.clear()  # signing in set one: each request brings its own token or none
    query_type = graphql.build_schema(export_schema()).query_type
    assert query_type is not None
    documents = Documents(query_type, values, random.Random(SEED))
    outcomes = {"data": 0, "errors": 0, "introspection": 0}

    for _ in range(QUERIES):
        request = documents.request()
        body = {"query": request.query, "variables": request.variables, "operationName": request.operation_name}
        answers = await asyncio.gather(
            *(api.client.post("/graphql", json=body, headers=_headers(request)) for api in (shortcuts, library))
        )

        with_shortcuts, without = (_comparable(answer) for answer in answers)
        assert with_shortcuts == without, f"{request}\n{answers[0].text}\n{answers[1].text}"
        assert b"INTERNAL_SERVER_ERROR" not in with_shortcuts[2], f"{request}\n{answers[0].text}"
        answer = answers[0].json()
        outcomes["data"] += answer.get("data") is not None
        outcomes["errors"] += "errors" in answer
        outcomes["introspection"] += "__schema" in request.query or "__type(" in request.query

    # Both kinds of answer are compared often enough for the comparison to mean something.
    assert outcomes["data"] > QUERIES // 3, outcomes
    assert outcomes["errors"] > QUERIES // 10, outcomes
    assert outcomes["introspection"] > QUERIES // 50, outcomes


def _headers(request: Request) -> dict[str, str]:
    return {"Accept": request.accept} | ({"Authorization": f"Bearer {request.token}"} if request.token else {})


def _comparable(response: httpx.Response) -> tuple[int, str, bytes]:
    return response.status_code, response.headers["content-type"], REQUEST_ID.sub(b'"requestId":""', response.content)
