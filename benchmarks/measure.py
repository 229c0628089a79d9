"""Measuring: wrk windows, the CPU they cost per request (from /proc), and SQL statements per request.

Nothing here runs per request in a timed window: wrk sends and checks the requests, and the CPU
counters are read once before and once after.
"""

import asyncio
import math
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.apps import App
from benchmarks.checks import expect, post
from benchmarks.database import BenchError, StatementCounter
from benchmarks.operations import Operation
from benchmarks.processes import Processes, machine_busy_seconds, process_cpu_seconds, tree_cpu_seconds, wait_idle
from benchmarks.wrk import WrkResult, parse_output, write_script, wrk_command

LOGIN_LOAD_CLIENTS = 8
NOISE_CORES = 0.1  # other processes' load above which a measurement is flagged
WRK_TIMEOUT = 30.0  # logins queue for seconds at 32 connections
LOGIN_LOAD_MARGIN = 2.0  # seconds the logins run alone before and after the `me` window


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
    idle: Measurement  # `me` alone
    loaded: Measurement  # `me` while LOGIN_LOAD_CLIENTS clients log in
    logins: WrkResult


@dataclass(frozen=True, slots=True)
class WrkRun:
    """A wrk process still running, and what is needed to read its result."""

    process: subprocess.Popen
    log: str
    command: list[str]
    duration: float


def measurement(result: WrkResult, before: CpuSample, after: CpuSample) -> Measurement:
    """What a window cost per completed request, and how busy the rest of the machine was meanwhile."""
    app = after.app - before.app
    postgres = sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in after.postgres.items())
    other = (after.machine - before.machine) - (after.ours - before.ours) - postgres
    per_request = 1000 / result.requests if result.requests else math.nan
    return Measurement(result, app * per_request, postgres * per_request, max(0.0, other) / (after.at - before.at))


class Meter:
    """Drives one app with wrk from the client's core and reads the CPU time each window cost."""

    def __init__(
        self,
        procs: Processes,
        operations: dict[str, dict[str, Operation]],
        *,
        token: str,
        cpu: str | None,
        backends: Callable[[], list[int]],
        connections: int,
        threads: int,
        warmup: float,
        duration: float,
    ) -> None:
        self._procs = procs
        self._operations = operations  # by app kind, then by name: the peer has its own documents
        self._token = token
        self._cpu = cpu
        self._backends = backends  # pids of the PostgreSQL backends connected to the benchmark database
        self._connections = connections
        self._threads = threads
        self._warmup = warmup
        self._duration = duration

    def measure(self, app: App, name: str) -> Measurement:
        """A warm-up, then the timed window; each ends when the app is idle again."""
        if self._warmup > 0:
            self._wrk(app, name, duration=self._warmup)
            wait_idle(app.pid)
        before = self._sample(app)
        result = self._wrk(app, name, duration=self._duration)
        measured = measurement(result, before, self._sample(app))
        wait_idle(app.pid)  # e.g. logins still queued when wrk stopped
        return measured

    def measure_login_load(self, app: App) -> LoginLoad:
        """`me` idle, then `me` again while a second wrk keeps LOGIN_LOAD_CLIENTS connections logging in."""
        idle = self.measure(app, "me")
        logins = self._start(
            app,
            "login",
            duration=self._duration + 2 * LOGIN_LOAD_MARGIN,
            connections=LOGIN_LOAD_CLIENTS,
            threads=1,
            timeout=60,
        )
        time.sleep(LOGIN_LOAD_MARGIN)
        before = self._sample(app)
        result = self._wrk(app, "me", duration=self._duration)
        loaded = measurement(result, before, self._sample(app))
        login_result = self._finish(logins)
        wait_idle(app.pid)
        return LoginLoad(idle, loaded, login_result)

    def _wrk(self, app: App, name: str, *, duration: float) -> WrkResult:
        return self._finish(
            self._start(app, name, duration=duration, connections=self._connections, threads=self._threads)
        )

    def _start(
        self, app: App, name: str, *, duration: float, connections: int, threads: int, timeout: float = WRK_TIMEOUT
    ) -> WrkRun:
        command = wrk_command(
            f"{app.url}/graphql",
            self._script(app.kind, name),
            duration=duration,
            connections=connections,
            threads=threads,
            timeout=timeout,
        )
        log = self._procs.numbered(f"wrk-{app.kind}-{name}")
        process = self._procs.start(log, command, env=dict(os.environ), cwd=self._procs.log_dir, cpus=self._cpu)
        return WrkRun(process, log, command, duration)

    def _finish(self, run: WrkRun) -> WrkResult:
        try:
            run.process.wait(timeout=run.duration + 60)
        except subprocess.TimeoutExpired:
            raise BenchError(f"wrk did not finish: {' '.join(run.command)}") from None
        finally:
            self._procs.stop(run.process)
        return parse_output((self._procs.log_dir / f"{run.log}.log").read_text(errors="replace"), run.command)

    def _script(self, kind: str, name: str) -> Path:
        operation = self._operations[kind][name]
        token = None if name == "login" else self._token
        return write_script(self._procs.log_dir / f"{kind}-{name}.lua", operation, token)

    def _sample(self, app: App) -> CpuSample:
        pids = self._backends()
        return CpuSample(
            at=time.monotonic(),
            app=tree_cpu_seconds(app.pid),
            ours=self._procs.cpu_seconds(),
            postgres={pid: process_cpu_seconds(pid) for pid in pids},
            machine=machine_busy_seconds(),
        )


def count_statements(
    app: App,
    operation: Operation,
    *,
    token: str,
    counter: StatementCounter,
    requests: int,
    runner: asyncio.Runner,
) -> dict[str, float]:
    """Statements per request by kind, over `requests` sequential checked requests (at most 5 logins: bcrypt)."""
    authorization = None if operation.name == "login" else token
    for _ in range(2):  # warm: connections open, statements prepared
        post(app.url, operation.body, authorization)
    if operation.name == "login":
        requests = min(requests, 5)
    runner.run(counter.start())
    for _ in range(requests):
        expect(f"{app.kind} {operation.name} (counted)", *post(app.url, operation.body, authorization), operation)
    counts: Counter[str] = runner.run(counter.stop())
    return {kind: count / requests for kind, count in sorted(counts.items())}
