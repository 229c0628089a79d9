"""The benchmark's own database, and counting the SQL statements PostgreSQL executes in it."""

import asyncio
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from passlib.context import CryptContext

from benchmarks.operations import KNOWN_PASSWORD, Seed

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
TRANSACTION_KINDS = ("BEGIN", "COMMIT", "ROLLBACK")
_KIND_ALIASES = {"START": "BEGIN", "END": "COMMIT", "ABORT": "ROLLBACK"}
USER_COLUMNS = (
    "id",
    "email",
    "hashed_password",
    "full_name",
    "is_active",
    "is_verified",
    "is_superuser",
    "avatar_key",
    "created_at",
    "updated_at",
)


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def check_database_name(name: str) -> str:
    # It is dropped at every run: refuse anything that could be somebody's real database.
    if not _SAFE_NAME.fullmatch(name) or "bench" not in name:
        raise BenchError(f"refusing database name {name!r}: it must be a plain identifier containing 'bench'")
    return name


def dsns(postgres: str, database: str) -> tuple[str, str]:
    """(admin DSN, benchmark database DSN) from --postgres and --database; both must be safe to drop things in."""
    parts = urlsplit(postgres)
    if parts.scheme not in {"postgres", "postgresql"} or parts.hostname not in LOOPBACK:
        raise BenchError(f"--postgres must be a postgresql:// URL on a loopback address, not {postgres!r}")
    check_database_name(database)
    admin = urlunsplit(parts._replace(scheme="postgresql", path=parts.path if parts.path.strip("/") else "/postgres"))
    return admin, urlunsplit(parts._replace(scheme="postgresql", path=f"/{database}"))


async def recreate_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{check_database_name(name)}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def seed_users(dsn: str, seed: Seed, *, bcrypt_rounds: int) -> str:
    """Bulk-inserts the seeded users (COPY) and returns the known user's hash.

    Only the known user's password is known; the others share the hash of another one.
    """
    passwords = CryptContext(schemes=["bcrypt"], bcrypt__rounds=bcrypt_rounds)
    known_hash, other_hash = await asyncio.gather(
        asyncio.to_thread(passwords.hash, KNOWN_PASSWORD), asyncio.to_thread(passwords.hash, "not-" + KNOWN_PASSWORD)
    )
    records = [
        (
            user.id,
            user.email,
            known_hash if user is seed.known else other_hash,
            user.full_name,
            True,
            False,
            False,
            None,
            user.created_at,
            user.created_at,
        )
        for user in seed.users
    ]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table("users", records=records, columns=USER_COLUMNS)
        await connection.execute("VACUUM ANALYZE users")
    finally:
        await connection.close()
    return known_hash


def classify(statement: str) -> str:
    """BEGIN, COMMIT, ROLLBACK, SELECT, INSERT, …: the statement's first keyword."""
    words = statement.strip().split(None, 1)
    kind = words[0].rstrip(";").upper() if words else "?"
    return _KIND_ALIASES.get(kind, kind)


class StatementCounter(Protocol):
    name: str

    async def prepare(self) -> None:
        """Before the apps connect."""

    async def start(self) -> None: ...

    async def stop(self) -> Counter[str]:
        """Statements executed in the benchmark database since `start`, by kind."""

    async def close(self) -> None:
        """Undo what `prepare` set up."""


