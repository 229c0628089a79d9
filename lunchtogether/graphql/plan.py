"""Execution by a plan compiled once per document: what graphql-core would do, decided ahead.

For every field of every value, graphql-core looks the field up, collects the selections
below it through fragments and directives, builds a resolve info, coerces its arguments and
walks the field's type to learn how to complete the value. For a given document all of that
is the same on every request but `@skip`/`@include`, which depend on variables. So each
operation is compiled into a plan once, per combination of those variables' values: per
selection, the response key in order, the field's definition and resolver, its arguments
when they do not depend on variables (coerced once), and how its value completes (non-null,
list, leaf, or an object's own plan). The plan is built with graphql-core's own field
collection (`collect_fields`, `collect_subfields`), so it groups and orders exactly as
graphql-core would on that request. Plans are kept per schema and parsed operation (the
parse is cached per text in `limits.py`), for a bounded number of operations and of
combinations per operation.

Per request the plan is run: a field is answered by reading its attribute where
`execution.py`'s rules say Strawberry would do nothing else, and otherwise by the resolver
Strawberry built (`GraphQLField.resolve`: its whole chain, permissions and field extensions
included) with a real resolve info, built only for those fields. Errors are handled by
graphql-core's own `handle_field_error` with the same type, nodes and path, so messages,
locations, paths and null propagation are graphql-core's. An object's fields run as
graphql-core runs them, awaitables gathered; a mutation's top-level fields one after another.

What the plan does not cover runs through graphql-core unchanged:
- a whole operation, when a schema extension resolves fields (graphql-core's middleware
  manager is not empty: it must see every field), for a subscription, without error
  propagation, with an abort signal or execution hooks, when the schema knows
  `@defer`/`@stream`, or when its document already has as many plans as it may keep;
- a field (and everything below it) whose type holds an abstract type or an object type
  that checks its values (`is_type_of`), the introspection fields `__schema` and `__type`,
  and a field reached through `@defer` or fragment variables: graphql-core's `execute_field`
  answers it;
- a list value that is not a plain iterable (an async iterable): graphql-core completes it.
"""

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from operator import attrgetter
from typing import Any
from uuid import UUID

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableNode,
    get_argument_values,
    get_nullable_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet, collect_fields, collect_subfields
from graphql.execution.executor import collect_iterator_awaitables
from graphql.language import Visitor, visit
from graphql.pyutils import Path, gather_with_cancel, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from lunchtogether.graphql.execution import plain_fields

# Operations whose plans are kept; bounded like the documents they come from (`limits.py`).
CACHED_OPERATIONS = 256
# Plans kept per operation, one per combination of its `@skip`/`@include` variables' values: beyond
# them, graphql-core runs the operation (a client cannot make one document hold 2**n plans).
PLANS_PER_OPERATION = 16
# The argument values that are safe to share between requests: nothing a resolver could change.
_IMMUTABLE_ARGUMENTS = (str, int, float, bool, type(None))


class Completion:
    """How a value of one level of a field's type completes: `kind` is one of the four below."""

    __slots__ = ("fields", "inner", "kind", "type")

    NON_NULL, LIST, LEAF, OBJECT = range(4)

    def __init__(
        self,
        kind: int,
        type_: GraphQLOutputType,
        inner: "Completion | None" = None,
        fields: "tuple[FieldPlan, ...]" = (),
    ) -> None:
        self.kind = kind
        self.type = type_
        self.inner = inner
        self.fields = fields


class FieldPlan:
    """One response key of a selection set, as graphql-core's `execute_field` would run it."""

    __slots__ = (
        "arguments",
        "attribute",
        "completion",
        "field_def",
        "field_details_list",
        "field_nodes",
        "nullable",
        "parent_type",
        "read",
        "response_key",
        "typename",
    )

    def __init__(
        self,
        response_key: str,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        field_details_list: FieldDetailsList,
        completion: Completion | None,
    ) -> None:
        self.response_key = response_key
        self.parent_type = parent_type
        self.field_def = field_def
        self.field_details_list = field_details_list
        self.field_nodes = [details.node for details in field_details_list]
        # None: graphql-core's `execute_field` answers the field and everything below it.
        self.completion = completion
        self.attribute: str | None = None  # read directly
        # Of a field read directly whose type is a leaf type (or a non-null one): reads and completes
        # its value in one call, or gives `_UNANSWERED` where `_execute_field` must answer.
        self.read: Callable[[Any], Any] | None = None
        self.nullable = not isinstance(field_def.type, GraphQLNonNull)
        self.typename: str | None = None  # `__typename`: the parent type's name, always
        self.arguments: dict[str, Any] | None = None  # coerced once; None: per request


