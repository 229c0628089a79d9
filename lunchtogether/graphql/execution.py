"""Which fields Strawberry answers by reading an attribute and nothing else: those the execution
plan (`plan.py`) reads directly.

A page of users is mostly fields that only hold a value (a cursor, an id, a name, a date;
an edge's node). For each one Strawberry calls two wrappers around `getattr` and graphql-core
builds a resolve info for them, which together cost more than the value itself.

A field is read directly only when Strawberry itself would do nothing else than read the
attribute. That is decided once per schema, from public attributes, and what cannot be told
counts as not plain:
- the field is a `StrawberryField` (not a subclass) with no resolver, no arguments, no
  field extensions (permission classes are one), no directives, and it reads with `getattr`;
- the schema has no exception handlers and no operation directives, and executes
  without incremental delivery;
- the field's type is a scalar, an enum, or an object type that checks nothing of its
  values (no `is_type_of`: a type implementing an interface has one).
The plan reads nothing directly when a schema extension resolves fields (graphql-core's
middleware manager is not empty): it must see every field, and graphql-core runs the operation.
A value read is completed as graphql-core completes what the resolver returns, errors
included (`tests/test_execution.py` and `tests/test_differential.py` compare them).
"""

from functools import lru_cache

from graphql import GraphQLField, GraphQLLeafType, GraphQLObjectType, GraphQLSchema, get_nullable_type
from strawberry.schema.schema import Schema as StrawberrySchema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# Per object type, its plain fields' names and the attribute each one reads.
type PlainFields = dict[GraphQLObjectType, dict[str, str]]


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
            plain = {
                name: attribute for name, definition in graphql_type.fields.items() if (attribute := _plain(definition))
            }
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


def _plain(definition: GraphQLField) -> str | None:
    """The attribute the field reads, if it is plain."""
    field = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    value_type = get_nullable_type(definition.type)
    if type(field) is not StrawberryField or not _only_reads(field):
        return None
    if not isinstance(value_type, GraphQLLeafType | GraphQLObjectType):
        return None
    if isinstance(value_type, GraphQLObjectType) and value_type.is_type_of is not None:
        return None
    return field.python_name


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