class PgStatStatements:
    """pg_stat_statements (needs it in shared_preload_libraries): PostgreSQL's own per-statement counts.

    Reset for the benchmark database before a counted window, read after it.
    BEGIN/COMMIT/ROLLBACK are counted when pg_stat_statements.track_utility is on.
    """

    name = "pg_stat_statements"

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._dbid = 0

    async def prepare(self) -> None:
        self._connection = connection = await asyncpg.connect(self._dsn)
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        if await connection.fetchval("SHOW pg_stat_statements.track_utility") != "on":
            raise BenchError("pg_stat_statements.track_utility is off: BEGIN/COMMIT would not be counted")
        self._dbid = int(await connection.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()"))

    async def start(self) -> None:
        assert self._connection is not None
        # Simple protocol, literal arguments: this connection adds no statements of its own to the counts.
        await self._connection.execute(f"SELECT pg_stat_statements_reset(0, {self._dbid}, 0)")

    async def stop(self) -> Counter[str]:
        assert self._connection is not None
        rows = await self._connection.fetch(
            f"SELECT query, calls FROM pg_stat_statements WHERE dbid = {self._dbid} "  # noqa: S608 - an oid we read
            "AND query NOT LIKE '%pg_stat_statements%'"
        )
        counts: Counter[str] = Counter()
        for row in rows:
            counts[classify(row["query"])] += row["calls"]
        return counts

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


class LogStatements:
    """`log_statement = 'all'` for the benchmark database only, read back from the server log.

    `ALTER DATABASE … SET` reaches only sessions opened afterwards, so the apps must
    connect after `prepare` and the timed runs use fresh processes after `close`.
    Each logged simple-protocol statement or extended-protocol execute is one statement.
    """

    name = "log_statement"
    _LINE = re.compile(r"LOG:\s+(?:statement|execute [^:]*):\s?(.*)")

    def __init__(self, admin_dsn: str, database: str) -> None:
        self._admin_dsn = admin_dsn
        self._database = check_database_name(database)
        self._log: Path | None = None
        self._prefix_has_database = False
        self._offset = 0

    async def prepare(self) -> None:
        connection = await asyncpg.connect(self._admin_dsn)
        try:
            self._log = await _server_log(connection)
            self._prefix_has_database = "%d" in await connection.fetchval("SHOW log_line_prefix")
            await connection.execute(f"ALTER DATABASE \"{self._database}\" SET log_statement = 'all'")
        finally:
            await connection.close()

    async def start(self) -> None:
        await asyncio.sleep(0.2)  # the log is written by the backends (or the collector), a moment behind
        assert self._log is not None
        self._offset = self._log.stat().st_size

    async def stop(self) -> Counter[str]:
        await asyncio.sleep(0.3)
        assert self._log is not None
        with self._log.open("rb") as log:
            log.seek(self._offset)
            text = log.read().decode("utf-8", "replace")
        counts: Counter[str] = Counter()
        lines = text.splitlines()
        for index, line in enumerate(lines):
            match = self._LINE.search(line)
            if match is None:
                continue
            if self._prefix_has_database and f"@{self._database}" not in line[: match.start()]:
                continue
            # A statement that starts with a newline goes on in the tab-indented lines that follow.
            statement = match.group(1)
            for more in lines[index + 1 :]:
                if statement.strip() or not more.startswith("\t"):
                    break
                statement = more
            counts[classify(statement)] += 1
        return counts

    async def close(self) -> None:
        connection = await asyncpg.connect(self._admin_dsn)
        try:
            await connection.execute(f'ALTER DATABASE "{self._database}" RESET log_statement')
        finally:
            await connection.close()


async def _server_log(connection: asyncpg.Connection) -> Path:
    """Where this server writes its log: the logging collector's file, or Debian's per-cluster file."""
    current = await connection.fetchval("SELECT pg_current_logfile()")
    if current:
        path = Path(current)
        if not path.is_absolute():
            path = Path(await connection.fetchval("SHOW data_directory")) / path
        return _readable(path)
    port = str(await connection.fetchval("SHOW port"))
    listing = await asyncio.to_thread(_command_output, "pg_lsclusters", "--no-header")
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 7 and fields[2] == port:
            return _readable(Path(fields[6]))
    raise BenchError(f"cannot find the PostgreSQL log: pg_lsclusters lists no cluster on port {port}")


def _command_output(*argv: str) -> str:
    executable = shutil.which(argv[0])
    if executable is None:
        raise BenchError(f"{argv[0]} is not installed")
    try:
        return subprocess.run(  # noqa: S603 - a fixed command
            [executable, *argv[1:]], capture_output=True, text=True, check=True, timeout=120
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise BenchError(f"{' '.join(argv)} failed: {(exc.stderr or exc.stdout or '').strip()[-500:]}") from exc
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchError(f"{' '.join(argv)} failed: {exc}") from exc


def _readable(path: Path) -> Path:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise BenchError(f"cannot read the PostgreSQL log {path}: {exc}") from exc
    return path


async def shared_preload_libraries(admin_dsn: str) -> list[str]:
    connection = await asyncpg.connect(admin_dsn)
    try:
        value = await connection.fetchval("SHOW shared_preload_libraries")
    finally:
        await connection.close()
    return [name.strip() for name in value.split(",") if name.strip()]


async def enable_pg_stat_statements(admin_dsn: str) -> str:
    """Adds pg_stat_statements to shared_preload_libraries and restarts the cluster, if nobody else is connected.

    Returns what it did, for the report. The setting persists (postgresql.auto.conf).
    """
    connection = await asyncpg.connect(admin_dsn)
    try:
        preload = [n.strip() for n in (await connection.fetchval("SHOW shared_preload_libraries")).split(",")]
        preload = [name for name in preload if name]
        if "pg_stat_statements" in preload:
            return "pg_stat_statements was already loaded"
        others = await connection.fetch(
            "SELECT datname, application_name FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        if others:
            who = ", ".join(sorted({f"{r['datname']}/{r['application_name'] or '?'}" for r in others}))
            raise BenchError(f"not restarting PostgreSQL: other clients are connected ({who})")
        cluster = await connection.fetchval("SHOW cluster_name")
        value = ", ".join([*preload, "pg_stat_statements"])
        await connection.execute(f"ALTER SYSTEM SET shared_preload_libraries = '{value}'")
    finally:
        await connection.close()
    version, _, name = (cluster or "").partition("/")
    if not version or not name:
        raise BenchError("cannot tell which cluster to restart (cluster_name is not VERSION/NAME)")
    try:
        await asyncio.to_thread(_command_output, "pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart")
    except BenchError:
        # Not restarted: take the setting back, so that no later restart picks it up unasked.
        connection = await asyncpg.connect(admin_dsn)
        try:
            if preload:
                await connection.execute(f"ALTER SYSTEM SET shared_preload_libraries = '{', '.join(preload)}'")
            else:
                await connection.execute("ALTER SYSTEM RESET shared_preload_libraries")
        finally:
            await connection.close()
        raise
    for _ in range(60):
        try:
            connection = await asyncpg.connect(admin_dsn, timeout=2)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.5)
            continue
        await connection.close()
        return f"added pg_stat_statements to shared_preload_libraries (ALTER SYSTEM) and restarted cluster {cluster}"
    raise BenchError("PostgreSQL did not come back after the restart")