class OperationPlan:
    __slots__ = ("fields", "serially")

    def __init__(self, fields: tuple[FieldPlan, ...], *, serially: bool) -> None:
        self.fields = fields
        self.serially = serially


class _PlannedOperation:
    """An operation's plans, one per combination of the values of its `@skip`/`@include` variables."""

    __slots__ = ("conditions", "operation", "plans", "schema")

    def __init__(self, schema: GraphQLSchema, operation: OperationDefinitionNode, conditions: tuple[str, ...]) -> None:
        # Both kept, so that their ids name them while they are cached. A parsed document is
        # shared by every schema that executes its text (`limits.py` caches it by text).
        self.schema = schema
        self.operation = operation
        self.conditions = conditions
        self.plans: dict[tuple[Any, ...], OperationPlan | None] = {}


# What a leaf reader gives where `_execute_field` must answer.
_UNANSWERED = object()
# A leaf reader completes only values of these types, which are neither awaitable nor exceptions,
# and hands on only what completes to these, which graphql-core takes as they are.
_READ_VALUES = frozenset({str, int, float, bool, datetime, date, time, UUID, Decimal})
_COMPLETED_VALUES = frozenset({str, int, float, bool})

_operations: OrderedDict[tuple[int, int], _PlannedOperation] = OrderedDict()


class PlannedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Runs an operation by its plan; graphql-core's own execution where there is none."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = self._plan() if serially is None and self._plannable() else None
        if plan is None:
            return super().execute_operation(serially)
        try:
            run = self._execute_serially if plan.serially else self._execute_fields
            data = run(plan.fields, self.root_value, None)
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        if isinstance(data, dict):
            return self.build_response(data)
        return self._await_response(data)

    def _plannable(self) -> bool:
        """Whether nothing of the operation needs what only graphql-core's own execution does."""
        middleware = self.middleware_manager
        schema = self.schema
        return (
            (middleware is None or not middleware.middlewares)
            and self.operation.operation is not OperationType.SUBSCRIPTION
            and self.error_propagation
            and self.abort_signal is None
            and self.hooks is None
            and schema.get_directive("defer") is None
            and schema.get_directive("stream") is None
        )

    async def _await_response(self, data: Awaitable[dict[str, Any]]) -> Any:
        """What graphql-core's `execute_operation` does with data that is awaited."""
        try:
            awaited = await data
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        except Exception:
            await self.cancel_incremental_work()
            self.run_async_work_finished_hook()
            raise
        return self.build_response(awaited)

    # Compiling.

    def _plan(self) -> OperationPlan | None:
        operation, schema = self.operation, self.schema
        key = (id(schema), id(operation))
        planned = _operations.get(key)
        if planned is None or planned.operation is not operation or planned.schema is not schema:
            conditions = _condition_variables(operation, self.fragment_definitions)
            planned = _PlannedOperation(schema, operation, conditions)
            _operations[key] = planned
            if len(_operations) > CACHED_OPERATIONS:
                _operations.popitem(last=False)
        else:
            _operations.move_to_end(key)
        coerced = self.variable_values.coerced
        decided = tuple(coerced.get(name) for name in planned.conditions)  # booleans: validated as `if:`
        if decided not in planned.plans:
            if len(planned.plans) >= PLANS_PER_OPERATION:
                return None
            planned.plans[decided] = self._compile()
        return planned.plans[decided]

    def _compile(self) -> OperationPlan | None:
        """The plan of this request's operation with this request's `@skip`/`@include` decisions."""
        operation = self.operation
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            return None  # graphql-core reports it
        try:
            grouped_field_set, defer_usages, _forbidden = collect_fields(
                self.schema, self.fragments, self.variable_values, root_type, operation, self.hide_suggestions
            )
            if defer_usages:
                return None
            fields = self._plan_fields(root_type, grouped_field_set)
        except RecursionError:
            return None  # graphql-core reports it
        return OperationPlan(fields, serially=operation.operation is OperationType.MUTATION)

    def _plan_fields(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> tuple[FieldPlan, ...]:
        plain = plain_fields(self.schema).get(parent_type, {})
        plans: list[FieldPlan] = []
        for response_key, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            if field_def is None:
                continue  # graphql-core answers nothing for it either
            plans.append(self._plan_field(response_key, parent_type, field_def, field_details_list, plain))
        return tuple(plans)

    def _plan_field(
        self,
        response_key: str,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        field_details_list: FieldDetailsList,
        plain: dict[str, str],
    ) -> FieldPlan:
        name = field_details_list[0].node.name.value
        simple = all(
            details.defer_usage is None and details.fragment_variable_values is None for details in field_details_list
        )
        introspection = name in ("__schema", "__type")
        completion = self._completion(field_def.type, field_details_list) if simple and not introspection else None
        plan = FieldPlan(response_key, parent_type, field_def, field_details_list, completion)
        if completion is None:
            return plan
        if name == "__typename":
            plan.typename = parent_type.name
        elif name in plain:
            plan.attribute = plain[name]
            leaf_type = get_nullable_type(field_def.type)
            if isinstance(leaf_type, GraphQLLeafType):
                plan.read = _leaf_reader(plain[name], leaf_type, nullable=plan.nullable)
        else:
            plan.arguments = self._constant_arguments(field_def, field_details_list[0].node)
        return plan

    def _completion(self, type_: GraphQLOutputType, field_details_list: FieldDetailsList) -> Completion | None:
        """How values of `type_` complete; None where graphql-core must complete them."""
        if isinstance(type_, GraphQLNonNull | GraphQLList):
            inner = self._completion(type_.of_type, field_details_list)
            if inner is None:
                return None
            kind = Completion.NON_NULL if isinstance(type_, GraphQLNonNull) else Completion.LIST
            return Completion(kind, type_, inner)
        if isinstance(type_, GraphQLLeafType):
            return Completion(Completion.LEAF, type_)
        if isinstance(type_, GraphQLObjectType) and type_.is_type_of is None:
            grouped_field_set, defer_usages, _forbidden = collect_subfields(
                self.schema,
                self.fragments,
                self.variable_values,
                self.operation,
                type_,
                field_details_list,
                self.hide_suggestions,
            )
            if defer_usages:
                return None
            return Completion(Completion.OBJECT, type_, fields=self._plan_fields(type_, grouped_field_set))
        return None  # abstract, or an object type that checks its values

    def _constant_arguments(self, field_def: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
        """The field's arguments coerced now, when no request can change them; None otherwise."""
        if not field_def.args and not node.arguments:
            return {}
        if _uses_variables(node):
            return None
        try:
            arguments = get_argument_values(field_def, node, self.variable_values, None, self.hide_suggestions)
        except GraphQLError:
            return None  # raised again per request, where it is located as the field's error
        if not all(isinstance(value, _IMMUTABLE_ARGUMENTS) for value in arguments.values()):
            return None
        return arguments

    # Running: what graphql-core's Executor does, method for method, on the plan.

    def _execute_fields(
        self, fields: tuple[FieldPlan, ...], source: Any, path: Path | None
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """As `Executor.execute_fields`: every field started, then the awaitables gathered."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for field in fields:
                if field.read is not None and (result := field.read(source)) is not _UNANSWERED:
                    results[field.response_key] = result
                    continue
                result = self._execute_field(field, source, path)
                results[field.response_key] = result
                if is_awaitable(result):
                    awaitable_fields.append(field.response_key)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[key] for key in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gather_into(results, awaitable_fields)

    def _execute_serially(
        self, fields: tuple[FieldPlan, ...], source: Any, path: Path | None
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """As `Executor.execute_fields_serially`: each field finished before the next starts."""
        results: dict[str, Any] = {}
        for index, field in enumerate(fields):
            result = self._execute_field(field, source, path)
            if self.is_awaitable(result):
                return self._continue_serially(fields[index:], result, results, source, path)
            results[field.response_key] = result
        return results

    async def _continue_serially(
        self,
        fields: tuple[FieldPlan, ...],
        pending: Awaitable[Any],
        results: dict[str, Any],
        source: Any,
        path: Path | None,
    ) -> dict[str, Any]:
        results[fields[0].response_key] = await pending
        for field in fields[1:]:
            result = self._execute_field(field, source, path)
            results[field.response_key] = await result if self.is_awaitable(result) else result
        return results

    def _execute_field(self, field: FieldPlan, source: Any, parent_path: Path | None) -> Any:
        """As `Executor.execute_field`."""
        path = Path(parent_path, field.response_key, field.parent_type.name)
        completion = field.completion
        if completion is None:
            return self.execute_field(field.parent_type, source, field.field_details_list, path, None)
        try:
            if field.typename is not None:
                return field.typename
            if field.attribute is not None:
                result = getattr(source, field.attribute)
            else:
                result = self._resolve(field, source, path)
            if self.is_awaitable(result):
                return self._complete_awaitable(field, completion, path, path, result)
            completed = self._complete(field, completion, path, path, result)
            if self.is_awaitable(completed):
                return self._await_completed(field, completion, path, completed)
        except Exception as raw_error:  # noqa: BLE001 - located and recorded as graphql-core does
            self.handle_field_error(raw_error, completion.type, field.field_details_list, path)
            return None
        return completed

    def _resolve(self, field: FieldPlan, source: Any, path: Path) -> Any:
        """The field's resolver (Strawberry's whole chain) called as graphql-core calls it."""
        field_def = field.field_def
        arguments = field.arguments
        if arguments is None:
            details = field.field_details_list[0]
            arguments = get_argument_values(
                field_def, details.node, self.variable_values, details.fragment_variable_values, self.hide_suggestions
            )
        resolve: Callable[..., Any] = field_def.resolve or self.field_resolver
        return resolve(source, self._info(field, path), **arguments)

    def _info(self, field: FieldPlan, path: Path) -> GraphQLResolveInfo:
        return self.build_resolve_info(field.field_def, field.field_nodes, field.parent_type, path)

    async def _complete_awaitable(
        self, field: FieldPlan, completion: Completion, field_path: Path, path: Path, result: Any
    ) -> Any:
        """As `Executor.complete_awaitable_value` and `complete_awaitable_list_item_value` (there is
        no abort signal)."""
        try:
            completed = self._complete(field, completion, field_path, path, await result)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:  # noqa: BLE001 - located and recorded as graphql-core does
            self.handle_field_error(raw_error, completion.type, field.field_details_list, path)
            return None
        return completed

    async def _await_completed(self, field: FieldPlan, completion: Completion, path: Path, completed: Any) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - located and recorded as graphql-core does
            self.handle_field_error(raw_error, completion.type, field.field_details_list, path)
            return None

    def _complete(self, field: FieldPlan, completion: Completion, field_path: Path, path: Path, result: Any) -> Any:
        """As `Executor.complete_value`; `field_path` is the field's, `path` the value's (a list item's)."""
        if isinstance(result, Exception):
            raise result
        kind = completion.kind
        if kind == Completion.NON_NULL:
            completed = self._complete(field, completion.inner, field_path, path, result)  # ty: ignore[invalid-argument-type]
            if completed is None:
                name = field.field_nodes[0].name.value
                raise TypeError(f"Cannot return null for non-nullable field {field.parent_type}.{name}.")
            return completed
        if result is None or result is Undefined:
            return None
        if kind == Completion.LEAF:
            return self.complete_leaf_value(completion.type, result)  # ty: ignore[invalid-argument-type]
        if kind == Completion.OBJECT:
            return self._execute_fields(completion.fields, result, path)
        return self._complete_list(field, completion, field_path, path, result)

    def _complete_list(
        self, field: FieldPlan, completion: Completion, field_path: Path, path: Path, result: Any
    ) -> Any:
        """As `Executor.complete_list_value` and `complete_iterable_value` (nothing is streamed)."""
        if self.is_async_iterable(result):
            info = self._info(field, field_path)
            return self.complete_list_value(completion.type, field.field_details_list, info, path, result, None)  # ty: ignore[invalid-argument-type]
        if not is_iterable(result):
            name = field.field_nodes[0].name.value
            raise GraphQLError(f"Expected Iterable, but did not find one for field '{field.parent_type}.{name}'.")
        item_completion: Completion = completion.inner  # ty: ignore[invalid-assignment]
        is_awaitable = self.is_awaitable
        completed_results: list[Any] = []
        awaitable_indices: list[int] = []
        iterator = iter(result)
        try:
            for index, item in enumerate(iterator):
                item_path = path.add_key(index, None)
                if is_awaitable(item):
                    completed_results.append(
                        self._complete_awaitable(field, item_completion, field_path, item_path, item)
                    )
                    awaitable_indices.append(index)
                elif self._complete_item(field, item_completion, field_path, item_path, item, completed_results):
                    awaitable_indices.append(index)
        except Exception:
            pending = [completed_results[index] for index in awaitable_indices]
            pending.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed_results
        return _gather_into(completed_results, awaitable_indices)

    def _complete_item(
        self,
        field: FieldPlan,
        completion: Completion,
        field_path: Path,
        item_path: Path,
        item: Any,
        completed_results: list[Any],
    ) -> bool:
        """As `Executor.complete_list_item_value`: True where the completed item is awaitable."""
        try:
            completed = self._complete(field, completion, field_path, item_path, item)
            if self.is_awaitable(completed):
                completed_results.append(self._await_completed(field, completion, item_path, completed))
                return True
            completed_results.append(completed)
        except Exception as raw_error:  # noqa: BLE001 - located and recorded as graphql-core does
            self.handle_field_error(raw_error, completion.type, field.field_details_list, item_path)
            completed_results.append(None)
        return False


def _leaf_reader(attribute: str, leaf: GraphQLLeafType, *, nullable: bool) -> Callable[[Any], Any]:
    """What `Executor.execute_field` gives for a plain leaf field, for the values it takes without a
    question: a null in a nullable field, a plain value whose completion is plain. Anything else
    (a null in a non-null field, an exception held as a value, an awaitable, an error while reading
    or completing) is `_UNANSWERED`, and `_execute_field` reads it again, which changes nothing, and
    answers it with graphql-core's path, errors and all."""
    read = attrgetter(attribute)
    complete = leaf.coerce_output_value

    def reader(source: Any) -> Any:
        try:
            value = read(source)
            if value is None:
                return None if nullable else _UNANSWERED
            if type(value) not in _READ_VALUES:
                return _UNANSWERED
            completed = complete(value)
        except Exception:  # noqa: BLE001 - answered again by `_execute_field`, which reports it
            return _UNANSWERED
        return completed if type(completed) in _COMPLETED_VALUES else _UNANSWERED

    return reader


async def _gather_into[K](results: Any, keys: Sequence[K]) -> Any:
    """`results` (a dict or a list) with the awaitables at `keys` awaited, together, as graphql-core does."""
    if len(keys) == 1:
        results[keys[0]] = await results[keys[0]]
    else:
        awaited = await gather_with_cancel(*(results[key] for key in keys))
        for key, value in zip(keys, awaited, strict=True):
            results[key] = value
    return results


def _condition_variables(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> tuple[str, ...]:
    """The variables that `@skip`/`@include` read anywhere in the operation or the document's fragments:
    the field collection of a request depends on their values and on nothing else of the request."""
    finder = _ConditionVariables()
    for node in (operation, *fragments.values()):
        visit(node, finder)
    return tuple(sorted(finder.names))


class _ConditionVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: Any, *_args: object) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments:
                if isinstance(argument.value, VariableNode):
                    self.names.add(argument.value.name.value)


def _uses_variables(node: FieldNode) -> bool:
    return any(_holds_variable(argument.value) for argument in node.arguments or ())


def _holds_variable(value: Any) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_holds_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_holds_variable(field.value) for field in value.fields)
    return False


__all__ = ["PlannedExecutionContext"]
