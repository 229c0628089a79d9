"""Parsing and validation: query limits applied before anything executes, cached per document.

Depth and aliases use Strawberry's own validation rules, checked once graphql-core's
rules find the document valid, and tokens graphql-core's parser limit. What graphql-core
has no cheap rule for is checked first, by walking the document once: merging repeated
fields is quadratic in graphql-core, so a few hundred copies of one field would keep the
CPU busy for a long while just to refuse them. Results are cached per document text.

It is one extension, not Strawberry's four (MaxTokensLimiter, ParserCache,
AddValidationRules, ValidationCache): every extension wraps every phase of every
request, and four of them added up to a large share of a small request's CPU
(docs/performance.md).
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

from lunchtogether.config import Settings

# Distinct documents whose parse and validation results are kept; bounded, so that
# unique query texts cannot grow memory.
CACHED_DOCUMENTS = 256
# Strawberry's default validation rules (`ExecutionContext.validation_rules`): a request's.
_REQUEST_RULES = tuple(specified_rules)


@dataclass(frozen=True, slots=True)
class QueryPolicy:
    """Every limit a document must meet; hashable, so that results are cached per policy."""

    max_tokens: int
    max_directives: int
    max_repeated_fields: int
    rules: tuple[type[ASTValidationRule], ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> "QueryPolicy":
        # Strawberry's limiters make a new rule class per instance: built once here,
        # the rules are the same objects on every request, so results can be cached.
        rules: list[type[ASTValidationRule]] = [
            *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
        ]
        if not settings.is_development:
            rules.append(NoSchemaIntrospectionCustomRule)
        return cls(
            max_tokens=settings.graphql_max_tokens,
            max_directives=settings.graphql_max_directives,
            max_repeated_fields=settings.graphql_max_repeated_fields,
            rules=tuple(rules),
        )

    def check(self, document: DocumentNode) -> GraphQLError | None:
        census = _Census(document)
        visit(document, census)
        if census.directives > self.max_directives:
            return GraphQLError(f"{census.directives} directives found. Allowed: {self.max_directives}")
        name, count = census.most_repeated
        if count > self.max_repeated_fields:
            allowed = self.max_repeated_fields
            return GraphQLError(f"Field '{name}' is selected {count} times at one place. Allowed: {allowed}")
        return None


class CheckedDocuments(SchemaExtension):
    def __init__(self, policy: QueryPolicy) -> None:
        self._policy = policy

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            context.graphql_document = _parse(context.query, self._policy.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            schema, rules = context.schema._schema, tuple(context.validation_rules)
            context.pre_execution_errors = (
                _validate(schema, context.query, rules, self._policy)
                if context.query is not None  # `on_parse` made the document from this text
                else _check(schema, document, rules, self._policy)
            )
        yield


def operation_names(query: str, policy: QueryPolicy) -> list[str | None]:
    """The names of the document's operations (None for an anonymous one).

    Asked when the client sent no `operationName`: with several operations that is a
    request error (Strawberry would run the first), with one its name goes in the log.
    A document that does not parse gives none, and is left for the parser's own error.
    """
    try:
        document = _parse(query, policy.max_tokens)  # cached: the same parse the schema uses
    except GraphQLError:
        return []
    return [
        definition.name.value if definition.name else None
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def request_document(schema: GraphQLSchema, query: str, policy: QueryPolicy) -> DocumentNode | None:
    """The document a request's `query` makes, parsed and checked exactly as `CheckedDocuments` does
    (the same cached calls, Strawberry's default rules); None when it has an error of any kind, which
    only Strawberry's own path reports (`direct_execution.py`)."""
    try:
        document = _parse(query, policy.max_tokens)
    except GraphQLError:
        return None
    return None if _validate(schema, query, _REQUEST_RULES, policy) else document


def checked_document(schema: GraphQLSchema, query: str, policy: QueryPolicy) -> DocumentNode:
    """The document of `query`, parsed and checked as a request's would be; raises its first error.

    For documents known before any request (trusted documents): not cached, so that they do
    not crowd the requests' cache out.
    """
    document = parse(query, max_tokens=policy.max_tokens)
    if errors := _check(schema, document, tuple(specified_rules), policy):
        raise errors[0]
    return document


def is_valid(schema: GraphQLSchema, query: str, policy: QueryPolicy) -> bool:
    """Whether a request with this text gets past parsing and validation; cached, so that the
    request's own check of the same text costs nothing more."""
    return request_document(schema, query, policy) is not None


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _validate(
    schema: GraphQLSchema, query: str, rules: tuple[type[ASTValidationRule], ...], policy: QueryPolicy
) -> list[GraphQLError]:
    """Cached per document text, not per document: documents of the same tokens compare
    equal, but an error's location is a line and a column of the text."""
    return _check(schema, _parse(query, policy.max_tokens), rules, policy)


def _check(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...], policy: QueryPolicy
) -> list[GraphQLError]:
    """The limits are checked on valid documents only: Strawberry's depth rule fails on a
    fragment the document does not define, which graphql-core's rules report."""
    if error := policy.check(document):
        return [error]
    return validate_document(schema, document, rules) or validate(schema, document, policy.rules)


class _Census(Visitor):
    """Counts directives, and how often each field is selected in one merged selection set."""

    def __init__(self, document: DocumentNode) -> None:
        super().__init__()
        self.directives = 0
        self.most_repeated: tuple[str, int] = ("", 0)
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._fragment_fields: dict[str, Counter[str]] = {}

    def enter_directive(self, *_args: object) -> None:
        self.directives += 1

    def enter_selection_set(self, node: SelectionSetNode, *_args: object) -> None:
        repeated = self._fields(node, expanding=frozenset()).most_common(1)
        if repeated and repeated[0][1] > self.most_repeated[1]:
            self.most_repeated = repeated[0]

    def _fields(self, node: SelectionSetNode, *, expanding: frozenset[str]) -> Counter[str]:
        """Response names selected here, fragments included (each fragment counted once, cached)."""
        fields: Counter[str] = Counter()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                fields[(selection.alias or selection.name).value] += 1
            elif isinstance(selection, InlineFragmentNode):
                fields += self._fields(selection.selection_set, expanding=expanding)
            elif isinstance(selection, FragmentSpreadNode):
                fields += self._fragment(selection.name.value, expanding=expanding)
        return fields

    def _fragment(self, name: str, *, expanding: frozenset[str]) -> Counter[str]:
        if name in self._fragment_fields:
            return self._fragment_fields[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in expanding:  # unknown or cyclic: validation reports it
            return Counter()
        fields = self._fields(fragment.selection_set, expanding=expanding | {name})
        self._fragment_fields[name] = fields
        return fields


__all__ = ["CheckedDocuments", "QueryPolicy", "checked_document", "is_valid", "operation_names", "request_document"]
