"""Reading plain fields directly answers exactly as graphql-core and Strawberry do, errors included."""

import asyncio
import enum
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import DirectiveLocation, GraphQLResolveInfo, SourceLocation
from strawberry.dataloader import DataLoader
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult
from strawberry.types.field import StrawberryField

from lunchtogether.config import Environment, Settings
from lunchtogether.graphql.execution import plain_fields
from lunchtogether.graphql.plan import PlannedExecutionContext
from lunchtogether.graphql.schema import build_schema


@strawberry.enum
class Mood(enum.Enum):
    HUNGRY = "hungry"


@strawberry.type
class Tag:
    label: str
    fails_later: bool

    @strawberry.field
    async def later(self) -> str:
        if self.fails_later:
            raise ValueError("failed while awaited")
        return self.label


@strawberry.type
class Item:
    name: str
    nickname: str | None
    count: int
    mood: Mood
    tag: Tag
    maybe_tag: Tag | None
    extra: JSON  # completes to a dict: graphql-core's way, not a leaf reader's

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    items: list[Item | None]  # an item with an error in a non-null field becomes null, the others stay


def _item(name: Any = "item", **changes: Any) -> Item:
    """An item, with wrong values where a case needs them."""
    values: dict[str, Any] = {
        "name": name,
        "nickname": None,
        "count": 1,
        "mood": Mood.HUNGRY,
        "tag": Tag(label="t", fails_later=False),
        "maybe_tag": None,
        "extra": {"kept": [1, "as is"]},
    }
    return Item(**(values | changes))


ITEMS: list[Item | None] = [
    _item("plain", maybe_tag=Tag(label="m", fails_later=False)),
    _item(None),  # null in a non-null field
    _item("bad int", count="three"),
    _item("too big", count=2**40),
    _item("exception", nickname=ValueError("kept as a value")),
    _item("bad enum", mood="sad"),
    _item("null object", tag=None),
    _item("null inside an object", tag=Tag(label=None, fails_later=False)),  # ty: ignore[invalid-argument-type]
    _item("null inside a nullable object", maybe_tag=Tag(label=None, fails_later=False)),  # ty: ignore[invalid-argument-type]
    _item("fails awaited", maybe_tag=Tag(label="m", fails_later=True)),
    _item("fails awaited, non-null", tag=Tag(label="t", fails_later=True)),
    None,  # a null item of a list that allows them
]
QUERY = "{ items { name nickname count mood shout tag { label later } maybeTag { label later } } }"
# Only plain scalars: each item is answered in one go where it can be.
SCALARS_ONLY = "{ items { name nickname count mood extra } }"


async def _execute(execution_context_class: type[PlannedExecutionContext] | None, query: str = QUERY) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=execution_context_class)
    result = await schema.execute(query, root_value=Query(items=ITEMS))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return {"data": result.data, "errors": errors}


def test_plain_fields_are_the_attribute_fields_of_leaf_and_object_types():
    schema = strawberry.Schema(query=Query)
    found = {t.name: set(fields) for t, fields in plain_fields(schema._schema).items()}
    assert found == {
        "Item": {"name", "nickname", "count", "mood", "tag", "maybeTag", "extra"},
        "Tag": {"label", "failsLater"},
    }


async def test_every_value_answers_as_graphql_core_does():
    assert await _execute(PlannedExecutionContext) == await _execute(None)


async def test_objects_of_plain_scalars_answer_as_graphql_core_does():
    ours = await _execute(PlannedExecutionContext, SCALARS_ONLY)

    assert ours == await _execute(None, SCALARS_ONLY)
    assert ours["data"]["items"][0] == {
        "name": "plain",
        "nickname": None,
        "count": 1,
        "mood": "HUNGRY",
        "extra": {"kept": [1, "as is"]},
    }
    assert len(ours["errors"]) == 5  # null name, two bad counts, an exception, a bad enum


