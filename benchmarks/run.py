"""The benchmark, end to end: `python -m benchmarks` (see benchmarks/README.md).

1. Recreates a dedicated database, migrates it with `lunchtogether migrate` and bulk-loads the users.
2. Starts the real server (`lunchtogether serve`, production settings) and the baseline, checks that
   every operation gets the right answer from both (identical bytes; login by structure and by
   trying each app's token on the other), and counts the SQL statements each request costs.
3. Restarts each app pinned to one core and drives every operation with wrk from the other core,
   reading the app's CPU time from /proc; then measures `me` while 8 clients log in.
4. With `--workers 2`, runs the server again with two workers (unpinned) for the ratio to one.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import jwt
from passlib.context import CryptContext

from benchmarks.database import (
    TRANSACTION_KINDS,
    BenchError,
    LogStatements,
    PgStatStatements,
    StatementCounter,
    check_database_name,
    enable_pg_stat_statements,
    recreate_database,
    seed_users,
    shared_preload_libraries,
)
from benchmarks.operations import KNOWN_PASSWORD, Operation, build_operations, dumps, make_seed
from benchmarks.processes import (
    Processes,
    free_port,
    machine_busy_seconds,
    process_cpu_seconds,
    tree_cpu_seconds,
    wait_idle,
    wait_ready,
)
from benchmarks.wrk import WrkResult, parse_output, write_script, wrk_command
from lunchtogether.config import Settings

REPO = Path(__file__).resolve().parent.parent
SERVER, BASELINE = "lunchtogether", "baseline"
OPERATIONS = ("me", "users", "ten", "login")
RATE_LIMIT = "1000000/second"
RATE_LIMIT_VARIABLES = ("RATE_LIMIT_LOGIN_PER_EMAIL", "RATE_LIMIT_LOGIN_PER_IP", "RATE_LIMIT_REGISTER")
LOGIN_LOAD_CLIENTS = 8
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
NOISE_CORES = 0.1  # other processes' load above which a measurement is flagged
WRK_TIMEOUT = 30.0  # logins queue for seconds at 32 connections


def progress(message: str) -> None:
    print(f"• {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class App:
    kind: str
    name: str
    process: subprocess.Popen
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass(frozen=True, slots=True)
class CpuSample:
    at: float
    app: float  # the app's process tree
    ours: float  # everything the benchmark started (apps, wrk) and the benchmark itself
    postgres: dict[int, float]  # the backends connected to the benchmark database, by pid
    machine: float  # all cores, busy


@dataclass(frozen=True, slots=True)
class Measurement:
    result: WrkResult
    cpu_ms: float  # CPU time of the app's process tree per completed request
    pg_cpu_ms: float  # CPU time of the benchmark database's backends per completed request
    other_cores: float  # cores busy with processes that are not this benchmark's, on average


@dataclass(frozen=True, slots=True)
class LoginLoad:
    idle: Measurement
    loaded: Measurement
    logins: WrkResult


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.operations_run = args.operations
        self.workdir = Path(tempfile.mkdtemp(prefix="lunchtogether-bench-"))
        self.procs = Processes(self.workdir)
        self.loop = asyncio.Runner()
        self.secret = secrets.token_urlsafe(48)
        self.admin_dsn, self.bench_dsn = _dsns(args.postgres, args.database)
        cpus = sorted(os.sched_getaffinity(0))
        pin = len(cpus) >= 2 and shutil.which("taskset") is not None
        self.server_cpu = str(cpus[0]) if pin else None
        self.client_cpu = str(cpus[1]) if pin else None
        self.counter: StatementCounter | None = None
        self.counter_note = ""
        self.token = ""
        self.bcrypt_verify_ms = math.nan
        self.sql: dict[tuple[str, str], dict[str, float]] = {}
        self.timed: dict[tuple[str, str, int], Measurement] = {}
        self.login_load: dict[str, LoginLoad] = {}
        self._serial = 0
        self._control: asyncpg.Connection | None = None

    # --- the run -------------------------------------------------------------------------------

    def run(self) -> None:
        self._preflight()
        self._choose_counter()
        self._lock_database()
        self._prepare_database()
        self._check_and_count()
        self._timed_runs((SERVER, BASELINE))
        if not self.args.no_login_load:
            for kind in (SERVER, BASELINE):
                self._login_load_run(kind)
        if self.args.workers == 2:
            self._timed_runs((SERVER,), workers=2)
        print(self.report())
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(self.results(), indent=2) + "\n")

    def close(self, *, failed: bool) -> None:
        self.procs.stop_all()
        if self._control is not None:
            with contextlib.suppress(Exception):
                self.loop.run(self._control.close())
        if self.counter is not None:
            try:
                self.loop.run(self.counter.close())
            except Exception as exc:  # noqa: BLE001 - cleanup goes on; the reason is reported
                progress(f"could not undo the statement counter's setup: {exc}")
        self.loop.close()
        if failed or self.args.keep_logs:
            progress(f"logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _preflight(self) -> None:
        if shutil.which("wrk") is None:
            raise BenchError("wrk is not installed (Debian: apt-get install -y wrk)")
        if self.server_cpu is None:
            progress("fewer than 2 usable cores (or no taskset): nothing is pinned")
        before, started = machine_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        busy = (machine_busy_seconds() - before) / (time.monotonic() - started)
        if busy > NOISE_CORES:
            progress(f"WARNING: other processes keep {busy:.2f} cores busy: the numbers will be noisy")

    def _choose_counter(self) -> None:
        choice = self.args.sql_count
        if choice == "off":
            return
        if self.args.enable_pg_stat_statements:
            try:
                progress(self.loop.run(enable_pg_stat_statements(self.admin_dsn)))
            except BenchError as exc:
                progress(f"{exc}; counting statements another way")
        loaded = "pg_stat_statements" in self.loop.run(shared_preload_libraries(self.admin_dsn))
        if choice == "pg_stat_statements" and not loaded:
            raise BenchError("pg_stat_statements is not in shared_preload_libraries (try --enable-pg-stat-statements)")
        if choice == "pg_stat_statements" or (choice == "auto" and loaded):
            self.counter = PgStatStatements(self.bench_dsn)
            self.counter_note = "pg_stat_statements (reset, N requests, read back); PostgreSQL's own counts"
        else:
            self.counter = LogStatements(self.admin_dsn, self.args.database)
            self.counter_note = (
                "log_statement='all' on the benchmark database only (ALTER DATABASE), during a separate "
                "counted run of N sequential requests; lines read back from the server log"
            )

    def _lock_database(self) -> None:
        """One run at a time per database: another would drop it under this one."""

        async def lock() -> bool:
            self._control = await asyncpg.connect(self.admin_dsn)
            key = f"lunchtogether-bench:{self.args.database}"
            return await self._control.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key)

        if not self.loop.run(lock()):
            raise BenchError(f"another benchmark run is using database {self.args.database} (or pick --database)")

    def _prepare_database(self) -> None:
        args = self.args
        progress(f"recreating database {args.database}")
        self.loop.run(recreate_database(self.admin_dsn, args.database))
        migrate = subprocess.run(  # noqa: S603 - our own CLI
            [*_lunchtogether(), "migrate"],
            env=self._app_env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if migrate.returncode != 0:
            raise BenchError(f"lunchtogether migrate failed:\n{migrate.stdout}{migrate.stderr}")
        progress(f"seeding {args.users} users (bcrypt cost {args.bcrypt_rounds} for the known user)")
        self.seed = make_seed(args.users)
        known_hash = self.loop.run(seed_users(self.bench_dsn, self.seed, bcrypt_rounds=args.bcrypt_rounds))
        started = time.perf_counter()
        CryptContext(schemes=["bcrypt"]).verify(KNOWN_PASSWORD, known_hash)
        self.bcrypt_verify_ms = (time.perf_counter() - started) * 1000
        self.operations = build_operations(self.seed, self.secret)
        if self.counter is not None:
            try:
                self.loop.run(self.counter.prepare())
            except BenchError as exc:
                progress(f"statement counts unavailable: {exc}")
                self.counter, self.counter_note = None, f"unavailable: {exc}"

    def _check_and_count(self) -> None:
        progress("checking answers (server vs baseline vs expected)")
        server, baseline = self._start(SERVER, pinned=False), self._start(BASELINE, pinned=False)
        self.token = self._check_answers(server, baseline)
        if self.counter is not None:
            progress(f"counting SQL statements per request ({self.counter.name})")
            for app in (server, baseline):
                for name in self.operations_run:
                    self.sql[(name, app.kind)] = self._count_statements(app, self.operations[name])
        self.procs.stop(server.process)
        self.procs.stop(baseline.process)
        if self.counter is not None:
            # The timed runs start fresh processes, whose sessions no longer log every statement.
            self.loop.run(self.counter.close())
            self.counter = None

    def _timed_runs(self, kinds: tuple[str, ...], *, workers: int = 1) -> None:
        """Each operation on each app, the apps' windows back to back.

        The speed of a shared machine drifts over minutes (seen here: ±30% between runs), so
        the server and the baseline are measured one right after the other, operation by
        operation, rather than one app's whole series after the other's. Both are running;
        the one not measured is idle.
        """
        pinned = workers == 1
        apps = [self._start(kind, workers=workers, pinned=pinned) for kind in kinds]
        me = self.operations["me"]
        for app in apps:
            self._expect(f"{app.kind} me", *_post(app.url, me.body, self.token), me)
        where = f"pinned to CPU {self.server_cpu}" if pinned and self.server_cpu else "not pinned"
        for name in self.operations_run:
            for app in apps:
                progress(f"{app.kind} ({workers} worker{'s' if workers > 1 else ''}, {where}): {name}")
                self.timed[(name, app.kind, workers)] = self._measure(app, name)
        for app in apps:
            self.procs.stop(app.process)

    def _login_load_run(self, kind: str) -> None:
        pinned = self.args.login_load_pinned
        app = self._start(kind, pinned=pinned)
        where = f"pinned to CPU {self.server_cpu}" if pinned and self.server_cpu else "not pinned"
        progress(f"{kind} ({where}): me idle, then while {LOGIN_LOAD_CLIENTS} clients log in")
        self.login_load[kind] = self._measure_login_load(app)
        self.procs.stop(app.process)

    # --- apps ----------------------------------------------------------------------------------

    def _app_env(self) -> dict[str, str]:
        settings_variables = {name.upper() for name in Settings.model_fields}
        env = {
            key: value
            for key, value in os.environ.items()
            if key.upper() not in settings_variables and not key.startswith("RATE_LIMIT_")
        }
        env |= {
            "ENVIRONMENT": "production",
            "DATABASE_URL": self.bench_dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            "JWT_SECRET_KEY": self.secret,
            "BCRYPT_ROUNDS": str(self.args.bcrypt_rounds),
            "LOG_LEVEL": self.args.log_level,
        }
        env |= dict.fromkeys(RATE_LIMIT_VARIABLES, RATE_LIMIT)
        return env

    def _start(self, kind: str, *, workers: int = 1, pinned: bool) -> App:
        port = free_port()
        address = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        if kind == SERVER:
            argv = [*_lunchtogether(), "serve", *address]
        else:
            argv = [sys.executable, "-m", "uvicorn", "benchmarks.baseline:create_app", "--factory", *address]
            # No access log (the server writes its own line: part of its cost), as `lunchtogether serve` runs uvicorn.
            argv += ["--no-access-log", "--no-proxy-headers", "--no-server-header", "--app-dir", str(REPO)]
        self._serial += 1
        name = f"{self._serial:02d}-{kind}-{workers}w"
        process = self.procs.start(
            name, argv, env=self._app_env(), cwd=self.workdir, cpus=self.server_cpu if pinned else None
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{url}/health", process)
        except BenchError as exc:
            raise BenchError(f"{exc}\n--- {name}.log ---\n{self.procs.log_tail(name)}") from None
        return App(kind, name, process, url)

    # --- correctness ---------------------------------------------------------------------------

    def _check_answers(self, server: App, baseline: App) -> str:
        ops = self.operations
        tokens = {app.kind: self._check_login(app) for app in (server, baseline)}
        for app in (server, baseline):
            for name in ("me", "users", "ten"):
                self._expect(f"{app.kind} {name}", *_post(app.url, ops[name].body, tokens[app.kind]), ops[name])
            # Each app honours the other's token: both logins did the same work.
            other = BASELINE if app.kind == SERVER else SERVER
            self._expect(
                f"{app.kind} me with {other}'s token", *_post(app.url, ops["me"].body, tokens[other]), ops["me"]
            )
            signed_out = Operation("me", ops["me"].body, dumps({"data": {"me": None}}))
            self._expect(f"{app.kind} me signed out", *_post(app.url, ops["me"].body, None), signed_out)
        return tokens[SERVER]

    def _check_login(self, app: App) -> str:
        operation = self.operations["login"]
        status, body = _post(app.url, operation.body, None)
        what = f"{app.kind} login"
        try:
            data = json.loads(body)
            login = data["data"]["login"]
            token = login["accessToken"]
            claims = jwt.decode(
                token, self.secret, algorithms=["HS256"], options={"require": ["sub", "jti", "iat", "exp"]}
            )
        except (ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            raise BenchError(f"{what}: not a login answer ({type(exc).__name__}: {exc}): {body[:500]}") from None
        shape = {"data": {"login": {"accessToken": "…", "user": {"id": str(self.seed.known.id)}}}}
        if status != 200 or {**data, "data": {"login": {**login, "accessToken": "…"}}} != shape:
            raise BenchError(f"{what}: HTTP {status}, unexpected answer {body[:500]}")
        if claims["sub"] != str(self.seed.known.id) or not all(needle in body for needle in operation.needles):
            raise BenchError(f"{what}: the token or the answer's bytes are not as expected: {body[:500]}")
        return token

    @staticmethod
    def _expect(what: str, status: int, body: str, operation: Operation) -> None:
        exact = operation.expected is None or body == operation.expected
        if status == 200 and exact and all(needle in body for needle in operation.needles):
            return
        expected = operation.expected or " … ".join(operation.needles)
        at = next(
            (i for i, (a, b) in enumerate(zip(body, expected, strict=False)) if a != b), min(len(body), len(expected))
        )
        start = max(0, at - 80)
        raise BenchError(
            f"{what}: wrong answer (HTTP {status}); first difference at byte {at}:\n"
            f"  got:      …{body[start : at + 120]}\n  expected: …{expected[start : at + 120]}"
        )

    def _count_statements(self, app: App, operation: Operation) -> dict[str, float]:
        assert self.counter is not None
        token = None if operation.name == "login" else self.token
        for _ in range(2):  # warm: connections open, statements prepared
            _post(app.url, operation.body, token)
        requests = min(self.args.counted_requests, 5) if operation.name == "login" else self.args.counted_requests
        self.loop.run(self.counter.start())
        for _ in range(requests):
            self._expect(f"{app.kind} {operation.name} (counted)", *_post(app.url, operation.body, token), operation)
        counts: Counter[str] = self.loop.run(self.counter.stop())
        return {kind: count / requests for kind, count in sorted(counts.items())}

    # --- timing --------------------------------------------------------------------------------

    def _script(self, name: str) -> Path:
        operation = self.operations[name]
        return write_script(self.workdir / f"{name}.lua", operation, None if name == "login" else self.token)

    def _start_wrk(
        self, app: App, name: str, *, duration: float, connections: int, threads: int, timeout: float = WRK_TIMEOUT
    ) -> tuple[subprocess.Popen, str, list[str], float]:
        command = wrk_command(
            f"{app.url}/graphql",
            self._script(name),
            duration=duration,
            connections=connections,
            threads=threads,
            timeout=timeout,
        )
        self._serial += 1
        log = f"{self._serial:02d}-wrk-{app.kind}-{name}"
        return (
            self.procs.start(log, command, env=dict(os.environ), cwd=self.workdir, cpus=self.client_cpu),
            log,
            command,
            duration,
        )

    def _finish_wrk(self, handle: tuple[subprocess.Popen, str, list[str], float]) -> WrkResult:
        process, log, command, duration = handle
        try:
            process.wait(timeout=duration + 60)
        except subprocess.TimeoutExpired:
            raise BenchError(f"wrk did not finish: {' '.join(command)}") from None
        finally:
            self.procs.stop(process)
        return parse_output((self.workdir / f"{log}.log").read_text(errors="replace"), command)

    def _wrk(self, app: App, name: str, *, duration: float) -> WrkResult:
        args = self.args
        return self._finish_wrk(
            self._start_wrk(app, name, duration=duration, connections=args.connections, threads=args.threads)
        )

    def _measure(self, app: App, name: str) -> Measurement:
        if self.args.warmup > 0:
            self._wrk(app, name, duration=self.args.warmup)
            wait_idle(app.pid)
        before = self._sample(app)
        result = self._wrk(app, name, duration=self.args.duration)
        measured = self._measurement(result, before, self._sample(app))
        wait_idle(app.pid)  # e.g. logins still queued when wrk stopped
        return measured

    def _measure_login_load(self, app: App) -> LoginLoad:
        idle = self._measure(app, "me")
        margin = 2.0
        logins = self._start_wrk(
            app,
            "login",
            duration=self.args.duration + 2 * margin,
            connections=LOGIN_LOAD_CLIENTS,
            threads=1,
            timeout=60,
        )
        time.sleep(margin)
        before = self._sample(app)
        result = self._wrk(app, "me", duration=self.args.duration)
        loaded = self._measurement(result, before, self._sample(app))
        login_result = self._finish_wrk(logins)
        wait_idle(app.pid)
        return LoginLoad(idle, loaded, login_result)

    def _sample(self, app: App) -> CpuSample:
        pids = self.loop.run(self._postgres_backends())
        return CpuSample(
            at=time.monotonic(),
            app=tree_cpu_seconds(app.pid),
            ours=self.procs.cpu_seconds(),
            postgres={pid: process_cpu_seconds(pid) for pid in pids},
            machine=machine_busy_seconds(),
        )

    async def _postgres_backends(self) -> list[int]:
        if self._control is None:
            self._control = await asyncpg.connect(self.admin_dsn)
        rows = await self._control.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.args.database)
        return [row["pid"] for row in rows]

    @staticmethod
    def _measurement(result: WrkResult, before: CpuSample, after: CpuSample) -> Measurement:
        app = after.app - before.app
        postgres = sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in after.postgres.items())
        other = (after.machine - before.machine) - (after.ours - before.ours) - postgres
        per_request = 1000 / result.requests if result.requests else math.nan
        return Measurement(result, app * per_request, postgres * per_request, max(0.0, other) / (after.at - before.at))

    # --- reporting -----------------------------------------------------------------------------

    def report(self) -> str:
        args = self.args
        lines = [
            "",
            f"lunchtogether benchmark: {args.users} users; wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration:g}s after {args.warmup:g}s warm-up; app on CPU {self.server_cpu}, wrk on CPU "
            f"{self.client_cpu}; bcrypt cost {args.bcrypt_rounds}; LOG_LEVEL={args.log_level}",
            "",
        ]
        header = ["operation", "server", "req/s", "p50 ms", "p99 ms", "errors", "vs base", "SQL/req", "B/C/R"]
        rows = [[*header, "CPU ms/req", "CPU vs base", "PG ms/req"]]
        noisy: list[str] = []
        for name in self.operations_run:
            base = self.timed.get((name, BASELINE, 1))
            for kind in (SERVER, BASELINE):
                measured = self.timed.get((name, kind, 1))
                if measured is None:
                    continue
                result, sql = measured.result, self.sql.get((name, kind))
                if measured.other_cores > NOISE_CORES:
                    noisy.append(f"{name}/{kind} {measured.other_cores:.2f}")
                rows.append(
                    [
                        name,
                        kind,
                        f"{result.rps:.1f}",
                        f"{result.p50_ms:.1f}",
                        f"{result.p99_ms:.1f}",
                        str(result.errors),
                        _ratio(result.rps, base.result.rps if base else math.nan),
                        _number(sum(sql.values())) if sql else "n/a",
                        "/".join(_number(sql.get(k, 0)) for k in TRANSACTION_KINDS) if sql else "n/a",
                        f"{measured.cpu_ms:.2f}",
                        _ratio(measured.cpu_ms, base.cpu_ms if base else math.nan),
                        f"{measured.pg_cpu_ms:.2f}",
                    ]
                )
        lines += _table(rows)
        lines += [
            "",
            "errors: socket errors + answers that were not HTTP 200 with the expected body (wrk checks every one).",
            "vs base: req/s over the baseline's. B/C/R: BEGIN/COMMIT/ROLLBACK per request, part of SQL/req.",
            "CPU: the app's process tree, user+system, over the timed window; PG: its PostgreSQL backends'.",
        ]
        if self.sql:
            lines += ["", f"SQL statements per request, by kind ({self.counter_note}):"]
            for (name, kind), sql in self.sql.items():
                lines.append(f"  {name:<6} {kind:<14} " + ", ".join(f"{k} {_number(v)}" for k, v in sql.items()))
        elif self.counter_note:
            lines += ["", f"SQL statements: {self.counter_note}"]
        if self.login_load:
            where = f"pinned to CPU {self.server_cpu}" if args.login_load_pinned else "not pinned"
            lines += [
                "",
                f"me while {LOGIN_LOAD_CLIENTS} clients log in (app {where}; bcrypt cost {args.bcrypt_rounds}, "
                f"one verify takes {self.bcrypt_verify_ms:.0f} ms here: "
                f"{1000 / self.bcrypt_verify_ms:.1f} logins/s per core at most):",
            ]
        for kind, load in self.login_load.items():
            idle, loaded = load.idle.result, load.loaded.result
            slowdown = loaded.p50_ms / idle.p50_ms if idle.p50_ms else math.nan
            logins = load.logins.rps
            noisy += [
                f"{kind} login load {m.other_cores:.2f}"
                for m in (load.idle, load.loaded)
                if m.other_cores > NOISE_CORES
            ]
            lines += [
                f"  {kind:<14} me p50 {idle.p50_ms:.1f} ms idle -> {loaded.p50_ms:.1f} ms under login load = "
                f"{slowdown:.2f}x (target <= 3x: {'ok' if slowdown <= 3 else 'MISSED'}); me {idle.rps:.0f} -> "
                f"{loaded.rps:.0f} req/s, errors {loaded.errors}",
                f"  {'':<14} logins {logins:.2f}/s (target >= 3/s: {'ok' if logins >= 3 else 'MISSED'}), "
                f"login p50 {load.logins.p50_ms:.0f} ms, errors {load.logins.errors}",
            ]
        two = [(name, self.timed[(name, SERVER, 2)]) for name in self.operations_run if (name, SERVER, 2) in self.timed]
        if two:
            lines += ["", f"{SERVER} with --workers 2 (not pinned; wrk still on CPU {self.client_cpu}):"]
            rows = [["operation", "req/s", "p50 ms", "p99 ms", "errors", "vs 1 worker", "CPU ms/req"]]
            for name, measured in two:
                one = self.timed.get((name, SERVER, 1))
                result = measured.result
                if measured.other_cores > NOISE_CORES:
                    noisy.append(f"{name}/{SERVER} x2 {measured.other_cores:.2f}")
                rows.append(
                    [
                        name,
                        f"{result.rps:.1f}",
                        f"{result.p50_ms:.1f}",
                        f"{result.p99_ms:.1f}",
                        str(result.errors),
                        _ratio(result.rps, one.result.rps if one else math.nan),
                        f"{measured.cpu_ms:.2f}",
                    ]
                )
            lines += _table(rows)
        if noisy:
            lines += [
                "",
                "WARNING: other processes kept the machine busy during these windows (cores, on average); "
                "their numbers are not comparable:",
                "  " + "; ".join(noisy),
            ]
        return "\n".join(lines)

    def results(self) -> dict[str, Any]:
        return {
            "settings": {key: value for key, value in vars(self.args).items() if key != "json"},
            "sql_count_method": self.counter_note,
            "bcrypt_verify_ms": self.bcrypt_verify_ms,
            "sql_per_request": [{"operation": o, "server": k, **sql} for (o, k), sql in self.sql.items()],
            "timed": [
                {
                    "operation": o,
                    "server": k,
                    "workers": w,
                    "cpu_ms_per_request": m.cpu_ms,
                    "postgres_cpu_ms_per_request": m.pg_cpu_ms,
                    "other_cores": m.other_cores,
                    **asdict(m.result),
                }
                for (o, k, w), m in self.timed.items()
            ],
            "login_load": {
                kind: {
                    "idle": {**asdict(load.idle.result), "other_cores": load.idle.other_cores},
                    "loaded": {**asdict(load.loaded.result), "other_cores": load.loaded.other_cores},
                    "logins": asdict(load.logins),
                }
                for kind, load in self.login_load.items()
            },
        }


def _post(url: str, body: str, token: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/graphql", data=body.encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _lunchtogether() -> list[str]:
    script = Path(sys.executable).parent / "lunchtogether"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lunchtogether"]


def _dsns(postgres: str, database: str) -> tuple[str, str]:
    parts = urlsplit(postgres)
    if parts.scheme not in {"postgres", "postgresql"} or parts.hostname not in LOOPBACK:
        raise BenchError(f"--postgres must be a postgresql:// URL on a loopback address, not {postgres!r}")
    check_database_name(database)
    admin = urlunsplit(parts._replace(scheme="postgresql", path=parts.path if parts.path.strip("/") else "/postgres"))
    return admin, urlunsplit(parts._replace(scheme="postgresql", path=f"/{database}"))


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.005 else f"{value:.2f}"


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and not math.isnan(base) and not math.isnan(value) else "n/a"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of untimed load before each (default 2)")
    parser.add_argument("--connections", "-c", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, choices=[1, 2], default=1, help="2: also run the server with 2 workers")
    parser.add_argument("--users", type=int, default=10_000, help="users to seed (default 10000)")
    parser.add_argument("--database", default="lunchtogether_bench", help="dropped and recreated every run")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="a loopback PostgreSQL")
    parser.add_argument("--bcrypt-rounds", type=int, default=12, help="the server's BCRYPT_ROUNDS (default 12)")
    parser.add_argument("--log-level", default="INFO", help="the server's LOG_LEVEL (default INFO, its own default)")
    parser.add_argument(
        "--operations",
        type=lambda value: [name.strip() for name in value.split(",") if name.strip()],
        default=list(OPERATIONS),
        help=f"comma-separated subset of {','.join(OPERATIONS)}",
    )
    parser.add_argument("--no-login-load", action="store_true", help="skip measuring me while clients log in")
    parser.add_argument(
        "--login-load-pinned",
        action="store_true",
        help="pin the app to one core for the login-load mode too (default: not pinned, as the hasher expects)",
    )
    parser.add_argument(
        "--sql-count",
        choices=["auto", "pg_stat_statements", "log", "off"],
        default="auto",
        help="auto: pg_stat_statements if preloaded, else log_statement for the benchmark database",
    )
    parser.add_argument(
        "--enable-pg-stat-statements",
        action="store_true",
        help="ALTER SYSTEM to preload pg_stat_statements and restart the cluster (only if nobody else is connected)",
    )
    parser.add_argument("--counted-requests", type=int, default=20, help="requests per statement count (default 20)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--keep-logs", action="store_true", help="keep the apps' and wrk's logs")
    return parser


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    unknown = set(args.operations) - set(OPERATIONS)
    if unknown or not args.operations:
        sys.exit(f"benchmarks: unknown operations {sorted(unknown)}; choose from {','.join(OPERATIONS)}")
    args.operations = [name for name in OPERATIONS if name in args.operations]
    # Ctrl-C stops it even where the shell started it with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup keeps it running
        signal.signal(signal.SIGHUP, _terminate)
    try:
        bench = Bench(args)
    except BenchError as exc:
        sys.exit(f"benchmarks: {exc}")
    failed = True
    try:
        bench.run()
        failed = False
    except BenchError as exc:
        sys.exit(f"benchmarks: {exc}")
    except (OSError, asyncpg.PostgresError) as exc:
        sys.exit(f"benchmarks: {type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        sys.exit("benchmarks: interrupted; stopping what it started")
    finally:
        bench.close(failed=failed)
