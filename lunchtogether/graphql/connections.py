"""Relay connections: the lists a client pages through with `first` and `after`.

Pages are keyset pages (`schemas.pagination.Keyset`) of records that have a `created_at`
and an `id`; a cursor is the signed keyset of its row. A second connection, a group's
members say, takes a type and a field:

    @strawberry.type(name="MemberConnection")
    class MemberConnection(Connection[MemberType]):
        total_count: int = total_count_field("How many members the group has.")

    @strawberry.field(description="The group's members, newest first, a page at a time.")
    async def members(self, info: Info, first: int = 20, after: str | None = strawberry.UNSET) -> MemberConnection:
        viewer = await info.context.require_user()
        request = PageRequest(first=first, after=after or None)
        after_keyset = info.context.cursors.decode_after(request.after)
        data = ListMembersInput(group_id=self.id, first=request.first, after=after_keyset)
        page = await info.context.deps.list_members().execute(data, viewer=viewer)
        count = partial(info.context.deps.count_members().execute, CountMembersInput(group_id=self.id))
        return MemberConnection.of(page, cursors=info.context.cursors, node=MemberType.from_record, count=count)

The workflow behind it fetches `first + 1` rows and returns `Page.of(rows, ...)`.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Self

import strawberry

from lunchtogether.graphql.pagination import CursorCodec, KeysetRecord
from lunchtogether.schemas.pagination import Count, Page


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge[NodeT]:
    cursor: str
    node: NodeT


@strawberry.type
class Connection[NodeT]:
    """Named `<Node>Connection` in the schema; its edges are `<Node>Edge`."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[Count]]]
    """Counts every row across all pages; called only when `totalCount` is selected."""

    @classmethod
    def of[RecordT: KeysetRecord](
        cls,
        page: "Page[RecordT]",
        *,
        cursors: CursorCodec,
        node: Callable[[RecordT], NodeT],
        count: Callable[[], Awaitable[Count]],
    ) -> Self:
        edges = [Edge(cursor=cursors.encode(record), node=node(record)) for record in page.items]
        page_info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(edges=edges, page_info=page_info, count=count)


async def _total_count(root: Connection[Any]) -> int:
    return (await root.count()).total


def total_count_field(description: str) -> Any:
    """A connection's `totalCount`: a resolver, so the count query runs only when a client selects it."""
    return strawberry.field(resolver=_total_count, description=description)