async def test_the_cases_reach_every_error_path():
    result = await _execute(PlannedExecutionContext)
    items = result["data"]["items"]

    assert items[0] == {
        "name": "plain",
        "nickname": None,
        "count": 1,
        "mood": "HUNGRY",
        "shout": "PLAIN",
        "tag": {"label": "t", "later": "t"},
        "maybeTag": {"label": "m", "later": "m"},
    }
    nulled = {index for index, item in enumerate(items) if item is None}
    assert nulled == {1, 2, 3, 5, 6, 7, 10, 11}  # a non-null field failed (or the item is null itself)
    assert items[4]["nickname"] is None  # an exception is an error, the field null
    assert items[8]["maybeTag"] is None  # a non-null field failed inside a nullable object
    assert items[9]["maybeTag"] is None  # the same, found while awaited
    assert {path[:3] for _message, path in result["errors"]} == {
        ("items", 1, "name"),
        ("items", 2, "count"),
        ("items", 3, "count"),
        ("items", 4, "nickname"),
        ("items", 5, "mood"),
        ("items", 6, "tag"),
        ("items", 7, "tag"),
        ("items", 8, "maybeTag"),
        ("items", 9, "maybeTag"),
        ("items", 10, "tag"),
    }


# A schema built as the app builds its own (`build_schema`), with what the live schema does not have
# yet: a permission, a field extension, an interface, attributes that hold awaitables.


class Deny(BasePermission):
    message = "denied"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Shout(FieldExtension):
    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs).upper()


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Dog(Named):
    barks: bool


@strawberry.type
class Cat(Named):
    lives: int


@strawberry.type
class Guarded:
    open: str
    hidden: str | None = strawberry.field(permission_classes=[Deny])
    hidden_required: str = strawberry.field(permission_classes=[Deny])
    shouted: str = strawberry.field(extensions=[Shout()])
    loaded: str  # holds what `DataLoader.load` returns
    loaded_tag: Tag  # the same, for an object
    dog: Dog
    cat: Cat
    dog_or_not: Dog | None  # an object that is not a Dog: the type checks it


def _not_a_dog() -> Any:
    """Has what a Dog has, but is not one (a Named)."""
    return SimpleNamespace(name="Rex", barks=True)


@strawberry.type
class Zoo:
    @strawberry.field
    async def guarded(self) -> Guarded:
        tags = DataLoader(load_fn=_load_tags)
        words = DataLoader(load_fn=_load_words)
        return Guarded(
            open="open",
            hidden="secret",
            hidden_required="secret",
            shouted="quiet",
            loaded=words.load("word"),  # ty: ignore[invalid-argument-type]
            loaded_tag=tags.load("tag"),  # ty: ignore[invalid-argument-type]
            dog=Dog(name="Rex", barks=True),
            cat=Cat(name="Tom", lives=9),
            dog_or_not=_not_a_dog(),
        )

    @strawberry.field
    def animals(self) -> list[Named]:
        return [Dog(name="Rex", barks=True), Cat(name="Tom", lives=9)]


async def _load_words(keys: list[str]) -> list[str]:
    return [f"loaded {key}" for key in keys]


async def _load_tags(keys: list[str]) -> list[Tag]:
    return [Tag(label=key, fails_later=False) for key in keys]


ZOO_QUERIES = {
    "permission": "{ guarded { open hidden } }",
    "permission, non-null": "{ guarded { open hiddenRequired } }",
    "extension": "{ guarded { open shouted } }",
    "awaitable scalar": "{ guarded { open loaded } }",
    "awaitable object": "{ guarded { open loadedTag { label } } }",
    "interface": "{ guarded { dog { name barks } cat { name lives } } }",
    "interface, abstract": "{ animals { name ... on Dog { barks } ... on Cat { lives } } }",
    "checked object": "{ guarded { open dogOrNot { name } } }",
}


def _zoo_schema(*, fast_execution: bool = True) -> strawberry.Schema:
    settings = Settings(_env_file=None, environment=Environment.DEVELOPMENT, graphql_fast_execution=fast_execution)
    return build_schema(settings, query=Zoo, mutation=None)


def _answer(result: ExecutionResult) -> tuple[Any, list[tuple[str, Any, Any]]]:
    errors = [(e.message, e.path, e.locations) for e in result.errors or []]
    return result.data, errors


def test_the_setting_switches_plain_strawberry_execution_on():
    assert _zoo_schema().execution_context_class is PlannedExecutionContext
    assert _zoo_schema(fast_execution=False).execution_context_class is StrawberryGraphQLCoreExecutionContext


@pytest.mark.parametrize("query", ZOO_QUERIES.values(), ids=ZOO_QUERIES.keys())
async def test_fields_with_checks_answer_as_stock_strawberry_does(query):
    stock = strawberry.Schema(query=Zoo)

    ours = _answer(await _zoo_schema().execute(query))

    assert ours == _answer(await stock.execute(query))
    assert ours == _answer(await _zoo_schema(fast_execution=False).execute(query))


