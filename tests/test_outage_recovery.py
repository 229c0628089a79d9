"""A database that goes away, or freezes, and comes back: the app answers throughout and recovers alone.

PostgreSQL itself is shared, so the outage is a TCP proxy in front of it that a test cuts
(the listener and every connection closed, as when the server stops), freezes (connections
accepted, nothing forwarded either way, as when the server or the network hangs) and restores.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine

import httpx
import pytest
from sqlalchemy.engine import make_url

from lunchtogether.main import create_app
from tests.support import ME, GraphQL, code, make_settings

# Small on purpose: a test waits for each of them.
TIMEOUTS = {
    "database_connect_timeout": 1.0,
    "database_statement_timeout": 1.0,
    "database_pool_timeout": 1.0,
    # Two connections, which a frozen database leaves both stuck: a third request must not wait on them.
    "database_pool_size": 2,
    "database_max_overflow": 0,
}
READY_WITHIN = 2.0
# A refused connection fails at once; an unanswered statement takes its timeout, then at most
# 2 s more while SQLAlchemy gives the connection up.
FAILS_FAST_WITHIN = 1.0
FROZEN_REQUEST_WITHIN = 4.0
WARM_CONNECTIONS = 2
# Whatever goes wrong, no test here waits longer: a hang is the failure these tests look for.
TEST_SECONDS = 20


class Proxy:
    """Forwards 127.0.0.1:`port` to the database, until the test says otherwise."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """The server is gone: new connections are refused and open ones are closed."""
        assert self._server is not None
        self._server.close()
        self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def freeze(self) -> None:
        """The server hangs: connections are accepted, and nothing goes through in either direction."""
        self._flowing.clear()

    async def restore(self) -> None:
        """The server is back: on the same port, and frozen connections flow again."""
        if self._server is None:
            await self.start()
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        self._spawn(self._connect(client_reader, client_writer))

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        """Runs `work` as a task of the proxy's own, which `cut` can cancel."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await self._flowing.wait()
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.add(server_writer)
        self._spawn(self._pump(client_reader, server_writer))
        self._spawn(self._pump(server_reader, client_writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


@pytest.fixture
async def proxy(postgresql_database: str) -> AsyncIterator[Proxy]:
    url = make_url(postgresql_database)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def proxied(postgresql_database: str, proxy: Proxy) -> AsyncIterator[GraphQL]:
    """An app whose database is behind the proxy."""
    url = make_url(postgresql_database).set(host="127.0.0.1", port=proxy.port)
    app = create_app(make_settings(url.render_as_string(hide_password=False), **TIMEOUTS))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as proxied_client:
        yield GraphQL(proxied_client)
    await proxy.close()  # first, so that closing the pool never waits on a connection left frozen
    await app.state.engine.dispose()
    await app.state.services.close()


async def timed[T](call: Awaitable[T]) -> tuple[T, float]:
    started = time.monotonic()
    result = await call
    return result, time.monotonic() - started


async def signed_in_with_warm_pool(api: GraphQL) -> str:
    """A token, after requests at once have left several connections in the pool."""
    _user, token = await api.signed_up("ann@example.com", full_name="Ann")
    answers = await asyncio.gather(*(api.me(token) for _ in range(WARM_CONNECTIONS)))
    assert all(answer is not None for answer in answers)
    return token


async def assert_unavailable(api: GraphQL, token: str, *, graphql_within: float) -> None:
    """What a client and an orchestrator see while the database is away."""
    (me, me_seconds), (ready, ready_seconds) = await asyncio.gather(
        timed(api(ME, token=token)), timed(api.client.get("/health/ready"))
    )
    health = await api.client.get("/health")

    assert code(me) == "INTERNAL_SERVER_ERROR"
    assert me_seconds < graphql_within
    assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})
    assert ready_seconds < READY_WITHIN
    assert health.status_code == 200


async def assert_recovered(api: GraphQL, token: str) -> None:
    """The first requests after the database is back succeed: nobody restarted anything."""
    me = await api.me(token)
    assert me is not None
    assert me["fullName"] == "Ann"
    assert (await api.client.get("/health/ready")).status_code == 200


async def test_a_stopped_database_fails_requests_fast_and_the_app_recovers(proxied, proxy):
    async with asyncio.timeout(TEST_SECONDS):
        token = await signed_in_with_warm_pool(proxied)

        await proxy.cut()
        await assert_unavailable(proxied, token, graphql_within=FAILS_FAST_WITHIN)
        await proxy.restore()

        await assert_recovered(proxied, token)


async def test_pooled_connections_the_server_closed_are_replaced_without_pre_ping(proxied, proxy):
    """A restart nobody saw (no request during it) costs no failed request, and no ping per checkout."""
    async with asyncio.timeout(TEST_SECONDS):
        token = await signed_in_with_warm_pool(proxied)

        await proxy.cut()
        await proxy.restore()

        answers = await asyncio.gather(*(proxied(ME, token=token) for _ in range(WARM_CONNECTIONS)))
        assert all("errors" not in answer for answer in answers), answers


async def test_a_frozen_database_is_given_up_within_the_bounds_and_the_app_recovers(proxied, proxy):
    async with asyncio.timeout(TEST_SECONDS):
        token = await signed_in_with_warm_pool(proxied)

        proxy.freeze()
        await assert_unavailable(proxied, token, graphql_within=FROZEN_REQUEST_WITHIN)
        # The pool's two connections went unanswered above; neither may be lent again.
        login, login_seconds = await timed(
            proxied.post('mutation { login(input: {email: "ann@example.com", password: "whatever1"}) { accessToken } }')
        )
        await proxy.restore()

        assert code(login.json()) == "INTERNAL_SERVER_ERROR"
        assert login_seconds < FROZEN_REQUEST_WITHIN
        await assert_recovered(proxied, token)
