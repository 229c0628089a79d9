"""`lunchtogether serve` as real processes, started the way an operator starts them.

Tests that need a real port (several processes, a real browser) take conftest's `launch` fixture.
"""

import asyncio
import signal
import socket
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import TEST_SECRET, UPLOAD_DIR, python_environment

STARTUP_SECONDS = 60  # importing the app takes seconds on a busy machine, and a worker imports it again
GRACE_SECONDS = 10


class Server:
    """One `lunchtogether serve` process, as an operator starts it."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    async def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=1) as client:
            while time.monotonic() < deadline:
                assert self.process.returncode is None, f"the server exited: {self.log.read_text()[-2000:]}"
                try:
                    if (await client.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail(f"the server did not start within {STARTUP_SECONDS} s: {self.log.read_text()[-2000:]}")

    async def terminate(self) -> int:
        """Sends SIGTERM, as an orchestrator does; the exit status, within the grace period."""
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(GRACE_SECONDS):
            return await self.process.wait()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


@asynccontextmanager
async def launcher(database_url: str, tmp_path: Path) -> AsyncGenerator[Callable[..., Awaitable[Server]]]:
    """Starts servers on ports of their own and waits until they answer; kills any a test left running."""
    servers: list[Server] = []

    async def start(*arguments: str, port: int | None = None, **environment: str) -> Server:
        """`port`: one chosen up front (`free_port()`) when something must know it before the server starts."""
        port = port or free_port()
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "lunchtogether", "serve", "--port", str(port), *arguments),
                cwd=tmp_path,
                env=python_environment(**(server_environment(database_url) | environment)),
                stdout=output,
                stderr=output,
            )
        server = Server(process, port, log)
        servers.append(server)
        await server.wait_until_up()
        return server

    yield start
    for server in servers:
        server.kill()
        await server.process.wait()


def server_environment(database_url: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "JWT_SECRET_KEY": TEST_SECRET,
        "BCRYPT_ROUNDS": "4",
        "UPLOAD_DIR": UPLOAD_DIR,
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        "RATE_LIMIT_LOGIN_PER_EMAIL": "10000/second",
        "RATE_LIMIT_LOGIN_PER_IP": "10000/second",
        "RATE_LIMIT_REGISTER": "10000/second",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
