"""`lunchtogether serve` as real processes: several of them share one database, and SIGTERM loses nothing."""

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.servers import GRACE_SECONDS, STARTUP_SECONDS, Server
from tests.support import REGISTER, GraphQL

# A bcrypt hash at this cost takes half a second or more, and the hashes of a process run one
# per core less one: registrations sent together are still in flight a moment later, at SIGTERM.
SLOW_BCRYPT_ROUNDS = 13
REGISTRATIONS = 4
IN_FLIGHT_AFTER = 0.25
STALLED_SECONDS = 7  # longer than uvicorn's default health check bound
LOGOUT = "mutation { logout }"
ME_EMAIL = "{ me { email } }"
ANN = {"email": "ann@example.com"}


def _worker_processes(parent: int) -> list[int]:
    """The processes uvicorn spawned as workers of `parent` (Linux's /proc)."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent_of = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if parent_of == parent and b"spawn_main" in command:
            workers.append(int(stat.parent.name))
    return workers


async def _emails_in(database_url: str) -> set[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return set((await connection.execute(text("SELECT email FROM users"))).scalars())
    finally:
        await engine.dispose()


async def test_processes_share_tokens_and_their_revocation_through_the_database(launch):
    """Two servers on two ports, the first with two workers: what one issues, another accepts and revokes."""
    first, second = await asyncio.gather(launch("--workers", "2"), launch())
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=10) as first_client,
        httpx.AsyncClient(base_url=second.url, timeout=10) as second_client,
    ):
        on_first, on_second = GraphQL(first_client), GraphQL(second_client)
        _user, token = await on_second.signed_up("ann@example.com", full_name="Ann")

        assert len(_worker_processes(first.process.pid)) == 2
        assert all(answer == {"data": {"me": ANN}} for answer in await _ask_me(on_first, token))
        # The second has checked this token's signature now, and keeps that: the revocation must still reach it.
        assert (await on_second(ME_EMAIL, token=token)) == {"data": {"me": ANN}}
        assert (await on_first(LOGOUT, token=token)) == {"data": {"logout": True}}
        assert (await on_second(ME_EMAIL, token=token)) == {"data": {"me": None}}
        assert all(answer == {"data": {"me": None}} for answer in await _ask_me(on_first, token))

    assert await first.terminate() == 0
    assert await second.terminate() == 0


async def test_a_worker_slow_to_answer_the_health_check_is_not_replaced(launch):
    """A worker still busy past uvicorn's default 5 s bound, as one that is importing the app on a
    loaded machine, is given time rather than killed and spawned again."""
    server = await launch("--workers", "2")
    workers = await _both_workers(server)
    os.kill(workers[0], signal.SIGSTOP)
    try:
        await asyncio.sleep(STALLED_SECONDS)
    finally:
        os.kill(workers[0], signal.SIGCONT)
    await asyncio.sleep(1)

    assert sorted(_worker_processes(server.process.pid)) == workers
    assert await server.terminate() == 0


async def _both_workers(server: Server) -> list[int]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while len(workers := sorted(_worker_processes(server.process.pid))) < 2:
        assert time.monotonic() < deadline, "uvicorn did not spawn two workers"
        await asyncio.sleep(0.1)
    return workers


async def _ask_me(api: GraphQL, token: str) -> list[dict]:
    """`me` a few times at once, so that both workers of a server are likely to answer."""
    return list(await asyncio.gather(*(api(ME_EMAIL, token=token) for _ in range(4))))


async def register(client: httpx.AsyncClient, number: int) -> tuple[str, httpx.Response | None, float]:
    """A registration's email, its response (None: no answer at all) and when it ended."""
    email = f"user{number}@example.com"
    variables = {"input": {"email": email, "password": "a long secret", "fullName": f"User {number}"}}
    try:
        response = await client.post("/graphql", json={"query": REGISTER, "variables": variables})
    except httpx.TransportError:
        response = None
    return email, response, time.monotonic()


def acknowledged(response: httpx.Response | None) -> bool:
    return response is not None and response.status_code == 200 and "errors" not in response.json()


async def test_sigterm_finishes_the_requests_in_flight_and_loses_nothing(launch, postgresql_database):
    server = await launch(BCRYPT_ROUNDS=str(SLOW_BCRYPT_ROUNDS))
    async with httpx.AsyncClient(base_url=server.url, timeout=GRACE_SECONDS + 5) as client:
        registrations = [asyncio.create_task(register(client, number)) for number in range(REGISTRATIONS)]
        await asyncio.sleep(IN_FLIGHT_AFTER)
        terminated_at = time.monotonic()
        exit_status = await server.terminate()
        exited_after = time.monotonic() - terminated_at
        results = await asyncio.gather(*registrations)

    stored = await _emails_in(postgresql_database)
    answered = [(email, ended) for email, response, ended in results if acknowledged(response)]
    assert exit_status == 0
    assert exited_after < GRACE_SECONDS
    assert any(ended > terminated_at for _email, ended in answered), "no request in flight finished after SIGTERM"
    assert {email for email, _ended in answered} <= stored
