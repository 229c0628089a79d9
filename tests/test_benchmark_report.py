"""The benchmark's report is a pure function of its results: a fixed value gives a fixed table and JSON."""

import json

from benchmarks.measure import LoginLoad, Measurement
from benchmarks.options import parse_options
from benchmarks.report import Results, render, to_json
from benchmarks.wrk import WrkResult


def window(requests: int, *, p50_ms: float, cpu_ms: float, wrong: int = 0, other_cores: float = 0.0) -> Measurement:
    result = WrkResult(
        requests, 10.0, socket_errors=0, wrong=wrong, p50_ms=p50_ms, p90_ms=2 * p50_ms, p99_ms=3 * p50_ms
    )
    return Measurement(result, cpu_ms=cpu_ms, pg_cpu_ms=0.1, other_cores=other_cores)


def results(argv: list[str], *, peer_skipped: str = "") -> Results:
    peer = {} if peer_skipped else {("me", "postgraphile", 1): window(10_000, p50_ms=30.0, cpu_ms=0.75)}
    return Results(
        options=parse_options(argv),
        server_cpu="0",
        client_cpu="1",
        sql_count_method="pg_stat_statements",
        bcrypt_verify_ms=250.0,
        sql={
            ("login", "lunchtogether"): {"BEGIN": 1.0, "COMMIT": 1.0, "INSERT": 1.0, "SELECT": 1.0},
            ("me", "lunchtogether"): {"SELECT": 1.0},
            ("me", "baseline"): {"SELECT": 1.0},
        },
        timed={
            ("me", "lunchtogether", 1): window(15_000, p50_ms=20.0, cpu_ms=0.6, wrong=2, other_cores=0.5),
            ("me", "baseline", 1): window(45_000, p50_ms=7.0, cpu_ms=0.2),
            **peer,
            ("login", "lunchtogether", 1): window(32, p50_ms=5000.0, cpu_ms=300.0),
            ("me", "lunchtogether", 2): window(22_500, p50_ms=14.0, cpu_ms=0.65),
        },
        login_load={
            "lunchtogether": LoginLoad(
                idle=window(15_000, p50_ms=20.0, cpu_ms=0.6),
                loaded=window(12_000, p50_ms=70.0, cpu_ms=0.7),
                logins=window(20, p50_ms=2000.0, cpu_ms=300.0).result,
            )
        },
        peer_skipped=peer_skipped,
    )


def test_the_table_has_one_row_per_window_and_ratios_to_the_baseline() -> None:
    text = render(results(["--operations", "login,me", "--duration", "10", "--warmup", "2", "--users", "500"]))

    assert text.splitlines()[1:20] == [
        "lunchtogether benchmark: 500 users; wrk -t2 -c32 -d10s after 2s warm-up; app on CPU 0, wrk on CPU 1; "
        "bcrypt cost 12; LOG_LEVEL=INFO",
        "",
        "operation  server          req/s  p50 ms   p99 ms  errors  vs base  SQL/req  B/C/R  CPU ms/req  CPU vs base"
        "  PG ms/req",
        "---------  -------------  ------  ------  -------  ------  -------  -------  -----  ----------  -----------"
        "  ---------",
        "me         lunchtogether  1500.0    20.0     60.0       2    0.33x        1  0/0/0        0.60        3.00x"
        "       0.10",
        "me         postgraphile   1000.0    30.0     90.0       0    0.22x      n/a    n/a        0.75        3.75x"
        "       0.10",
        "me         baseline       4500.0     7.0     21.0       0    1.00x        1  0/0/0        0.20        1.00x"
        "       0.10",
        "login      lunchtogether     3.2  5000.0  15000.0       0      n/a        4  1/1/0      300.00          n/a"
        "       0.10",
        "",
        "errors: socket errors + answers that were not HTTP 200 with the expected body (wrk checks every one).",
        "vs base: req/s over the baseline's. B/C/R: BEGIN/COMMIT/ROLLBACK per request, part of SQL/req.",
        "CPU: the app's process tree, user+system, over the timed window; PG: its PostgreSQL backends'.",
        "postgraphile: its own schema, so its answers are checked by structure before timing, and wrk checks HTTP 200,",
        '  the expected ids and no "errors" in each one (see benchmarks/README.md for what differs).',
        "",
        "lunchtogether vs postgraphile (target: req/s >= 1.20x, CPU per request below 1.00x):",
        "  me     req/s 1.50x, CPU ms/req 0.80x: ok",
        "",
        "SQL statements per request, by kind (pg_stat_statements):",
    ]


def test_the_server_misses_the_peer_target_when_slower_or_costlier() -> None:
    slower = results(["--operations", "me"])
    slower.timed[("me", "postgraphile", 1)] = window(13_000, p50_ms=30.0, cpu_ms=0.75)
    costlier = results(["--operations", "me"])
    costlier.timed[("me", "postgraphile", 1)] = window(10_000, p50_ms=30.0, cpu_ms=0.5)

    assert "  me     req/s 1.15x, CPU ms/req 0.80x: MISSED" in render(slower).splitlines()
    assert "  me     req/s 1.50x, CPU ms/req 1.20x: MISSED" in render(costlier).splitlines()


def test_a_skipped_peer_is_one_line_and_no_row() -> None:
    text = render(results(["--operations", "me"], peer_skipped="node and npm not installed"))

    assert "\npostgraphile: skipped (node and npm not installed)\n" in text
    assert "postgraphile " not in text
    assert "vs postgraphile" not in text
    assert to_json(results(["--operations", "me"], peer_skipped="--no-peer"))["peer_skipped"] == "--no-peer"


def test_login_load_two_workers_and_noise_follow_the_table() -> None:
    text = render(results(["--operations", "me"]))

    assert "me while 8 clients log in (app not pinned; bcrypt cost 12, one verify takes 250 ms here: 4.0 " in text
    assert "me p50 20.0 ms idle -> 70.0 ms under login load = 3.50x (target <= 3x: MISSED)" in text
    assert "logins 2.00/s (target >= 3/s: MISSED), login p50 2000 ms, errors 0" in text
    assert "me         2250.0    14.0    42.0       0        1.50x        0.65" in text
    assert text.endswith("their numbers are not comparable:\n  me/lunchtogether 0.50")


def test_the_json_holds_every_number_and_the_settings() -> None:
    value = to_json(results(["--operations", "me", "--json", "out.json"]))

    assert value["settings"]["operations"] == ("me",)
    assert "json" not in value["settings"]
    assert value["sql_per_request"][0] == {
        "operation": "login",
        "server": "lunchtogether",
        "BEGIN": 1.0,
        "COMMIT": 1.0,
        "INSERT": 1.0,
        "SELECT": 1.0,
    }
    assert value["peer_skipped"] is None
    assert [(row["operation"], row["server"], row["workers"], row["requests"]) for row in value["timed"]] == [
        ("me", "lunchtogether", 1, 15_000),
        ("me", "baseline", 1, 45_000),
        ("me", "postgraphile", 1, 10_000),
        ("login", "lunchtogether", 1, 32),
        ("me", "lunchtogether", 2, 22_500),
    ]
    assert value["login_load"]["lunchtogether"]["loaded"]["p50_ms"] == 70.0
    assert json.loads(json.dumps(value))["bcrypt_verify_ms"] == 250.0
    assert value["timed"][0]["cpu_ms_per_request"] == 0.6
