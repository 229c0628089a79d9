"""Query limits, applied before anything executes.

Depth, aliases and tokens use Strawberry's own extensions. What graphql-core has no
cheap rule for is checked here, before its validation runs: merging repeated fields
is quadratic there, so 300 copies of one field cost half a second of CPU to refuse.
"""

from collections import Counter
from collections.abc import Callable, Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    Visitor,
    visit,
)
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension

from lunchtogether.config import Settings


def query_limits(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: DocumentLimits(
            max_directives=settings.graphql_max_directives,
            max_repeated_fields=settings.graphql_max_repeated_fields,
        ),
        lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
    ]


class DocumentLimits(SchemaExtension):
    def __init__(self, *, max_directives: int, max_repeated_fields: int) -> None:
        self._max_directives = max_directives
        self._max_repeated_fields = max_repeated_fields

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and (error := self._check(context.graphql_document)):
            # Set before validation runs, so that graphql-core's validation is skipped.
            context.pre_execution_errors = [error]
        yield

    def _check(self, document: DocumentNode) -> GraphQLError | None:
        census = _Census(document)
        visit(document, census)
        if census.directives > self._max_directives:
            return GraphQLError(f"{census.directives} directives found. Allowed: {self._max_directives}")
        name, count = census.most_repeated
        if count > self._max_repeated_fields:
            return GraphQLError(
                f"Field '{name}' is selected {count} times at one place. Allowed: {self._max_repeated_fields}"
            )
        return None


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
