"""The benchmark, end to end: `python -m benchmarks` (see benchmarks/README.md).

1. Recreates a dedicated database, migrates it with `lunchtogether migrate` and bulk-loads the users.
2. Starts the real server (`lunchtogether serve`, production settings), the baseline and the peer
   (PostGraphile 4, when node is installed), checks that every operation gets the right answer
   (the server and the baseline: identical bytes; login by structure and by trying each app's
   token on the other; the peer by structure), and counts the SQL statements each request costs.
3. Restarts each app pinned to one core and drives every operation with wrk from the other core,
   reading the app's CPU time from /proc; then measures `me` while 8 clients log in.
4. With `--workers 2`, runs the server again with two workers (unpinned) for the ratio to one.

This module only puts the steps in order; each concern has its own module (see README.md).
"""

import asyncio
import contextlib
import json
import math
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
from passlib.context import CryptContext

from benchmarks import peer
from benchmarks.apps import BASELINE, PEER, SERVER, Apps, choose_cpus
from benchmarks.baseline import POOL_SIZE
from benchmarks.checks import check_answers, check_peer_answers, expect, post
from benchmarks.database import (
    BenchError,
    LogStatements,
    PgStatStatements,
    StatementCounter,
    dsns,
    enable_pg_stat_statements,
    recreate_database,
    seed_users,
    shared_preload_libraries,
)
from benchmarks.measure import LOGIN_LOAD_CLIENTS, NOISE_CORES, LoginLoad, Measurement, Meter, count_statements
from benchmarks.operations import KNOWN_PASSWORD, Operation, Seed, build_operations, make_seed
from benchmarks.options import Options, parse_options
from benchmarks.processes import Processes, machine_busy_seconds
from benchmarks.report import Results, render, to_json


def progress(message: str) -> None:
    print(f"• {message}", file=sys.stderr, flush=True)


