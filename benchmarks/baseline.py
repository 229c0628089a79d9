"""The baseline: the benchmark's four operations on bare Starlette + asyncpg.

No GraphQL, no ORM, no transaction around a read: about the least work that gives
the same bytes as the real server for the same requests. It is the floor the
server is compared with, served by uvicorn the way `lunchtogether serve` serves
the app:

    uvicorn benchmarks.baseline:create_app --factory --host 127.0.0.1 --port 8001 \\
        --no-access-log --no-proxy-headers --no-server-header

It reads the server's own variables: DATABASE_URL, JWT_SECRET_KEY, BCRYPT_ROUNDS.
It imports nothing from `lunchtogether`: the cursor format is reimplemented here.
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import sys
import threading
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import jwt
from passlib.context import CryptContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

JWT_ALGORITHM = "HS256"
TOKEN_LIFETIME = timedelta(minutes=60)
POOL_SIZE = 40  # the server's pool_size 30 + max_overflow 10
CURSOR_MAC_BYTES = 12

# Which operation a request is: the name of its (only) operation, as the documents say.
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")
_FIRST = re.compile(r"users\(first:\s*(\d+)")
_ALIASED_USER = re.compile(r'(\w+)\s*:\s*user\(id:\s*"([^"]*)"\)')

LAST_USE_PRECISION = timedelta(seconds=60)  # the server writes a session's last use at most this often
# The server's one statement per signed-in request: the user with the session's times.
AUTHENTICATE = """SELECT u.id, u.email, u.full_name, u.created_at,
  s.created_at AS session_created_at, s.last_used_at AS session_last_used_at, s.expires_at AS session_expires_at
FROM users u JOIN sessions s ON s.user_id = u.id
WHERE s.id = $1 AND u.id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 AND u.is_active
"""
MARK_USED = "UPDATE sessions SET last_used_at = $2, updated_at = $2 WHERE id = $1 AND last_used_at < $3"
USERS_PAGE = "SELECT id, full_name, created_at FROM users ORDER BY created_at DESC, id DESC LIMIT $1"
USERS_BY_ID = "SELECT id, full_name FROM users WHERE id = ANY($1::uuid[])"
USER_BY_EMAIL = "SELECT id, hashed_password, is_active FROM users WHERE email = $1"
INSERT_SESSION = """INSERT INTO sessions (id, user_id, created_at, updated_at, last_used_at, expires_at, user_agent)
VALUES ($1, $2, $3, $3, $3, $4, $5)"""


class CursorCodec:
    """The server's keyset cursor: base64url(payload) "." base64url(keyed BLAKE2b MAC)."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"lunchtogether-cursor:" + secret.encode()).digest()

    def encode(self, created_at: datetime, id: UUID) -> str:
        payload = f"{created_at.isoformat()}|{id.hex}".encode()
        mac = hashlib.blake2b(payload, key=self._key, digest_size=CURSOR_MAC_BYTES).digest()
        return f"{_b64(payload)}.{_b64(mac)}"


def _lower_priority() -> None:
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Unauthenticated(Exception):  # noqa: N818 - a signal, not a failure of the baseline
    pass


