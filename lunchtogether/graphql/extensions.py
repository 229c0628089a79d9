from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types.base import get_object_definition


class Transactional(FieldExtension):
    """Commits a mutation's writes when it succeeds and rolls them back when it fails.

    Mutations run one after another, so each one commits on its own: a later
    failing mutation of the same operation cannot undo an acknowledged one.
    """

    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        raise TypeError("Transactional supports async resolvers only")

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        async with info.context.deps.db.transaction():
            return await next_(source, info, **kwargs)


def transactional[T: type](mutation_type: T) -> T:
    """Puts every field of the Mutation type in a transaction, so that no mutation has to ask.

    Applied over `@strawberry.type`. `Transactional` goes last, which Strawberry makes the
    outermost extension: a field's other extensions (a permission check) run inside it.
    """
    definition = get_object_definition(mutation_type, strict=True)
    for field in definition.fields:
        if not any(isinstance(extension, Transactional) for extension in field.extensions):
            field.extensions = [*field.extensions, Transactional()]
    return mutation_type