async def test_the_checks_are_kept():
    """The cases above are not vacuous: the denied, shouted, awaited and checked values are there."""
    by_query = {name: _answer(await _zoo_schema().execute(query)) for name, query in ZOO_QUERIES.items()}

    assert by_query["permission"] == (
        {"guarded": {"open": "open", "hidden": None}},
        [("denied", ["guarded", "hidden"], [SourceLocation(1, 18)])],
    )
    assert by_query["permission, non-null"][0] is None
    assert by_query["extension"] == ({"guarded": {"open": "open", "shouted": "QUIET"}}, [])
    assert by_query["awaitable scalar"] == ({"guarded": {"open": "open", "loaded": "loaded word"}}, [])
    assert by_query["awaitable object"] == ({"guarded": {"open": "open", "loadedTag": {"label": "tag"}}}, [])
    assert by_query["checked object"][0] == {"guarded": {"open": "open", "dogOrNot": None}}
    assert by_query["checked object"][1][0][0].startswith("Expected value of type 'Dog' but got")


def test_only_fields_that_read_an_attribute_and_nothing_else_are_plain():
    schema = _zoo_schema()
    found = {t.name: set(fields) for t, fields in plain_fields(schema._schema).items()}

    assert found == {
        "Guarded": {"open", "loaded", "loadedTag"},  # `dog` and `cat` are of types that check their values
        "Dog": {"name", "barks"},
        "Cat": {"name", "lives"},
        "Tag": {"label", "failsLater"},
    }


class CountFields(SchemaExtension):
    """Resolves fields (as a tracing extension does): it must see every one."""

    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


async def test_a_schema_extension_that_resolves_sees_every_field():
    schema = strawberry.Schema(query=Query, extensions=[CountFields], execution_context_class=PlannedExecutionContext)
    CountFields.seen.clear()

    result = await schema.execute(SCALARS_ONLY, root_value=Query(items=ITEMS[:1]))

    assert result.errors is None
    assert CountFields.seen == ["items", "name", "nickname", "count", "mood", "extra"]


class TagFromError(strawberry.ExceptionHandler[ValueError, Tag]):
    def handle(self, exception: ValueError, *, field: StrawberryField, info: strawberry.Info) -> Tag:
        return Tag(label=str(exception), fails_later=False)


@strawberry.directive(locations=[DirectiveLocation.FIELD])
def lower(value: str) -> str:
    return value.lower()


@pytest.mark.parametrize(
    "options", [{"exception_handlers": [TagFromError()]}, {"directives": [lower]}], ids=["handlers", "directives"]
)
def test_nothing_is_plain_where_the_schema_adds_to_fields(options):
    schema = strawberry.Schema(query=Query, **options)

    assert plain_fields(schema._schema) == {}


# The plan (`graphql/plan.py`): what it covers answers as graphql-core does, key order included.


@strawberry.type
class Shelf:
    label: str
    matrix: list[list[int]]  # a null inside fails the inner list, which is non-null
    loose: list[list[int | None] | None]

    @strawberry.field
    def generated(self) -> list[int]:
        return (n for n in range(3))  # ty: ignore[invalid-explicit-return]

    @strawberry.field
    def not_a_list(self) -> list[int]:
        return 5  # ty: ignore[invalid-explicit-return]

    @strawberry.field
    def loaded(self) -> list[str | None]:
        words = DataLoader(load_fn=_load_words)
        return [words.load("a"), _failing(), words.load("b")]  # ty: ignore[invalid-explicit-return]

    @strawberry.field
    def path(self, info: strawberry.Info) -> str:
        return ".".join(str(key) for key in info.path.as_list())


async def _failing() -> str:
    raise ValueError("an item failed while awaited")


@strawberry.input
class Range:
    low: int = 0
    high: int = 10


@strawberry.type
class Library:
    @strawberry.field
    def shelves(self) -> list[Shelf]:
        return [
            Shelf(label="first", matrix=[[1, 2], [3]], loose=[[1, None], None]),
            Shelf(label="second", matrix=[[1]], loose=[]),
        ]

    @strawberry.field
    def echo(self, text: str = "default", times: int = 1) -> str:
        return text * times

    @strawberry.field
    def within(self, range: Range, values: list[int]) -> list[int]:
        return [value for value in values if range.low <= value <= range.high]

    @strawberry.field
    async def shelf(self) -> Shelf | None:
        return Shelf(label="awaited", matrix=[[1, None]], loose=[None])  # ty: ignore[invalid-argument-type]

    @strawberry.field
    def required(self) -> Shelf:
        return None  # ty: ignore[invalid-explicit-return]


