"""The generic connection: a second list built on it gets Relay paging and a lazy totalCount."""

from datetime import UTC, datetime
from functools import partial
from uuid import UUID, uuid4

import strawberry

from lunchtogether.graphql.connections import Connection, total_count_field
from lunchtogether.graphql.pagination import CursorCodec
from lunchtogether.schemas.base import RecordModel
from lunchtogether.schemas.pagination import Count, Keyset, Page, PageRequest

CURSORS = CursorCodec("a-secret-of-this-test")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Member(RecordModel):
    """A record of another model than users: all a connection needs is `created_at` and `id`."""

    id: UUID
    full_name: str
    created_at: datetime


@strawberry.type(name="Member")
class MemberType:
    id: strawberry.ID
    full_name: str

    @classmethod
    def from_record(cls, member: Member) -> "MemberType":
        return cls(id=strawberry.ID(str(member.id)), full_name=member.full_name)


@strawberry.type(name="MemberConnection")
class MemberConnection(Connection[MemberType]):
    total_count: int = total_count_field("How many members the group has.")


# Newest first: all made at the same time, so the larger id first.
MEMBERS = [Member(id=UUID(int=number), full_name=f"Member {number}", created_at=NOW) for number in range(5, 0, -1)]
counts: list[str] = []


async def _count_members(group: str) -> Count:
    counts.append(group)
    return Count(total=len(MEMBERS))


def _list_members(first: int, after: Keyset | None) -> Page[Member]:
    """What a list workflow returns: `first + 1` rows in keyset order, made a page."""
    rows = [member for member in MEMBERS if after is None or member.id.int < after.id.int][: first + 1]
    return Page.of(rows, first=first, has_previous_page=after is not None)


@strawberry.type
class Query:
    @strawberry.field
    def members(self, first: int = 2, after: str | None = strawberry.UNSET) -> MemberConnection:
        request = PageRequest(first=first, after=after or None)
        page = _list_members(request.first, CURSORS.decode_after(request.after))
        return MemberConnection.of(
            page, cursors=CURSORS, node=MemberType.from_record, count=partial(_count_members, "lunch")
        )


SCHEMA = strawberry.Schema(query=Query)


async def _members(selection: str, after: str | None = None) -> dict:
    result = await SCHEMA.execute(
        f"query ($after: String) {{ members(after: $after) {{ {selection} }} }}", variable_values={"after": after}
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["members"]


def test_the_types_are_named_after_the_node():
    sdl = SCHEMA.as_str()

    assert "type MemberConnection {\n  edges: [MemberEdge!]!\n  pageInfo: PageInfo!\n" in sdl
    assert '  """How many members the group has."""\n  totalCount: Int!\n' in sdl
    assert "type MemberEdge {\n  cursor: String!\n  node: Member!\n}" in sdl


async def test_pages_follow_each_other_through_their_cursors():
    selection = "edges { cursor node { id fullName } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
    seen: list[str] = []
    after = None
    while True:
        connection = await _members(selection, after)
        edges, page_info = connection["edges"], connection["pageInfo"]
        seen += [edge["node"]["fullName"] for edge in edges]
        assert page_info["hasPreviousPage"] is (after is not None)
        assert (page_info["startCursor"], page_info["endCursor"]) == (edges[0]["cursor"], edges[-1]["cursor"])
        assert CURSORS.decode(page_info["endCursor"]) == Keyset(created_at=NOW, id=UUID(edges[-1]["node"]["id"]))
        if not page_info["hasNextPage"]:
            break
        after = page_info["endCursor"]

    assert seen == [f"Member {number}" for number in range(5, 0, -1)]


async def test_an_empty_page_has_no_cursors():
    past_the_end = CURSORS.encode(Keyset(created_at=NOW, id=UUID(int=1)))

    connection = await _members("edges { cursor } pageInfo { hasNextPage startCursor endCursor }", past_the_end)

    assert connection == {"edges": [], "pageInfo": {"hasNextPage": False, "startCursor": None, "endCursor": None}}


async def test_total_count_is_counted_only_when_selected():
    counts.clear()

    await _members("edges { cursor }")
    assert counts == []
    assert (await _members("totalCount"))["totalCount"] == 5
    assert counts == ["lunch"]


async def test_a_cursor_of_another_server_is_refused_as_after():
    foreign = CursorCodec("another-secret").encode(Keyset(created_at=NOW, id=uuid4()))

    result = await SCHEMA.execute(f'{{ members(after: "{foreign}") {{ totalCount }} }}')

    assert result.errors is not None
    assert result.errors[0].original_error is not None
    assert getattr(result.errors[0].original_error, "fields", None) == {"after": "is not a cursor this server issued"}
