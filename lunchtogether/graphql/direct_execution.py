"""An operation run without Strawberry's per-operation wrapper, where the wrapper adds nothing.

For every operation, `strawberry.Schema.execute` makes an execution context, a new instance of
each schema extension, a runner that enters an async context manager per phase (operation,
parsing, validation, execution) for each of them, and a middleware manager: about 150 µs per
request on the benchmark's machine, a tenth of a `me` request (docs/performance.md). This
schema's one extension, `CheckedDocuments`, only parses and validates through caches, and the
schema logs no errors of its own (`Schema.process_errors`). So, under GRAPHQL_FAST_EXECUTION, an
operation runs directly when all of these hold, and through Strawberry otherwise:

- the schema's extensions are exactly its own one (Sentry's Strawberry integration adds one:
  Strawberry then runs every operation), it has no operation directives, incremental execution
  is off, and it executes with the plan (`plan.py`);
- the request's text parses and validates, by the same cached calls as the extension's hooks
  (`limits.request_document`): every error found before execution is Strawberry's to report;
- the operation it names (or its first, as Strawberry takes) exists and is of an allowed type:
  otherwise Strawberry raises what the endpoint maps to an HTTP answer.

Then graphql-core's `execute` runs the operation with what Strawberry would pass it, errors go
through the same suggestion-removal and `process_errors`, and an exception out of execution
becomes an error as Strawberry makes it. `tests/test_direct_execution.py` compares both ways.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard, cast

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, execute
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from lunchtogether.graphql.limits import QueryPolicy, request_document
from lunchtogether.graphql.plan import PlannedExecutionContext

if TYPE_CHECKING:
    from lunchtogether.graphql.schema import Schema

# What Strawberry passes graphql-core; typed as graphql-core declares it.
_IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


@dataclass(frozen=True, slots=True)
class DirectOperation:
    """A request's operation that may run without Strawberry's wrapper: its checked document and
    the operation name Strawberry would pass to graphql-core."""

    document: DocumentNode
    operation_name: str | None


def direct_operation(
    schema: GraphQLSchema,
    policy: QueryPolicy,
    query: str | None,
    operation_name: str | None,
    allowed_operation_types: Iterable[OperationType],
) -> DirectOperation | None:
    """The operation to run directly; None where Strawberry must run it."""
    if not query:
        return None
    document = request_document(schema, query, policy)
    if document is None:
        return None
    operation = _operation(document, operation_name)
    if operation is None or OperationType(operation.operation.value) not in allowed_operation_types:
        return None
    name = operation_name if operation_name is not None else (operation.name.value if operation.name else None)
    return DirectOperation(document, name)


async def execute_directly(
    strawberry_schema: "Schema",
    operation: DirectOperation,
    *,
    variable_values: dict[str, Any] | None,
    context_value: Any,
    root_value: Any,
    operation_extensions: dict[str, Any] | None,
) -> ExecutionResult:
    """What `strawberry.Schema.execute` answers for `operation`, without its wrapper."""
    try:
        answer = execute(
            strawberry_schema.graphql_schema,
            operation.document,
            root_value=root_value,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=operation.operation_name,
            executor_class=PlannedExecutionContext,
            is_awaitable=_IS_AWAITABLE,
            operation_extensions=operation_extensions,
        )
        result = answer if isinstance(answer, GraphQLExecutionResult) else await answer
    except Exception as exc:  # noqa: BLE001 - Strawberry answers it as an error too
        errors = [exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)]
        _process_errors(strawberry_schema, errors)
        return ExecutionResult(data=None, errors=errors, extensions={})
    if result.errors:
        _process_errors(strawberry_schema, result.errors)
    return ExecutionResult(data=result.data, errors=result.errors, extensions={})


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation Strawberry would take: the one named, else the document's first."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition
    return None


def _process_errors(strawberry_schema: "Schema", errors: list[GraphQLError]) -> None:
    """As Strawberry's own path treats an operation's errors before returning them."""
    if strawberry_schema.config.disable_field_suggestions:
        for error in errors:
            strawberry_schema.remove_field_suggestion(error)
    strawberry_schema.process_errors(errors, None)


__all__ = ["DirectOperation", "direct_operation", "execute_directly"]
