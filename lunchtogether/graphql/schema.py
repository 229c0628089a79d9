from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSchema
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from lunchtogether.config import Environment, Settings
from lunchtogether.graphql.direct_execution import direct_operation, execute_directly
from lunchtogether.graphql.limits import CheckedDocuments, QueryPolicy
from lunchtogether.graphql.mutations import Mutation
from lunchtogether.graphql.plan import PlannedExecutionContext
from lunchtogether.graphql.queries import Query


class RememberingNameConverter(NameConverter):
    """Strawberry's, converting each name once: it converts every argument's name again on every
    resolver call, ten `user(id:)` fields ten times. Only the schema's own Python names come here."""

    def __init__(self) -> None:
        super().__init__()
        self._converted: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._converted.get(name)
        if converted is None:
            converted = self._converted[name] = super().apply_naming_config(name)
        return converted


class Schema(strawberry.Schema):
    policy: QueryPolicy

    @property
    def graphql_schema(self) -> GraphQLSchema:
        """graphql-core's schema that Strawberry built, which it keeps only as `_schema`: named here once."""
        return self._schema

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Strawberry's `execute`, or the same operation run directly where its wrapper would add nothing."""
        allowed = DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None else allowed_operation_types
        if self._runs_directly() and (
            operation := direct_operation(self.graphql_schema, self.policy, query, operation_name, allowed)
        ):
            return await execute_directly(
                self,
                operation,
                variable_values=variable_values,
                context_value=context_value,
                root_value=root_value,
                operation_extensions=operation_extensions,
            )
        return await super().execute(
            query, variable_values, context_value, root_value, operation_name, allowed, operation_extensions
        )

    def _runs_directly(self) -> bool:
        """Checked per operation, so that an extension or directive added later (Sentry's) is never skipped.
        The plan's execution context is there exactly when GRAPHQL_FAST_EXECUTION is on."""
        return (
            len(self.extensions) == 1
            and not self.directives
            and not self.config.enable_experimental_incremental_execution
            and self.execution_context_class is PlannedExecutionContext
        )

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are logged where they are mapped (`graphql/errors.py`), once."""


def build_schema(settings: Settings, *, query: type = Query, mutation: type | None = Mutation) -> Schema:
    """The app's schema; other root types make a schema built the same way (for tests)."""
    policy = QueryPolicy.from_settings(settings)
    config = StrawberryConfig(
        disable_field_suggestions=not settings.is_development, name_converter=RememberingNameConverter()
    )
    schema = Schema(
        query=query,
        mutation=mutation,
        config=config,
        extensions=[lambda: CheckedDocuments(policy)],
        execution_context_class=PlannedExecutionContext if settings.graphql_fast_execution else None,
    )
    schema.policy = policy
    return schema


def export_schema() -> str:
    """The SDL that `schema.graphql` holds; the same in every environment."""
    return build_schema(Settings(_env_file=None, environment=Environment.DEVELOPMENT)).as_str() + "\n"
