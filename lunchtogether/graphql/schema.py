from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from lunchtogether.graphql.mutations import Mutation
from lunchtogether.graphql.queries import Query


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are logged where they are mapped (`graphql/errors.py`), once."""


def build_schema(*, production: bool) -> Schema:
    extensions: list[Callable[[], SchemaExtension]] = []
    if production:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    options: dict[str, Any] = {"disable_field_suggestions": production}
    return Schema(query=Query, mutation=Mutation, config=StrawberryConfig(**options), extensions=extensions)


def export_schema() -> str:
    """The SDL that `schema.graphql` holds; the same in every environment."""
    return build_schema(production=False).as_str() + "\n"
