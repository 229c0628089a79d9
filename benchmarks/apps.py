"""The apps under test, the real server, the baseline and the peer: one environment, started and pinned alike."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks import peer
from benchmarks.database import BenchError
from benchmarks.processes import Processes, free_port, wait_ready
from lunchtogether.config import Settings

REPO = Path(__file__).resolve().parent.parent
SERVER, BASELINE, PEER = "lunchtogether", "baseline", "postgraphile"
RATE_LIMIT = "1000000/second"
RATE_LIMIT_VARIABLES = ("RATE_LIMIT_LOGIN_PER_EMAIL", "RATE_LIMIT_LOGIN_PER_IP", "RATE_LIMIT_REGISTER")


@dataclass(frozen=True, slots=True)
class App:
    kind: str  # SERVER, BASELINE or PEER
    name: str  # also the name of its log
    process: subprocess.Popen
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass(frozen=True, slots=True)
class Cpus:
    """Where the app and wrk run: one core each, so that they do not take CPU from each other."""

    server: str | None  # None: nothing is pinned
    client: str | None


def choose_cpus() -> Cpus:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2 and shutil.which("taskset") is not None:
        return Cpus(str(cpus[0]), str(cpus[1]))
    return Cpus(None, None)


class Apps:
    """Starts the apps with the same environment, so that only their code differs."""

    def __init__(
        self, procs: Processes, *, bench_dsn: str, secret: str, bcrypt_rounds: int, log_level: str, cpu: str | None
    ) -> None:
        self._procs = procs
        self._bench_dsn = bench_dsn
        self._secret = secret
        self._bcrypt_rounds = bcrypt_rounds
        self._log_level = log_level
        self._cpu = cpu

    def environment(self) -> dict[str, str]:
        """Production settings, no rate limits; none of the caller's own settings leak in."""
        settings_variables = {name.upper() for name in Settings.model_fields}
        env = {
            key: value
            for key, value in os.environ.items()
            if key.upper() not in settings_variables and not key.startswith("RATE_LIMIT_")
        }
        env |= {
            "ENVIRONMENT": "production",
            "DATABASE_URL": self._bench_dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            "JWT_SECRET_KEY": self._secret,
            "BCRYPT_ROUNDS": str(self._bcrypt_rounds),
            "LOG_LEVEL": self._log_level,
            # Production refuses to start without a mail server; no timed operation sends mail.
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "EMAIL_FROM": "LunchTogether <bench@localhost>",
        }
        env |= dict.fromkeys(RATE_LIMIT_VARIABLES, RATE_LIMIT)
        return env

    def migrate(self) -> None:
        migrate = subprocess.run(  # noqa: S603 - our own CLI
            [*_lunchtogether(), "migrate"],
            env=self.environment(),
            cwd=self._procs.log_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if migrate.returncode != 0:
            raise BenchError(f"lunchtogether migrate failed:\n{migrate.stdout}{migrate.stderr}")

    def start(self, kind: str, *, workers: int = 1, pinned: bool) -> App:
        """Returns once the app answers /health (the peer: a POST of `{ __typename }`); pinned, on the server's core."""
        port = free_port()
        address = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        ready = None
        if kind == SERVER:
            argv = [*_lunchtogether(), "serve", *address]
        elif kind == PEER:
            argv = peer.command(bench_dsn=self._bench_dsn, port=port, secret=self._secret)
            ready = (peer.READY_PATH, peer.READY_BODY)
        else:
            argv = [sys.executable, "-m", "uvicorn", "benchmarks.baseline:create_app", "--factory", *address]
            # No access log (the server writes its own line: part of its cost), as `lunchtogether serve` runs uvicorn.
            argv += ["--no-access-log", "--no-proxy-headers", "--no-server-header", "--app-dir", str(REPO)]
        name = self._procs.numbered(f"{kind}-{workers}w")
        env = self.environment() | ({"NODE_ENV": "production"} if kind == PEER else {})
        process = self._procs.start(name, argv, env=env, cwd=self._procs.log_dir, cpus=self._cpu if pinned else None)
        url = f"http://127.0.0.1:{port}"
        path, body = ready or ("/health", None)
        try:
            wait_ready(f"{url}{path}", process, body=body)
        except BenchError as exc:
            raise BenchError(f"{exc}\n--- {name}.log ---\n{self._procs.log_tail(name)}") from None
        return App(kind, name, process, url)

    def stop(self, app: App) -> None:
        self._procs.stop(app.process)


def _lunchtogether() -> list[str]:
    script = Path(sys.executable).parent / "lunchtogether"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lunchtogether"]
