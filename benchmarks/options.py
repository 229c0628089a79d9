"""The command line: what a run measures and how, as one frozen value the other modules read."""

import argparse
import sys
from dataclasses import dataclass

OPERATIONS = ("me", "users", "ten", "login")


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed command line, field for field in the order `--help` lists them (the JSON keeps it)."""

    duration: float
    warmup: float
    connections: int
    threads: int
    workers: int
    users: int
    database: str
    postgres: str
    bcrypt_rounds: int
    log_level: str
    operations: tuple[str, ...]  # a subset of OPERATIONS, in their order
    no_peer: bool
    no_login_load: bool
    login_load_pinned: bool
    sql_count: str
    enable_pg_stat_statements: bool
    counted_requests: int
    json: str | None
    keep_logs: bool


def parse_options(argv: list[str] | None = None) -> Options:
    """Exits with a one-line message on an unknown operation, as argparse does on other mistakes."""
    args = _parser().parse_args(argv)
    unknown = set(args.operations) - set(OPERATIONS)
    if unknown or not args.operations:
        sys.exit(f"benchmarks: unknown operations {sorted(unknown)}; choose from {','.join(OPERATIONS)}")
    fields = vars(args)
    fields["operations"] = tuple(name for name in OPERATIONS if name in args.operations)
    return Options(**fields)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="The benchmark, end to end: `python -m benchmarks` (see benchmarks/README.md).",
    )
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
    parser.add_argument("--no-peer", action="store_true", help="do not run the PostGraphile peer")
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
