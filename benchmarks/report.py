"""The report: the table and the JSON, computed from a `Results` value alone (no I/O, no clock)."""

import math
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.apps import BASELINE, PEER, SERVER
from benchmarks.database import TRANSACTION_KINDS
from benchmarks.measure import LOGIN_LOAD_CLIENTS, NOISE_CORES, LoginLoad, Measurement
from benchmarks.options import Options

PEER_TARGET = 1.2  # issue 14: the server's req/s over PostGraphile's, on every read


@dataclass(frozen=True, slots=True)
class Results:
    """Everything a run measured, and the settings it measured with."""

    options: Options
    server_cpu: str | None  # the core the app was pinned to; None: nothing pinned
    client_cpu: str | None  # wrk's
    sql_count_method: str  # how statements were counted, or why they were not ("" with --sql-count off)
    bcrypt_verify_ms: float  # one verify of the known user's hash, in this process
    sql: dict[tuple[str, str], dict[str, float]]  # (operation, app) -> statements per request by kind
    timed: dict[tuple[str, str, int], Measurement]  # (operation, app, workers)
    login_load: dict[str, LoginLoad]  # by app
    peer_skipped: str  # why the peer was not measured; "" when it was


def render(results: Results) -> str:
    noisy: list[str] = []
    lines = [*_main_table(results, noisy), *_peer_lines(results), *_sql_lines(results)]
    lines += _login_load_lines(results, noisy)
    lines += _two_workers_lines(results, noisy)
    if noisy:
        lines += [
            "",
            "WARNING: other processes kept the machine busy during these windows (cores, on average); "
            "their numbers are not comparable:",
            "  " + "; ".join(noisy),
        ]
    return "\n".join(lines)


def to_json(results: Results) -> dict[str, Any]:
    return {
        "settings": {key: value for key, value in asdict(results.options).items() if key != "json"},
        "sql_count_method": results.sql_count_method,
        "bcrypt_verify_ms": results.bcrypt_verify_ms,
        "peer_skipped": results.peer_skipped or None,
        "sql_per_request": [{"operation": o, "server": k, **sql} for (o, k), sql in results.sql.items()],
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
            for (o, k, w), m in results.timed.items()
        ],
        "login_load": {
            kind: {
                "idle": {**asdict(load.idle.result), "other_cores": load.idle.other_cores},
                "loaded": {**asdict(load.loaded.result), "other_cores": load.loaded.other_cores},
                "logins": asdict(load.logins),
            }
            for kind, load in results.login_load.items()
        },
    }


def _main_table(results: Results, noisy: list[str]) -> list[str]:
    options = results.options
    lines = [
        "",
        f"lunchtogether benchmark: {options.users} users; wrk -t{options.threads} -c{options.connections} "
        f"-d{options.duration:g}s after {options.warmup:g}s warm-up; app on CPU {results.server_cpu}, wrk on CPU "
        f"{results.client_cpu}; bcrypt cost {options.bcrypt_rounds}; LOG_LEVEL={options.log_level}",
        "",
    ]
    header = ["operation", "server", "req/s", "p50 ms", "p99 ms", "errors", "vs base", "SQL/req", "B/C/R"]
    rows = [[*header, "CPU ms/req", "CPU vs base", "PG ms/req"]]
    for name in options.operations:
        base = results.timed.get((name, BASELINE, 1))
        for kind in (SERVER, PEER, BASELINE):
            measured = results.timed.get((name, kind, 1))
            if measured is None:
                continue
            result, sql = measured.result, results.sql.get((name, kind))
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
    return [
        *lines,
        *_table(rows),
        "",
        "errors: socket errors + answers that were not HTTP 200 with the expected body (wrk checks every one).",
        "vs base: req/s over the baseline's. B/C/R: BEGIN/COMMIT/ROLLBACK per request, part of SQL/req.",
        "CPU: the app's process tree, user+system, over the timed window; PG: its PostgreSQL backends'.",
        *_peer_note(results),
    ]


