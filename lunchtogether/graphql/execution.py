"""Execution that reads plain attribute fields directly, and is graphql-core's for everything else.

A page of users is mostly fields that only hold a value (a cursor, an id, a name, a date;
an edge's node). For each one graphql-core builds a path and a resolve info, and Strawberry
calls two wrappers around `getattr`, which together cost more than the value itself.

Here such a field is read directly, but only when Strawberry itself would do nothing else
than read the attribute. That is decided once per schema, from public attributes, and what
cannot be told counts as not plain:
- the field is a `StrawberryField` (not a subclass) with no resolver, no arguments, no
  field extensions (permission classes are one), no directives, and it reads with `getattr`;
- the schema has no exception handlers and no operation directives, and executes
  without incremental delivery;
- the field's type is a scalar, an enum, or an object type that checks nothing of its
  values (no `is_type_of`: a type implementing an interface has one).
Per request, nothing is read directly when a schema extension resolves fields (graphql-core's
middleware manager is not empty): it must see every field.

A value read this way is answered directly when it is one graphql-core would complete
without an error: a scalar coerced to its output value (an object whose selected fields are
all such scalars is completed by one loop over them, without graphql-core's per-field
work), null for a nullable field, an object's fields
executed. Anything else takes graphql-core's own way, which reads the attribute again: a
read that raises, a null in a non-null field, an exception held as a value, an awaitable
(what `DataLoader.load` returns, which graphql-core awaits), a value that does not coerce.
An object's errors are handled by graphql-core's `handle_field_error`, so answers and errors
are exactly graphql-core's (`tests/test_execution.py` and `tests/test_differential.py`
compare them).
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
from strawberry.schema.schema import Schema as StrawberrySchema
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class PlainField(NamedTuple):
    attribute: str
    field_type: GraphQLOutputType  # as declared, non-null or not
    type: GraphQLLeafType | GraphQLObjectType  # what a value completes as
    nullable: bool


# What a read gives where graphql-core must answer (and locate the error).
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
        if plain is not None:
            answer = self._plain_answer(plain, source, field_details_list, path, position_context)
            if answer is not _UNDECIDED:
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
        """An object whose selected fields are all plain scalars is completed here, field by field
        in one loop; any other object is graphql-core's."""
        plain = self._plain_fields.get(parent_type)
        if plain is not None and (answers := self._scalar_answers(plain, source_value, grouped_field_set)) is not None:
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
        non-null type) does nothing else for it. A page's edges are such values. graphql-core
        has awaited the value before it gets here."""
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

    def _plain_answer(
        self, field: PlainField, source: object, field_details_list: FieldDetailsList, path: Path, position_context: Any
    ) -> Any:
        value = self._read(field, source)
        if value is None or value is _UNDECIDED:
            return value
        if isinstance(field.type, GraphQLObjectType):
            return self._complete_object(
                field.type, field.field_type, value, field_details_list, path, position_context
            )
        return _coerce(field.type, value)

    def _read(self, field: PlainField, source: object) -> Any:
        """The field's value; None only where null is its answer, `_UNDECIDED` where graphql-core must answer."""
        try:
            value = getattr(source, field.attribute)
        except Exception:  # noqa: BLE001 - graphql-core reads it again and locates the error
            return _UNDECIDED
        if value is None:
            return None if field.nullable else _UNDECIDED
        if isinstance(value, Exception) or self.is_awaitable(value):
            return _UNDECIDED
        return value

    def _scalar_answers(
        self, plain: dict[str, PlainField], source: object, grouped_field_set: GroupedFieldSet
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
            value = self._read(field, source)
            answer = value if value is None or value is _UNDECIDED else _coerce(field.type, value)
            if answer is _UNDECIDED:
                return None
            answers[response_name] = answer
        return answers

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


def _coerce(leaf_type: GraphQLLeafType | GraphQLObjectType, value: object) -> Any:
    """A leaf value as graphql-core completes it; `_UNDECIDED` for what would be an error."""
    if not isinstance(leaf_type, GraphQLLeafType):
        return _UNDECIDED
    try:
        coerced = leaf_type.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - graphql-core's way raises it, located
        return _UNDECIDED
    return _UNDECIDED if coerced is None or coerced is Undefined else coerced


@lru_cache(maxsize=16)
def plain_fields(schema: GraphQLSchema) -> PlainFields:
    """The fields of each object type that Strawberry answers by reading an attribute and nothing
    else, and that are a scalar, an enum or an object type that checks nothing of its values."""
    strawberry_schema = (schema.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not _reads_fields_plainly(strawberry_schema):
        return {}
    fields: PlainFields = {}
    for graphql_type in schema.type_map.values():
        if isinstance(graphql_type, GraphQLObjectType) and not graphql_type.name.startswith("__"):
            plain = {name: field for name, definition in graphql_type.fields.items() if (field := _plain(definition))}
            if plain:
                fields[graphql_type] = plain
    return fields


def _reads_fields_plainly(schema: object) -> bool:
    """Whether the schema adds nothing of its own to a field without a resolver."""
    return (
        isinstance(schema, StrawberrySchema)
        and not schema.exception_handlers  # they wrap the resolvers of the fields they apply to
        and not schema.directives  # operation directives are applied by a field middleware
        and not schema.config.enable_experimental_incremental_execution
    )


def _plain(definition: GraphQLField) -> PlainField | None:
    field = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    value_type = get_nullable_type(definition.type)
    if type(field) is not StrawberryField or not _only_reads(field):
        return None
    if not isinstance(value_type, GraphQLLeafType | GraphQLObjectType):
        return None
    if isinstance(value_type, GraphQLObjectType) and value_type.is_type_of is not None:
        return None
    return PlainField(field.python_name, definition.type, value_type, not isinstance(definition.type, GraphQLNonNull))


def _only_reads(field: StrawberryField) -> bool:
    """Whether Strawberry answers the field by `getattr(source, python_name)` alone."""
    return (
        field.base_resolver is None
        and not field.permission_classes
        and not field.extensions
        and not field.directives
        and not field.is_subscription
        and not field.arguments
        and field.default_resolver is getattr
    )