LOG: list[str] = []


@strawberry.type
class Write:
    @strawberry.mutation
    async def slow(self, name: str) -> str:
        await asyncio.sleep(0.01)
        LOG.append(name)
        return f"{name} after {len(LOG) - 1}"

    @strawberry.mutation
    def fast(self, name: str) -> str:
        LOG.append(name)
        return f"{name} after {len(LOG) - 1}"


LIBRARY_QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "lists, generators, non-lists": ("{ shelves { label matrix loose generated } shelf { loose matrix } }", {}),
    "not a list": ("{ shelves { label notAList } }", {}),
    "awaitable list items": ("{ shelves { label loaded } }", {}),
    "info of aliased list items": ("{ a: shelves { p: path q: path } b: shelf { path } }", {}),
    "arguments, constant and variable": (
        'query($t: String!, $n: Int = 2) { a: echo b: echo(text: "x", times: 3) c: echo(text: $t, times: $n) '
        "d: within(range: {high: 2}, values: [1, 2, 3]) e: within(range: {low: $n}, values: [$n, 5]) }",
        {"t": "v"},
    ),
    "bad argument": ("query($n: Int!) { echo(times: $n) }", {"n": 2**40}),
    "null in a non-null root field": ("{ echo required { label } }", {}),
    "skip and include": (
        "query($s: Boolean!, $i: Boolean!) { a: echo @skip(if: $s) ...F @include(if: $i) "
        '... @skip(if: $i) { c: echo(text: "inline") } shelf { label @include(if: $s) } } '
        'fragment F on Library { b: echo(text: "fragment") a: echo }',
        {"s": True, "i": False},
    ),
    "typename everywhere": ("{ __typename shelves { __typename label } shelf { t: __typename } }", {}),
    "introspection": ('{ __schema { queryType { name } } __type(name: "Shelf") { name } echo }', {}),
}


async def _library(query: str, variables: dict[str, Any], schema: strawberry.Schema) -> tuple[str, list[Any]]:
    result = await schema.execute(query, variable_values=variables, root_value=Library())
    return json.dumps(result.data), [(e.message, e.path, e.locations) for e in result.errors or []]


def _library_schema(*, fast_execution: bool) -> strawberry.Schema:
    settings = Settings(_env_file=None, environment=Environment.DEVELOPMENT, graphql_fast_execution=fast_execution)
    return build_schema(settings, query=Library, mutation=Write)


@pytest.mark.parametrize(("query", "variables"), LIBRARY_QUERIES.values(), ids=LIBRARY_QUERIES.keys())
async def test_the_plan_answers_as_graphql_core_does(query, variables):
    planned = _library_schema(fast_execution=True)
    stock = strawberry.Schema(query=Library, mutation=Write)

    ours = await _library(query, variables, planned)

    assert ours == await _library(query, variables, stock)
    assert ours == await _library(query, variables, _library_schema(fast_execution=False))
    assert ours == await _library(query, variables, planned)  # planned once, run again


async def test_the_cases_of_the_plan_are_not_vacuous():
    planned = _library_schema(fast_execution=True)
    answers = {name: await _library(query, variables, planned) for name, (query, variables) in LIBRARY_QUERIES.items()}

    lists = json.loads(answers["lists, generators, non-lists"][0])
    assert lists["shelves"][0]["matrix"] == [[1, 2], [3]]
    assert lists["shelves"][0]["generated"] == [0, 1, 2]
    assert lists["shelves"][0]["loose"] == [[1, None], None]
    assert lists["shelf"] is None  # a null in a non-null list item, propagated to the nullable field
    assert answers["lists, generators, non-lists"][1][0][1] == ["shelf", "matrix", 0, 1]
    assert answers["not a list"][0] == "null"
    assert answers["not a list"][1][0][0] == "Expected Iterable, but did not find one for field 'Shelf.notAList'."
    assert json.loads(answers["awaitable list items"][0]) == {
        "shelves": [
            {"label": "first", "loaded": ["loaded a", None, "loaded b"]},
            {"label": "second", "loaded": ["loaded a", None, "loaded b"]},
        ]
    }
    assert [error[1] for error in answers["awaitable list items"][1]] == [
        ["shelves", 0, "loaded", 1],
        ["shelves", 1, "loaded", 1],
    ]
    assert json.loads(answers["info of aliased list items"][0]) == {
        "a": [{"p": "a.0.p", "q": "a.0.q"}, {"p": "a.1.p", "q": "a.1.q"}],
        "b": {"path": "b.path"},
    }
    assert answers["arguments, constant and variable"] == (
        '{"a": "default", "b": "xxx", "c": "vv", "d": [1, 2], "e": [2, 5]}',
        [],
    )
    assert answers["null in a non-null root field"][0] == "null"
    assert answers["skip and include"][0] == '{"c": "inline", "shelf": {"label": "awaited"}}'
    assert json.loads(answers["introspection"][0])["__type"] == {"name": "Shelf"}


