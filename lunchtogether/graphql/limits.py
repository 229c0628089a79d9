"""Query limits and validation, applied before anything executes, and cached per document.

Depth, aliases and tokens use Strawberry's own rules. What graphql-core has no cheap
rule for is checked here first: merging repeated fields is quadratic in graphql-core,
so 300 copies of one field would cost half a second of CPU to refuse.
"""

from collections import Counter
from collections.abc import Callable, Iterator
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
    SelectionSetNode,
    Visitor,
    visit,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document

from lunchtogether.config import Settings

# Distinct documents whose parse and validation results are kept; bounded, so that
# unique query texts cannot grow memory.
CACHED_DOCUMENTS = 256


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_directives: int
    max_repeated_fields: int

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


def query_limits(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The schema's extensions for parsing and validation, in the order they apply."""
    # Strawberry's limiters make a new rule class per instance; built once here, the
    # rules are the same objects on every request, so validation results can be cached.
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    if not settings.is_development:
        rules.append(NoSchemaIntrospectionCustomRule)
    limits = DocumentLimits(
        max_directives=settings.graphql_max_directives, max_repeated_fields=settings.graphql_max_repeated_fields
    )
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: AddValidationRules(rules),
        lambda: CachedValidation(limits),
    ]


class CachedValidation(SchemaExtension):
    """Validates each distinct document once: the cheap limits, then graphql-core's rules."""

    def __init__(self, limits: DocumentLimits) -> None:
        self._limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            context.pre_execution_errors = _validate(
                context.schema._schema, context.graphql_document, tuple(context.validation_rules), self._limits
            )
        yield


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...], limits: DocumentLimits
) -> list[GraphQLError]:
    if error := limits.check(document):
        return [error]
    return validate_document(schema, document, rules)


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


__all__ = ["DocumentLimits", "query_limits"]
