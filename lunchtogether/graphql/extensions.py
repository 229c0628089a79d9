from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension


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
