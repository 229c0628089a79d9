"""Execution, with a short way for the most common field: a plain attribute.

A page of users is mostly such fields (a cursor, an id, a name, a date; an edge's node).
For each one graphql-core builds a path and a resolve info and Strawberry calls two
wrappers around `getattr`, which together cost more than the value itself: a fifth of a
page's CPU under load (py-spy on the running server). Here a plain field is read
directly: a scalar is coerced (an object whose selected fields are all such scalars is
answered in one go), an object's fields are executed, and an object value goes straight
to its fields when its type checks nothing of it (an item of a page's edges). Whatever
would be an error (a missing or failing value) takes graphql-core's own way instead, and
an object's errors are handled by graphql-core's `handle_field_error`: answers and errors
are exactly graphql-core's (`tests/test_execution.py` compares them).
"""

from collections.abc import Awaitable
from functools import lru_cache
from typing import Any, NamedTuple

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    Undefined,
    get_nullable_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField


class PlainField(NamedTuple):
    attribute: str
    field_type: GraphQLOutputType  # as declared, non-null or not
    type: GraphQLLeafType | GraphQLObjectType  # what a value completes as
    nullable: bool


# What `_scalar_answer` gives where graphql-core must answer (and locate the error).
_UNDECIDED = object()


type PlainFields = dict[GraphQLObjectType, dict[str, PlainField]]


class PlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Field middleware (a schema extension's `resolve`) must see every field.
        unwrapped = self.middleware_manager is None or not self.middleware_manager.middlewares
        self._plain_fields = plain_fields(self.schema) if unwrapped else {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        plain = self._plain_fields.get(parent_type, {}).get(field_details_list[0].node.name.value)
        if plain is not None and isinstance(plain.type, GraphQLObjectType):
            value = getattr(source, plain.attribute, None)
            if value is not None and not isinstance(value, Exception):
                return self._complete_object(
                    plain.type, plain.field_type, value, field_details_list, path, position_context
                )
        elif plain is not None and (answer := _scalar_answer(plain, source)) is not _UNDECIDED:
            return answer
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """An object whose selected fields are all plain scalars is answered in one go."""
        plain = self._plain_fields.get(parent_type)
        if plain is not None and (answers := _scalar_answers(plain, source_value, grouped_field_set)) is not None:
            return answers
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """An object value of a type that checks nothing of it (no `is_type_of`) goes straight to
        its fields: graphql-core's way there (null, list, leaf and abstract checks, twice for a
        non-null type) does nothing else for it. A page's edges are such values."""
        object_type = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if (
            isinstance(object_type, GraphQLObjectType)
            and object_type.is_type_of is None
            and result is not None
            and result is not Undefined
            and not isinstance(result, Exception)
        ):
            return self.collect_and_execute_subfields(object_type, field_details_list, path, result, position_context)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _complete_object(
        self,
        object_type: GraphQLObjectType,
        field_type: GraphQLOutputType,
        value: object,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """What graphql-core's `execute_field` does for an object value (the type has no `is_type_of`)."""
        try:
            completed = self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:  # noqa: BLE001 - located and recorded, or raised for a non-null field
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_object(completed, field_type, field_details_list, path)
        return completed

    async def _await_object(
        self, completed: Awaitable[Any], field_type: GraphQLOutputType, field_details_list: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - as above
            self.handle_field_error(raw_error, field_type, field_details_list, path)
            return None


def _scalar_answers(
    plain: dict[str, PlainField], source: object, grouped_field_set: GroupedFieldSet
) -> dict[str, Any] | None:
    """The answer of every selected field, or None unless all are plain scalars that answer.

    Reading a plain field changes nothing, so giving up halfway leaves nothing to undo.
    """
    scalars: dict[str, PlainField] = {}
    for response_name, field_details_list in grouped_field_set.items():
        field = plain.get(field_details_list[0].node.name.value)
        if field is None or isinstance(field.type, GraphQLObjectType):
            return None
        scalars[response_name] = field
    answers: dict[str, Any] = {}
    for response_name, field in scalars.items():
        if (answer := _scalar_answer(field, source)) is _UNDECIDED:
            return None
        answers[response_name] = answer
    return answers


def _scalar_answer(field: PlainField, source: object) -> Any:
    """The value of a plain scalar field, coerced; `_UNDECIDED` for what would be an error."""
    value = getattr(source, field.attribute, _UNDECIDED)
    if not isinstance(field.type, GraphQLLeafType):
        return _UNDECIDED
    if value is None:
        return None if field.nullable else _UNDECIDED
    if value is _UNDECIDED or isinstance(value, Exception):
        return _UNDECIDED
    try:
        coerced = field.type.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - graphql-core's way raises it, located
        return _UNDECIDED
    return _UNDECIDED if coerced is None or coerced is Undefined else coerced


@lru_cache(maxsize=16)
def plain_fields(schema: GraphQLSchema) -> PlainFields:
    """The fields of each object type that Strawberry resolves with `getattr` alone, and that
    return a scalar, an enum or an object type that checks nothing of its values (no `is_type_of`)."""
    fields: PlainFields = {}
    for graphql_type in schema.type_map.values():
        if isinstance(graphql_type, GraphQLObjectType) and not graphql_type.name.startswith("__"):
            plain = {name: field for name, definition in graphql_type.fields.items() if (field := _plain(definition))}
            if plain:
                fields[graphql_type] = plain
    return fields


def _plain(definition: GraphQLField) -> PlainField | None:
    field = (definition.extensions or {}).get("strawberry-definition")
    value_type = get_nullable_type(definition.type)
    if not isinstance(field, StrawberryField):
        return None
    if not isinstance(value_type, GraphQLLeafType | GraphQLObjectType):
        return None
    if isinstance(value_type, GraphQLObjectType) and value_type.is_type_of is not None:
        return None
    # Strawberry marks the resolver it makes for a field with no resolver, extension or permission.
    if not getattr(definition.resolve, "_is_default", False) or field.default_resolver is not getattr:
        return None
    return PlainField(field.python_name, definition.type, value_type, not isinstance(definition.type, GraphQLNonNull))