class Bench:
    """One run: owns what it starts (processes, connections, the work directory) and stops it in `close`."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.workdir = Path(tempfile.mkdtemp(prefix="lunchtogether-bench-"))
        self.procs = Processes(self.workdir)
        self.loop = asyncio.Runner()
        self.secret = secrets.token_urlsafe(48)
        self.admin_dsn, self.bench_dsn = dsns(options.postgres, options.database)
        self.cpus = choose_cpus()
        self.apps = Apps(
            self.procs,
            bench_dsn=self.bench_dsn,
            secret=self.secret,
            bcrypt_rounds=options.bcrypt_rounds,
            log_level=options.log_level,
            cpu=self.cpus.server,
        )
        self.counter: StatementCounter | None = None
        self.counter_note = ""
        self.bcrypt_verify_ms = math.nan
        self.seed: Seed | None = None
        self.peer_skipped = ""  # why the peer is not measured; "" when it is
        self.operations: dict[str, dict[str, Operation]] = {}  # by app kind
        self.peer_answers: dict[str, Any] = {}
        self.sql: dict[tuple[str, str], dict[str, float]] = {}
        self.timed: dict[tuple[str, str, int], Measurement] = {}
        self.login_load: dict[str, LoginLoad] = {}
        self._control: asyncpg.Connection | None = None

    def run(self) -> None:
        self._preflight()
        self._choose_counter()
        self._lock_database()
        self._check_connections()
        self._prepare_database()
        token = self._check_and_count()
        meter = Meter(
            self.procs,
            self.operations,
            token=token,
            cpu=self.cpus.client,
            backends=self._postgres_backends,
            connections=self.options.connections,
            threads=self.options.threads,
            warmup=self.options.warmup,
            duration=self.options.duration,
        )
        self._timed_runs(meter, self._kinds(), token=token)
        if not self.options.no_login_load:
            for kind in (SERVER, BASELINE):
                self._login_load_run(meter, kind)
        if self.options.workers == 2:
            self._timed_runs(meter, (SERVER,), token=token, workers=2)
        results = self.results()
        print(render(results))
        if self.options.json:
            Path(self.options.json).write_text(json.dumps(to_json(results), indent=2) + "\n")

    def results(self) -> Results:
        return Results(
            options=self.options,
            server_cpu=self.cpus.server,
            client_cpu=self.cpus.client,
            sql_count_method=self.counter_note,
            bcrypt_verify_ms=self.bcrypt_verify_ms,
            sql=self.sql,
            timed=self.timed,
            login_load=self.login_load,
            peer_skipped=self.peer_skipped,
        )

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
        if failed or self.options.keep_logs:
            progress(f"logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _preflight(self) -> None:
        if shutil.which("wrk") is None:
            raise BenchError("wrk is not installed (Debian: apt-get install -y wrk)")
        if self.cpus.server is None:
            progress("fewer than 2 usable cores (or no taskset): nothing is pinned")
        before, started = machine_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        busy = (machine_busy_seconds() - before) / (time.monotonic() - started)
        if busy > NOISE_CORES:
            progress(f"WARNING: other processes keep {busy:.2f} cores busy: the numbers will be noisy")
        self._prepare_peer()

    def _prepare_peer(self) -> None:
        """Installs the peer's packages once; without node or npm, or with --no-peer, the rest runs without it."""
        missing = "--no-peer" if self.options.no_peer else peer.missing_tools()
        if missing is not None:
            self.peer_skipped = missing
            progress(f"the PostGraphile peer is skipped: {missing}")
            return
        if not peer.CLI.exists():
            progress(f"installing the peer's packages in {peer.PEER_DIR} (npm ci)")
            peer.install()

    def _kinds(self) -> tuple[str, ...]:
        """The apps measured side by side, the peer between the server and the baseline."""
        return (SERVER, BASELINE) if self.peer_skipped else (SERVER, PEER, BASELINE)

    def _choose_counter(self) -> None:
        choice = self.options.sql_count
        if choice == "off":
            return
        if self.options.enable_pg_stat_statements:
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
            self.counter = LogStatements(self.admin_dsn, self.options.database)
            self.counter_note = (
                "log_statement='all' on the benchmark database only (ALTER DATABASE), during a separate "
                "counted run of N sequential requests; lines read back from the server log"
            )

    def _lock_database(self) -> None:
        """One run at a time per database: another would drop it under this one."""

        async def lock() -> bool:
            self._control = await asyncpg.connect(self.admin_dsn)
            key = f"lunchtogether-bench:{self.options.database}"
            return await self._control.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key)

        if not self.loop.run(lock()):
            raise BenchError(f"another benchmark run is using database {self.options.database} (or pick --database)")

    def _check_connections(self) -> None:
        """Warns when PostgreSQL may refuse the apps' pools: the idle apps keep theirs open during each window."""

        async def free() -> int:
            assert self._control is not None
            return await self._control.fetchval(
                "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend'"
            )

        wanted = sum(peer.POOL_SIZE if kind == PEER else POOL_SIZE for kind in self._kinds())
        available = self.loop.run(free())
        if available < wanted:
            progress(
                f"WARNING: PostgreSQL has {available} free connections and the apps may open {wanted}: "
                "refused connections would show as errors"
            )

    def _prepare_database(self) -> None:
        options = self.options
        progress(f"recreating database {options.database}")
        self.loop.run(recreate_database(self.admin_dsn, options.database))
        self.apps.migrate()
        progress(f"seeding {options.users} users (bcrypt cost {options.bcrypt_rounds} for the known user)")
        self.seed = make_seed(options.users)
        known_hash = self.loop.run(seed_users(self.bench_dsn, self.seed, bcrypt_rounds=options.bcrypt_rounds))
        started = time.perf_counter()
        CryptContext(schemes=["bcrypt"]).verify(KNOWN_PASSWORD, known_hash)
        self.bcrypt_verify_ms = (time.perf_counter() - started) * 1000
        ours = build_operations(self.seed, self.secret)
        self.operations = {SERVER: ours, BASELINE: ours}
        if not self.peer_skipped:
            self.loop.run(peer.shape_schema(self.bench_dsn))
            self.operations[PEER] = peer.build_operations(self.seed)
            self.peer_answers = peer.expected_answers(self.seed)
        if self.counter is not None:
            try:
                self.loop.run(self.counter.prepare())
            except BenchError as exc:
                progress(f"statement counts unavailable: {exc}")
                self.counter, self.counter_note = None, f"unavailable: {exc}"

    def _check_and_count(self) -> str:
        """Checks the answers and counts statements, untimed; returns the server's token for the timed runs."""
        assert self.seed is not None
        progress("checking answers (server vs baseline vs expected" + ("" if self.peer_skipped else "; the peer") + ")")
        apps = {kind: self.apps.start(kind, pinned=False) for kind in self._kinds()}
        ours = self.operations[SERVER]
        token = check_answers(apps[SERVER], apps[BASELINE], ours, secret=self.secret, known=self.seed.known.id)
        if PEER in apps:
            check_peer_answers(apps[PEER], self.operations[PEER], self.peer_answers, token=token)
        if self.counter is not None:
            progress(f"counting SQL statements per request ({self.counter.name})")
            for app in apps.values():
                for name in self._measured(app.kind):
                    self.sql[(name, app.kind)] = count_statements(
                        app,
                        self.operations[app.kind][name],
                        token=token,
                        counter=self.counter,
                        requests=self.options.counted_requests,
                        runner=self.loop,
                    )
        for app in apps.values():
            self.apps.stop(app)
        if self.counter is not None:
            # The timed runs start fresh processes, whose sessions no longer log every statement.
            self.loop.run(self.counter.close())
            self.counter = None
        return token

    def _timed_runs(self, meter: Meter, kinds: tuple[str, ...], *, token: str, workers: int = 1) -> None:
        """Each operation on each app, the apps' windows back to back.

        The speed of a shared machine drifts over minutes (seen here: ±30% between runs), so
        the server and the baseline are measured one right after the other, operation by
        operation, rather than one app's whole series after the other's. Both are running;
        the one not measured is idle.
        """
        pinned = workers == 1
        apps = [self.apps.start(kind, workers=workers, pinned=pinned) for kind in kinds]
        for app in apps:
            me = self.operations[app.kind]["me"]
            expect(f"{app.kind} me", *post(app.url, me.body, token), me)
        where = f"pinned to CPU {self.cpus.server}" if pinned and self.cpus.server else "not pinned"
        for name in self.options.operations:
            for app in apps:
                if name not in self._measured(app.kind):
                    continue
                progress(f"{app.kind} ({workers} worker{'s' if workers > 1 else ''}, {where}): {name}")
                self.timed[(name, app.kind, workers)] = meter.measure(app, name)
        for app in apps:
            self.apps.stop(app)

    def _measured(self, kind: str) -> list[str]:
        """The chosen operations this app has: the peer has no login."""
        return [name for name in self.options.operations if name in self.operations[kind]]

    def _login_load_run(self, meter: Meter, kind: str) -> None:
        pinned = self.options.login_load_pinned
        app = self.apps.start(kind, pinned=pinned)
        where = f"pinned to CPU {self.cpus.server}" if pinned and self.cpus.server else "not pinned"
        progress(f"{kind} ({where}): me idle, then while {LOGIN_LOAD_CLIENTS} clients log in")
        self.login_load[kind] = meter.measure_login_load(app)
        self.apps.stop(app)

    def _postgres_backends(self) -> list[int]:
        """The pids of the PostgreSQL backends connected to the benchmark database, whose CPU time is counted."""

        async def backends() -> list[int]:
            if self._control is None:
                self._control = await asyncpg.connect(self.admin_dsn)
            rows = await self._control.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.options.database
            )
            return [row["pid"] for row in rows]

        return self.loop.run(backends())


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    # Ctrl-C stops it even where the shell started it with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup keeps it running
        signal.signal(signal.SIGHUP, _terminate)
    try:
        bench = Bench(options)
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
