import strawberry
from graphql import GraphQLError, GraphQLSchema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from lunchtogether.config import Environment, Settings
from lunchtogether.graphql.limits import CheckedDocuments, QueryPolicy
from lunchtogether.graphql.mutations import Mutation
from lunchtogether.graphql.plan import PlannedExecutionContext
from lunchtogether.graphql.queries import Query


class Schema(strawberry.Schema):
    policy: QueryPolicy

    @property
    def graphql_schema(self) -> GraphQLSchema:
        """graphql-core's schema that Strawberry built, which it keeps only as `_schema`: named here once."""
        return self._schema

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are logged where they are mapped (`graphql/errors.py`), once."""


def build_schema(settings: Settings, *, query: type = Query, mutation: type | None = Mutation) -> Schema:
    """The app's schema; other root types make a schema built the same way (for tests)."""
    policy = QueryPolicy.from_settings(settings)
    config = StrawberryConfig(disable_field_suggestions=not settings.is_development)
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