def _peer_note(results: Results) -> list[str]:
    if not any(kind == PEER for _, kind, _ in results.timed):
        return []
    return [
        f"{PEER}: its own schema, so its answers are checked by structure before timing, and wrk checks HTTP 200,",
        '  the expected ids and no "errors" in each one (see benchmarks/README.md for what differs).',
    ]


def _peer_lines(results: Results) -> list[str]:
    """The server over the peer, per operation: issue 14 wants >= 1.2x its req/s at less CPU per request."""
    if results.peer_skipped:
        return ["", f"{PEER}: skipped ({results.peer_skipped})"]
    pairs = [
        (name, results.timed[(name, SERVER, 1)], results.timed[(name, PEER, 1)])
        for name in results.options.operations
        if (name, SERVER, 1) in results.timed and (name, PEER, 1) in results.timed
    ]
    if not pairs:
        return []
    lines = ["", f"{SERVER} vs {PEER} (target: req/s >= {PEER_TARGET:.2f}x, CPU per request below 1.00x):"]
    for name, ours, theirs in pairs:
        faster = ours.result.rps >= PEER_TARGET * theirs.result.rps and ours.result.rps > 0
        verdict = "ok" if faster and ours.cpu_ms < theirs.cpu_ms else "MISSED"
        rps, cpu = _ratio(ours.result.rps, theirs.result.rps), _ratio(ours.cpu_ms, theirs.cpu_ms)
        lines.append(f"  {name:<6} req/s {rps}, CPU ms/req {cpu}: {verdict}")
    return lines


def _sql_lines(results: Results) -> list[str]:
    if results.sql:
        lines = ["", f"SQL statements per request, by kind ({results.sql_count_method}):"]
        for (name, kind), sql in results.sql.items():
            lines.append(f"  {name:<6} {kind:<14} " + ", ".join(f"{k} {_number(v)}" for k, v in sql.items()))
        return lines
    if results.sql_count_method:
        return ["", f"SQL statements: {results.sql_count_method}"]
    return []


def _login_load_lines(results: Results, noisy: list[str]) -> list[str]:
    if not results.login_load:
        return []
    options, verify_ms = results.options, results.bcrypt_verify_ms
    where = f"pinned to CPU {results.server_cpu}" if options.login_load_pinned else "not pinned"
    lines = [
        "",
        f"me while {LOGIN_LOAD_CLIENTS} clients log in (app {where}; bcrypt cost {options.bcrypt_rounds}, "
        f"one verify takes {verify_ms:.0f} ms here: {1000 / verify_ms:.1f} logins/s per core at most):",
    ]
    for kind, load in results.login_load.items():
        idle, loaded = load.idle.result, load.loaded.result
        slowdown = loaded.p50_ms / idle.p50_ms if idle.p50_ms else math.nan
        logins = load.logins.rps
        noisy += [
            f"{kind} login load {m.other_cores:.2f}" for m in (load.idle, load.loaded) if m.other_cores > NOISE_CORES
        ]
        lines += [
            f"  {kind:<14} me p50 {idle.p50_ms:.1f} ms idle -> {loaded.p50_ms:.1f} ms under login load = "
            f"{slowdown:.2f}x (target <= 3x: {'ok' if slowdown <= 3 else 'MISSED'}); me {idle.rps:.0f} -> "
            f"{loaded.rps:.0f} req/s, errors {loaded.errors}",
            f"  {'':<14} logins {logins:.2f}/s (target >= 3/s: {'ok' if logins >= 3 else 'MISSED'}), "
            f"login p50 {load.logins.p50_ms:.0f} ms, errors {load.logins.errors}",
        ]
    return lines


def _two_workers_lines(results: Results, noisy: list[str]) -> list[str]:
    timed = results.timed
    two = [(name, timed[(name, SERVER, 2)]) for name in results.options.operations if (name, SERVER, 2) in timed]
    if not two:
        return []
    rows = [["operation", "req/s", "p50 ms", "p99 ms", "errors", "vs 1 worker", "CPU ms/req"]]
    for name, measured in two:
        one = timed.get((name, SERVER, 1))
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
    return ["", f"{SERVER} with --workers 2 (not pinned; wrk still on CPU {results.client_cpu}):", *_table(rows)]


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
