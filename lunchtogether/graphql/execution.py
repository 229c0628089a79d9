"""Execution, with a short way for the most common field: a plain attribute of a scalar type.

A page of users is mostly such fields (a cursor, an id, a name, a date). For each one
graphql-core builds a resolve info and Strawberry calls two wrappers around `getattr`,
which together cost more than the value itself: a fifth of a page's CPU under load
(py-spy on the running server). Here a plain field whose value is present is read and
coerced directly. Anything else takes graphql-core's own way, which is also taken again
for a value that is null or fails to coerce, so errors are exactly graphql-core's.
"""

from functools import lru_cache
from typing import Any, NamedTuple

from graphql import GraphQLField, GraphQLLeafType, GraphQLObjectType, GraphQLSchema, Undefined, get_nullable_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField


class PlainField(NamedTuple):
    attribute: str
    type: GraphQLLeafType


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
            value = getattr(source, plain.attribute, None)
            if value is not None and not isinstance(value, Exception):
                try:
                    coerced = plain.type.coerce_output_value(value)
                except Exception:  # noqa: BLE001, S110 - graphql-core's way below raises it, located
                    pass
                else:
                    if coerced is not None and coerced is not Undefined:
                        return coerced
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


@lru_cache(maxsize=16)
def plain_fields(schema: GraphQLSchema) -> PlainFields:
    """The fields of each object type that Strawberry resolves with `getattr` alone, and return a scalar or enum."""
    fields: PlainFields = {}
    for graphql_type in schema.type_map.values():
        if isinstance(graphql_type, GraphQLObjectType) and not graphql_type.name.startswith("__"):
            plain = {name: field for name, definition in graphql_type.fields.items() if (field := _plain(definition))}
            if plain:
                fields[graphql_type] = plain
    return fields


def _plain(definition: GraphQLField) -> PlainField | None:
    field = (definition.extensions or {}).get("strawberry-definition")
    leaf_type = get_nullable_type(definition.type)
    if not isinstance(field, StrawberryField) or not isinstance(leaf_type, GraphQLLeafType):
        return None
    # Strawberry marks the resolver it makes for a field with no resolver, extension or permission.
    if not getattr(definition.resolve, "_is_default", False) or field.default_resolver is not getattr:
        return None
    return PlainField(field.python_name, leaf_type)