class Baseline:
    def __init__(self, *, database_url: str, secret: str, bcrypt_rounds: int) -> None:
        self._dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._secret = secret
        self._cursors = CursorCodec(secret)
        self._passwords = CryptContext(schemes=["bcrypt"], bcrypt__rounds=bcrypt_rounds)
        self._dummy_hash = self._passwords.hash(uuid4().hex)
        # The server's policy: a hashing thread per core, niced below the event loop.
        self._hashing = ThreadPoolExecutor(os.cpu_count() or 1, initializer=_lower_priority)
        self._pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncGenerator[None]:
        # `reset=_no_reset`: asyncpg's default runs four statements on every release.
        self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=POOL_SIZE, reset=_no_reset)
        try:
            yield
        finally:
            await self._pool.close()

    async def graphql(self, request: Request) -> Response:
        body = json.loads(await request.body())
        query = body.get("query") or ""
        match = _OPERATION.match(query)
        name = match.group(1) if match else ""
        assert self._pool is not None
        async with self._pool.acquire() as connection:
            try:
                if name == "Me":
                    data = await self._me(connection, request)
                elif name == "Users":
                    data = await self._users(connection, request, query)
                elif name == "Ten":
                    data = await self._ten(connection, request, query)
                elif name == "Login":
                    return await self._login(connection, request, body.get("variables") or {})
                else:
                    return _json({"errors": [{"message": f"the baseline has no operation {name!r}"}]}, 400)
            except Unauthenticated:
                return _json({"data": None, "errors": [{"message": "Not signed in."}]})
        return _json({"data": data})

    async def _viewer(self, connection: asyncpg.Connection, request: Request) -> asyncpg.Record | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            claims = jwt.decode(
                token.strip(),
                self._secret,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["sub", "jti", "iat", "exp"]},
            )
            user_id, session_id = UUID(str(claims["sub"])), UUID(str(claims["jti"]))
        except (jwt.PyJWTError, ValueError):
            return None
        now = datetime.now(UTC)
        viewer = await connection.fetchrow(AUTHENTICATE, session_id, user_id, now)
        if viewer is not None and viewer["session_last_used_at"] < now - LAST_USE_PRECISION:
            await connection.execute(MARK_USED, session_id, now, now - LAST_USE_PRECISION)
        return viewer

    async def _me(self, connection: asyncpg.Connection, request: Request) -> dict[str, Any]:
        viewer = await self._viewer(connection, request)
        if viewer is None:
            return {"me": None}
        return {
            "me": {
                "id": str(viewer["id"]),
                "fullName": viewer["full_name"],
                "email": viewer["email"],
                "createdAt": viewer["created_at"].isoformat(),
            }
        }

    async def _users(self, connection: asyncpg.Connection, request: Request, query: str) -> dict[str, Any]:
        if await self._viewer(connection, request) is None:
            raise Unauthenticated
        match = _FIRST.search(query)
        first = int(match.group(1)) if match else 20
        rows = await connection.fetch(USERS_PAGE, first + 1)
        edges = [
            {
                "cursor": self._cursors.encode(row["created_at"], row["id"]),
                "node": {
                    "id": str(row["id"]),
                    "fullName": row["full_name"],
                    "createdAt": row["created_at"].isoformat(),
                },
            }
            for row in rows[:first]
        ]
        page_info = {"hasNextPage": len(rows) > first, "endCursor": edges[-1]["cursor"] if edges else None}
        return {"users": {"edges": edges, "pageInfo": page_info}}

    async def _ten(self, connection: asyncpg.Connection, request: Request, query: str) -> dict[str, Any]:
        if await self._viewer(connection, request) is None:
            raise Unauthenticated
        wanted = [(alias, UUID(id)) for alias, id in _ALIASED_USER.findall(query)]
        rows = await connection.fetch(USERS_BY_ID, [id for _, id in wanted])
        found = {row["id"]: {"id": str(row["id"]), "fullName": row["full_name"]} for row in rows}
        return {alias: found.get(id) for alias, id in wanted}

    async def _login(self, connection: asyncpg.Connection, request: Request, variables: dict[str, Any]) -> Response:
        data = variables.get("input") or {}
        email, password = str(data.get("email", "")).strip().lower(), str(data.get("password", ""))
        user = await connection.fetchrow(USER_BY_EMAIL, email)
        hashed = user["hashed_password"] if user else self._dummy_hash
        verify = self._passwords.verify
        matches = await asyncio.get_running_loop().run_in_executor(self._hashing, verify, password, hashed)
        if user is None or not matches or not user["is_active"]:
            return _json({"data": None, "errors": [{"message": "Incorrect email or password."}]})
        now = datetime.now(UTC)
        issued_at = now.replace(microsecond=0)
        expires_at = issued_at + TOKEN_LIFETIME  # the server's 30-day maximum age is far beyond it
        session_id = uuid4()
        claims = {"sub": str(user["id"]), "jti": str(session_id), "iat": issued_at, "exp": expires_at}
        token = jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)
        user_agent = request.headers.get("user-agent", "").replace("\x00", "")[:256] or None
        await connection.execute(INSERT_SESSION, session_id, user["id"], now, expires_at, user_agent)
        response = _json({"data": {"login": {"accessToken": token, "user": {"id": str(user["id"])}}}})
        response.set_cookie(
            "access_token", token, expires=expires_at, path="/", secure=True, httponly=True, samesite="lax"
        )
        return response


async def _no_reset(_connection: asyncpg.Connection) -> None:
    return None


def _json(body: dict[str, Any], status_code: int = 200) -> Response:
    # The server's serialization: compact separators, ASCII escapes.
    return Response(json.dumps(body, separators=(",", ":")), status_code=status_code, media_type="application/json")


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    baseline = Baseline(
        database_url=os.environ["DATABASE_URL"],
        secret=os.environ["JWT_SECRET_KEY"],
        bcrypt_rounds=int(os.environ.get("BCRYPT_ROUNDS", "12")),
    )
    return Starlette(
        routes=[Route("/graphql", baseline.graphql, methods=["POST"]), Route("/health", health, methods=["GET"])],
        lifespan=baseline.lifespan,
    )
