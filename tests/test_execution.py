"""The short way for plain fields answers exactly as graphql-core's own way, errors included."""

import enum
from typing import Any

import strawberry

from lunchtogether.graphql.execution import PlainFieldExecutionContext, plain_fields


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
SCALARS_ONLY = "{ items { name nickname count mood } }"


async def _execute(
    execution_context_class: type[PlainFieldExecutionContext] | None, query: str = QUERY
) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=execution_context_class)
    result = await schema.execute(query, root_value=Query(items=ITEMS))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return {"data": result.data, "errors": errors}


def test_plain_fields_are_the_attribute_fields_of_leaf_and_object_types():
    schema = strawberry.Schema(query=Query)
    found = {t.name: set(fields) for t, fields in plain_fields(schema._schema).items()}
    assert found == {
        "Item": {"name", "nickname", "count", "mood", "tag", "maybeTag"},
        "Tag": {"label", "failsLater"},
    }


async def test_every_value_answers_as_graphql_core_does():
    assert await _execute(PlainFieldExecutionContext) == await _execute(None)


async def test_objects_of_plain_scalars_answer_as_graphql_core_does():
    ours = await _execute(PlainFieldExecutionContext, SCALARS_ONLY)

    assert ours == await _execute(None, SCALARS_ONLY)
    assert ours["data"]["items"][0] == {"name": "plain", "nickname": None, "count": 1, "mood": "HUNGRY"}
    assert len(ours["errors"]) == 5  # null name, two bad counts, an exception, a bad enum


async def test_the_cases_reach_every_error_path():
    result = await _execute(PlainFieldExecutionContext)
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
