"""user and users: visibility, Relay pagination, search, and the DataLoader."""

import asyncio
import contextlib
import gc
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import event, update

from lunchtogether.graphql.pagination import CursorCodec
from lunchtogether.main import create_app
from lunchtogether.models import Session, User
from tests.support import GraphQL, code, error, make_settings, make_superuser

# A well-formed cursor whose signature is zeros.
UNSIGNED_CURSOR = (
    "MjAyNi0xMS0yNlQxMToyMzoyMS4wNTg1MTcrMDA6MDB8ZDk2MzFiOWFhNTEzNGMzOGI4YjA5ZmIzOTU2ZjVlZWI.AAAAAAAAAAAAAAAA"
)
USER = "query User($id: ID!) { user(id: $id) { id email fullName } }"
USERS = """
query Users($first: Int, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    totalCount
    edges { cursor node { id email fullName createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def test_user_and_users_require_sign_in(api):
    assert code(await api(USER, {"id": "00000000-0000-0000-0000-000000000000"})) == "UNAUTHENTICATED"
    assert code(await api(USERS)) == "UNAUTHENTICATED"


async def test_email_is_shown_only_to_the_user_themself_and_superusers(api, settings):
    ann, ann_token = await api.signed_up("ann@example.com")
    bob, bob_token = await api.signed_up("bob@example.com")
    root_token = await make_superuser(settings, api)

    seen_by_ann = await api(USER, {"id": ann["id"]}, token=ann_token)
    seen_by_bob = await api(USER, {"id": ann["id"]}, token=bob_token)
    seen_by_root = await api(USER, {"id": ann["id"]}, token=root_token)

    assert seen_by_ann["data"]["user"]["email"] == "ann@example.com"
    assert seen_by_bob["data"]["user"]["email"] is None
    assert seen_by_root["data"]["user"]["email"] == "ann@example.com"
    listed = await api(USERS, {"search": "example"}, token=bob_token)
    emails = {edge["node"]["id"]: edge["node"]["email"] for edge in listed["data"]["users"]["edges"]}
    assert emails[bob["id"]] == "bob@example.com"
    assert emails[ann["id"]] is None


async def test_user_is_null_for_an_unknown_id_and_refuses_a_bad_one(api):
    _, token = await api.signed_up("ann@example.com")

    assert await api(USER, {"id": "00000000-0000-0000-0000-000000000000"}, token=token) == {"data": {"user": None}}
    result = await api(USER, {"id": "nope"}, token=token)
    assert code(result) == "BAD_USER_INPUT"
    assert error(result)["extensions"]["fields"] == {"id": "must be a UUID"}


async def test_users_pages_newest_first_across_pages(api):
    _, token = await api.signed_up("viewer@example.com", full_name="Viewer")
    for number in range(6):
        await api.register(f"user{number}@example.com", full_name=f"User {number}")

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        result = await api(USERS, {"first": 3, "after": after}, token=token)
        connection = result["data"]["users"]
        assert connection["totalCount"] == 7
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["fullName"] for edge in connection["edges"]]
        assert connection["pageInfo"]["endCursor"] == connection["edges"][-1]["cursor"]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    assert pages == 3
    assert seen == [f"User {n}" for n in range(5, -1, -1)] + ["Viewer"]


async def test_users_pages_break_timestamp_ties_by_id(api, engine):
    _, token = await api.signed_up("viewer@example.com")
    for number in range(4):
        await api.register(f"user{number}@example.com")
    async with engine.begin() as connection:
        await connection.execute(update(User).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))

    seen: list[str] = []
    after = None
    while after is not False:
        connection = (await api(USERS, {"first": 2, "after": after}, token=token))["data"]["users"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        after = connection["pageInfo"]["hasNextPage"] and connection["pageInfo"]["endCursor"]

    assert seen == sorted(seen, key=UUID, reverse=True)
    assert len(set(seen)) == 5


async def test_users_search_matches_email_or_name_without_case_and_wildcards(api):
    _, token = await api.signed_up("viewer@example.com", full_name="Viewer")
    await api.register("ann@lunch.io", full_name="Ann 100% Real")
    await api.register("bob_smith@lunch.io", full_name="Bob")
    await api.register("carl@lunch.io", full_name="Carl")

    async def names(search: str) -> set[str]:
        result = await api(USERS, {"search": search}, token=token)
        connection = result["data"]["users"]
        assert connection["totalCount"] == len(connection["edges"])
        return {edge["node"]["fullName"] for edge in connection["edges"]}

    assert await names("LUNCH.IO") == {"Ann 100% Real", "Bob", "Carl"}
    assert await names("ann") == {"Ann 100% Real"}
    assert await names("100%") == {"Ann 100% Real"}
    assert await names("%") == {"Ann 100% Real"}
    assert await names("_") == {"Bob"}
    assert await names("b_s") == {"Bob"}
    assert await names("nobody") == set()


@pytest.mark.parametrize(
    ("variables", "bad_field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"first": -5}, "first"),
        ({"after": "garbage"}, "after"),
        ({"after": UNSIGNED_CURSOR}, "after"),
        ({"after": "\ud800"}, "after"),
        ({"search": "a\x00b"}, "search"),
        ({"search": "x" * 101}, "search"),
    ],
)
async def test_users_refuses_bad_arguments_by_name(api, variables, bad_field):
    _, token = await api.signed_up("viewer@example.com")

    result = await api(USERS, variables, token=token)

    assert code(result) == "BAD_USER_INPUT"
    assert set(error(result)["extensions"]["fields"]) == {bad_field}


async def test_a_cursor_from_a_forged_signature_is_refused(api, settings):
    _, token = await api.signed_up("viewer@example.com")
    page = await api(USERS, {"first": 1}, token=token)
    cursor = page["data"]["users"]["edges"][0]["cursor"]
    forged = CursorCodec("some-other-secret").encode(CursorCodec(settings.jwt_secret).decode(cursor))

    assert code(await api(USERS, {"after": forged}, token=token)) == "BAD_USER_INPUT"
    assert "errors" not in await api(USERS, {"after": cursor}, token=token)


async def test_ten_aliased_users_cost_one_query(api, count_statements):
    _, token = await api.signed_up("viewer@example.com")
    ids = [(await api.register(f"user{n}@example.com"))["id"] for n in range(10)]
    query = "query {" + " ".join(f'u{n}: user(id: "{id}") {{ id fullName }}' for n, id in enumerate(ids)) + "}"

    async with count_statements() as statements:
        result = await api(query, token=token)

    assert "errors" not in result
    assert [result["data"][f"u{n}"]["id"] for n in range(10)] == ids
    user_lookups = [s for s in statements if "FROM users" in s and "sessions" not in s]
    assert len(user_lookups) == 1, statements
    assert len(statements) == 2, "\n".join(s[-60:] for s in statements)  # the identity check, then the one batch


async def test_me_user_and_users_resolve_together_on_one_request(api):
    """graphql-core runs these fields concurrently; they share one session safely."""
    me, token = await api.signed_up("viewer@example.com")
    others = [await api.register(f"user{n}@example.com") for n in range(3)]
    fields = " ".join(f'u{n}: user(id: "{other["id"]}") {{ id }}' for n, other in enumerate(others))
    query = f"""query {{
      me {{ id }}
      {fields}
      users(first: 2) {{ totalCount edges {{ node {{ id }} }} }}
      again: users(first: 1, search: "user1@") {{ totalCount }}
    }}"""

    results = await asyncio.gather(*(api(query, token=token) for _ in range(5)))

    for result in results:
        assert "errors" not in result, result
        assert result["data"]["me"]["id"] == me["id"]
        assert [result["data"][f"u{n}"]["id"] for n in range(3)] == [other["id"] for other in others]
        assert result["data"]["users"]["totalCount"] == 4
        assert result["data"]["again"]["totalCount"] == 1


def test_settings_secret_is_not_shown_in_repr(settings):
    assert isinstance(settings.jwt_secret_key, SecretStr)
    assert settings.jwt_secret not in repr(settings)


async def test_me_costs_one_statement(api, client, count_statements):
    _, token = await api.signed_up("viewer@example.com")

    async with count_statements() as statements:
        assert await api.me(token) is not None  # Bearer
        assert await api.me() is not None  # the cookie, with no renewal due

    assert len(statements) == 2, statements  # each: session state and user together


async def test_the_last_use_of_a_session_costs_one_write_a_minute(api, engine, count_statements):
    _, token = await api.signed_up("viewer@example.com")
    async with engine.begin() as connection:  # the last use was a minute ago
        await connection.execute(update(Session).values(last_used_at=datetime.now(UTC) - timedelta(seconds=61)))

    async with count_statements() as statements:
        assert await api.me(token) is not None
    async with count_statements() as steady:
        assert await api.me(token) is not None

    assert [statement.split()[0] for statement in statements] == ["SELECT", "UPDATE"], statements
    assert len(steady) == 1, steady


@pytest.mark.parametrize(("selection", "expected"), [("edges { cursor }", 2), ("totalCount edges { cursor }", 3)])
async def test_a_users_page_costs_one_statement_and_total_count_one_more(api, count_statements, selection, expected):
    _, token = await api.signed_up("viewer@example.com")

    async with count_statements() as statements:
        result = await api(f"{{ users(first: 5) {{ {selection} }} }}", token=token)

    assert "errors" not in result
    assert len(statements) == expected, statements  # the identity, the page, and the count when asked


async def test_steady_load_reuses_pooled_connections(postgresql_database):
    """The pool is sized for PostgreSQL, where a busy process has many requests waiting on it."""
    app = create_app(make_settings(postgresql_database))
    engine = app.state.engine
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        api = GraphQL(client)
        _, token = await api.signed_up("viewer@example.com")

        async def burst() -> None:
            assert None not in await asyncio.gather(*(api.me(token) for _ in range(24)))

        await burst()  # the pool grows to what this load needs
        opened: list[object] = []

        def count(connection: object, _record: object) -> None:
            opened.append(connection)

        event.listen(engine.sync_engine, "connect", count)
        try:
            for _ in range(5):
                await burst()
        finally:
            event.remove(engine.sync_engine, "connect", count)
    await engine.dispose()
    await app.state.services.close()

    assert opened == []  # every request of the later bursts ran on a connection already open


async def test_requests_cancelled_mid_read_leave_the_pool_healthy(postgresql_database):
    """A client that goes away cancels its request wherever it is, a read in flight included."""
    app = create_app(make_settings(postgresql_database, database_pool_size=2, database_max_overflow=0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        api = GraphQL(client)
        _, token = await api.signed_up("viewer@example.com")
        for step in range(60):
            request = asyncio.create_task(api.me(token))
            await asyncio.sleep(0.0002 * (step % 12))  # cancelled at another point each time
            request.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await request

        answers = await asyncio.gather(*(api.me(token) for _ in range(10)))
    await app.state.engine.dispose()
    await app.state.services.close()

    assert all(me is not None for me in answers)


async def test_fields_cancelled_by_a_failed_sibling_give_their_connections_back(api, engine, caplog):
    """graphql-core cancels a query's other fields when a non-null one fails, mid-read included."""
    user, token = await api.signed_up("viewer@example.com")
    query = f'{{ user(id: "{user["id"]}") {{ id }} users(first: 0) {{ totalCount }} }}'

    with caplog.at_level(logging.ERROR, logger="sqlalchemy.pool"):
        for _ in range(5):
            assert code(await api(query, token=token)) == "BAD_USER_INPUT"
        async with asyncio.timeout(5):  # the cancelled fields finish their clean-up after the answer
            while engine.pool.checkedout():  # noqa: ASYNC110 - the pool has no event to wait on
                await asyncio.sleep(0.01)
        gc.collect()

    assert [record.getMessage() for record in caplog.records if record.name.startswith("sqlalchemy.pool")] == []