async def test_skip_and_include_are_decided_per_request():
    planned = _library_schema(fast_execution=True)
    query = 'query($s: Boolean!) { a: echo @skip(if: $s) b: echo(text: "b") @include(if: $s) }'

    assert await _library(query, {"s": True}, planned) == ('{"b": "b"}', [])
    assert await _library(query, {"s": False}, planned) == ('{"a": "default"}', [])
    assert await _library(query, {"s": True}, planned) == ('{"b": "b"}', [])


async def test_a_mutation_runs_its_fields_one_after_another():
    query = 'mutation { a: slow(name: "a") b: fast(name: "b") c: slow(name: "c") d: fast(name: "d") }'
    answers = []
    for schema in (_library_schema(fast_execution=True), strawberry.Schema(query=Library, mutation=Write)):
        LOG.clear()
        answers.append((await _library(query, {}, schema), list(LOG)))

    assert answers[0] == answers[1]
    assert answers[0][1] == ["a", "b", "c", "d"]


class CountCoreFields(PlannedExecutionContext):
    """Records the paths of the fields the plan leaves to graphql-core's `execute_field`."""

    core: ClassVar[list[tuple[str | int, ...]]] = []

    def execute_field(
        self, parent_type: Any, source: Any, field_details_list: Any, path: Any, position_context: Any
    ) -> Any:
        self.core.append(tuple(path.as_list()))
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


async def test_the_plan_leaves_only_what_it_does_not_cover_to_graphql_core():
    library = strawberry.Schema(query=Library, mutation=Write, execution_context_class=CountCoreFields)
    zoo = strawberry.Schema(query=Zoo, execution_context_class=CountCoreFields)
    CountCoreFields.core.clear()

    for query, variables in LIBRARY_QUERIES.values():
        await _library(query, variables, library)
    await zoo.execute(ZOO_QUERIES["interface"])
    await zoo.execute(ZOO_QUERIES["interface, abstract"])

    # Introspection, object types that check their values (an interface's), abstract types; and,
    # by graphql-core too, everything below them.
    assert _tops(CountCoreFields.core) == [
        ("__schema",),
        ("__type",),
        ("guarded", "dog"),
        ("guarded", "cat"),
        ("animals",),
    ]


def _tops(paths: list[tuple[str | int, ...]]) -> list[tuple[str | int, ...]]:
    """The paths that are not below another one."""
    return [path for path in paths if not any(other != path and path[: len(other)] == other for other in paths)]


async def test_beyond_the_plans_kept_per_document_graphql_core_answers_the_same():
    conditions = [f"c{n}" for n in range(5)]  # 32 combinations, more than an operation keeps plans for
    definitions = ", ".join(f"${name}: Boolean!" for name in conditions)
    fields = " ".join(f'{name}: echo(text: "{name}") @include(if: ${name})' for name in conditions)
    query = f"query({definitions}) {{ {fields} }}"
    planned, stock = _library_schema(fast_execution=True), strawberry.Schema(query=Library, mutation=Write)

    for combination in range(2 ** len(conditions)):
        variables = {name: bool(combination >> n & 1) for n, name in enumerate(conditions)}
        ours = await _library(query, variables, planned)
        assert ours == await _library(query, variables, stock)
        assert json.loads(ours[0]) == {name: name for name, included in variables.items() if included}


@strawberry.type
class OtherLibrary:
    @strawberry.field
    def echo(self) -> str:
        return "another schema's"


async def test_a_document_shared_by_two_schemas_runs_by_each_ones_plan():
    """The parsed document is shared (cached by its text); its plans are not."""
    settings = Settings(_env_file=None, environment=Environment.DEVELOPMENT)
    other = build_schema(settings, query=OtherLibrary, mutation=None)
    library = _library_schema(fast_execution=True)

    for _ in range(2):
        assert (await library.execute("{ echo }", root_value=Library())).data == {"echo": "default"}
        assert (await other.execute("{ echo }", root_value=OtherLibrary())).data == {"echo": "another schema's"}
