"""The short way for plain fields answers exactly as graphql-core's own way, errors included."""

import enum
from typing import Any

import strawberry

from lunchtogether.graphql.execution import PlainFieldExecutionContext, plain_fields


@strawberry.enum
class Mood(enum.Enum):
    HUNGRY = "hungry"


@strawberry.type
class Item:
    name: str
    nickname: str | None
    count: int
    mood: Mood

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    items: list[Item | None]  # an item with an error in a non-null field becomes null, the others stay


ITEMS: list[Any] = [
    Item(name="plain", nickname=None, count=1, mood=Mood.HUNGRY),
    Item(name=None, nickname="null in a non-null field", count=2, mood=Mood.HUNGRY),  # ty: ignore[invalid-argument-type]
    Item(name="bad int", nickname=None, count="three", mood=Mood.HUNGRY),  # ty: ignore[invalid-argument-type]
    Item(name="too big", nickname=None, count=2**40, mood=Mood.HUNGRY),
    Item(name="exception", nickname=ValueError("kept as a value"), count=3, mood=Mood.HUNGRY),  # ty: ignore[invalid-argument-type]
    Item(name="bad enum", nickname=None, count=4, mood="sad"),  # ty: ignore[invalid-argument-type]
]
QUERY = "{ items { name nickname count mood shout } }"


def _execute(execution_context_class: type[PlainFieldExecutionContext] | None) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=execution_context_class)
    result = schema.execute_sync(QUERY, root_value=Query(items=ITEMS))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return {"data": result.data, "errors": errors}


def test_plain_fields_are_the_attribute_fields_of_leaf_type():
    schema = strawberry.Schema(query=Query)
    item_fields = {t.name: set(fields) for t, fields in plain_fields(schema._schema).items()}
    assert item_fields == {"Item": {"name", "nickname", "count", "mood"}}


def test_every_value_answers_as_graphql_core_does():
    assert _execute(PlainFieldExecutionContext) == _execute(None)


def test_the_cases_reach_every_error_path():
    result = _execute(PlainFieldExecutionContext)

    assert result["data"]["items"][0] == {
        "name": "plain",
        "nickname": None,
        "count": 1,
        "mood": "HUNGRY",
        "shout": "PLAIN",
    }
    assert [item is None for item in result["data"]["items"][1:]] == [True, True, True, False, True]
    assert result["data"]["items"][4]["nickname"] is None  # an exception is an error, the field null
    assert {path for _message, path in result["errors"]} == {
        ("items", 1, "name"),
        ("items", 2, "count"),
        ("items", 3, "count"),
        ("items", 4, "nickname"),
        ("items", 5, "mood"),
    }
