"""The peer: PostGraphile 4 (pinned in benchmarks/postgraphile/) on the benchmark database, beside the server.

PostGraphile reflects a PostgreSQL schema into GraphQL, so the benchmark gives it a schema of its own,
`peer`, in the benchmark database only: a view of the users' public columns (the same fields the server
answers) and a `me()` function that does the server's session check from the token's claims. Its
answers cannot be the server's bytes (its page is `allUsers`, its cursors are its own), so they are
checked by structure against the seed before timing, and wrk checks status 200, no "errors" and the
expected ids in every timed answer.
"""

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from benchmarks.database import BenchError
from benchmarks.operations import PAGE_SIZE, Operation, Seed, SeedUser, dumps, newest_first

PEER_DIR = Path(__file__).resolve().parent / "postgraphile"
CLI = PEER_DIR / "node_modules" / "postgraphile" / "cli.js"
SCHEMA = "peer"
POOL_SIZE = 10  # PostGraphile's default (--max-pool-size), left as it is
READY_PATH, READY_BODY = "/graphql", b'{"query":"{ __typename }"}'  # it has no health route

# The server checks the token's session (not revoked, not expired, active user); so does `me()`.
SCHEMA_SQL = """
CREATE SCHEMA peer;
CREATE VIEW peer.users AS SELECT id, email, full_name, created_at FROM public.users;
COMMENT ON VIEW peer.users IS E'@primaryKey id';
CREATE FUNCTION peer.me() RETURNS peer.users LANGUAGE sql STABLE AS $$
  SELECT u.id, u.email, u.full_name, u.created_at
  FROM public.users u JOIN public.sessions s ON s.user_id = u.id
  WHERE s.id = nullif(current_setting('jwt.claims.jti', true), '')::uuid
    AND u.id = nullif(current_setting('jwt.claims.sub', true), '')::uuid
    AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active
$$;
"""

ME = "query Me { me { id fullName email createdAt } }"
USERS = (
    f"query Users {{ allUsers(first: {PAGE_SIZE}, orderBy: [CREATED_AT_DESC, ID_DESC]) {{ edges {{ cursor "
    "node { id fullName createdAt } } pageInfo { hasNextPage endCursor } } }"
)
# Written as its answers are checked: a timed answer with "errors" in it is wrong.
NO_ERRORS = ('"errors"',)
CURSOR = "…"  # stands for a cursor in the expected answers: PostGraphile's own encoding, checked separately


def missing_tools() -> str | None:
    """Why the peer cannot run here, or None."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(absent)} not installed" if absent else None


def install() -> None:
    """`npm ci` from the lock file; the harness runs it once, node_modules is kept (and ignored by git)."""
    npm = shutil.which("npm")
    if npm is None:
        raise BenchError("npm is not installed")
    done = subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not CLI.exists():
        raise BenchError(f"npm ci in {PEER_DIR} failed:\n{done.stdout}{done.stderr}")


async def shape_schema(dsn: str) -> None:
    """Creates the peer's schema in the benchmark database (dropped with it at the next run)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(SCHEMA_SQL)
    finally:
        await connection.close()


def command(*, bench_dsn: str, port: int, secret: str) -> list[str]:
    """One node process, production-like: no GraphiQL, no watch, no query log, default pool, no mutations.

    `--jwt-verify-audience ''`: the server's tokens carry no audience, and the same token is sent to all apps.
    """
    node = shutil.which("node") or "node"
    return [
        node,
        str(CLI),
        *("--connection", bench_dsn, "--schema", SCHEMA, "--host", "127.0.0.1", "--port", str(port)),
        *("--disable-graphiql", "--disable-query-log", "--disable-default-mutations"),
        *("--jwt-secret", secret, "--jwt-verify-audience", ""),
    ]


def ten_document(ids: list[UUID]) -> str:
    fields = " ".join(f'u{i}: userById(id: "{id}") {{ id fullName }}' for i, id in enumerate(ids))
    return f"query Ten {{ {fields} }}"


def build_operations(seed: Seed) -> dict[str, Operation]:
    """The peer's documents; wrk checks status 200, no "errors" and the ids each answer must hold."""
    page = newest_first(seed)[:PAGE_SIZE]
    return {
        "me": Operation("me", dumps({"query": ME}), None, needles=(f'"{seed.known.id}"',), absent=NO_ERRORS),
        "users": Operation(
            "users", dumps({"query": USERS}), None, needles=(f'"{page[0].id}"', f'"{page[-1].id}"'), absent=NO_ERRORS
        ),
        "ten": Operation(
            "ten",
            dumps({"query": ten_document([u.id for u in seed.ten])}),
            None,
            needles=tuple(f'"{u.id}"' for u in seed.ten),
            absent=NO_ERRORS,
        ),
    }


def expected_answers(seed: Seed) -> dict[str, Any]:
    """What each answer must be once parsed, with `createdAt` as a datetime and cursors as CURSOR."""
    known = seed.known
    page = newest_first(seed)[:PAGE_SIZE]
    edges = [{"cursor": CURSOR, "node": {**_short(user), "createdAt": user.created_at}} for user in page]
    all_users = {"edges": edges, "pageInfo": {"hasNextPage": len(seed.users) > PAGE_SIZE, "endCursor": CURSOR}}
    return {
        "me": {"data": {"me": {**_short(known), "email": known.email, "createdAt": known.created_at}}},
        "users": {"data": {"allUsers": all_users}},
        "ten": {"data": {f"u{i}": _short(user) for i, user in enumerate(seed.ten)}},
    }


def check_structure(what: str, status: int, body: str, expected: Any) -> None:
    """Raises unless the answer is HTTP 200 and, parsed, the expected value (see `comparable`)."""
    try:
        got = comparable(json.loads(body))
    except (ValueError, TypeError) as exc:
        raise BenchError(f"{what}: not a GraphQL answer (HTTP {status}, {exc}): {body[:500]}") from None
    if status != 200 or got != expected:
        raise BenchError(
            f"{what}: HTTP {status}, unexpected answer:\n  got:      {got!r:.1500}\n  expected: {expected!r:.1500}"
        )


def comparable(value: Any) -> Any:
    """The answer with `createdAt` parsed (PostgreSQL writes it, not Python) and cursors replaced by CURSOR.

    PostGraphile encodes cursors its own way, so only this is checked of them: each is a non-empty
    string, and `endCursor` is the last edge's.
    """
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _comparable_field(key, item) for key, item in value.items()}
    edges, page_info = value.get("edges"), value.get("pageInfo")
    if edges and isinstance(page_info, dict) and page_info.get("endCursor") != edges[-1].get("cursor"):
        out["pageInfo"] = {**out["pageInfo"], "endCursor": "not the last edge's cursor"}
    return out


def _comparable_field(key: str, value: Any) -> Any:
    if key == "createdAt" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if key in {"cursor", "endCursor"} and isinstance(value, str) and value:
        return CURSOR
    return comparable(value)


def _short(user: SeedUser) -> dict[str, str]:
    return {"id": str(user.id), "fullName": user.full_name}
