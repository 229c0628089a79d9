"""The seeded data, the four operations, and the exact answers they must get."""

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from benchmarks.baseline import CursorCodec

KNOWN_EMAIL = "bench.user@example.com"
KNOWN_PASSWORD = "correct horse battery staple"
KNOWN_NAME = "Zoe Benchmark"
PAGE_SIZE = 20
TEN = 10

# ASCII only: `json.dumps` escapes other characters and orjson does not, and the bytes are compared.
_FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken")
_LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "O'Neil", 'Quote"d')
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SeedUser:
    id: UUID
    email: str
    full_name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Seed:
    users: list[SeedUser]
    known: SeedUser
    ten: list[SeedUser]


def make_seed(count: int, *, seed: int = 20261126) -> Seed:
    """`count` users, the same every run: distinct creation times (with microseconds), random ids."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    users = []
    for i in range(count):
        created_at = _EPOCH + timedelta(seconds=613 * i, microseconds=rng.randrange(1_000_000))
        name = f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}"
        email = f"user{i:05d}@example.com"
        if i == 0:
            name, email = KNOWN_NAME, KNOWN_EMAIL
        users.append(SeedUser(UUID(int=rng.getrandbits(128), version=4), email, name, created_at))
    step = max(1, count // TEN)
    return Seed(users=users, known=users[0], ten=[users[(i * step + 7) % count] for i in range(TEN)])


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    body: str  # the JSON request body
    expected: str | None  # the exact response body; None where it differs per call (login)
    needles: tuple[str, ...] = ()  # what a response must contain when it cannot be compared whole
    absent: tuple[str, ...] = ()  # what it must not contain (the peer's: "errors")


ME = "query Me { me { id fullName email createdAt } }"
USERS = (
    "query Users { users(first: 20) { edges { cursor node { id fullName createdAt } } "
    "pageInfo { hasNextPage endCursor } } }"
)
LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { accessToken user { id } } }"


def ten_document(ids: list[UUID]) -> str:
    fields = " ".join(f'u{i}: user(id: "{id}") {{ id fullName }}' for i, id in enumerate(ids))
    return f"query Ten {{ {fields} }}"


def dumps(value: object) -> str:
    """The server's serialization."""
    return json.dumps(value, separators=(",", ":"))


def build_operations(seed: Seed, secret: str) -> dict[str, Operation]:
    known = seed.known
    me = {"me": {"id": str(known.id), "fullName": known.full_name, "email": known.email, "createdAt": _iso(known)}}

    cursors = CursorCodec(secret)
    newest = newest_first(seed)
    edges = [
        {
            "cursor": cursors.encode(user.created_at, user.id),
            "node": {"id": str(user.id), "fullName": user.full_name, "createdAt": _iso(user)},
        }
        for user in newest[:PAGE_SIZE]
    ]
    page_info = {"hasNextPage": len(newest) > PAGE_SIZE, "endCursor": edges[-1]["cursor"] if edges else None}
    users = {"users": {"edges": edges, "pageInfo": page_info}}

    ten = {f"u{i}": {"id": str(user.id), "fullName": user.full_name} for i, user in enumerate(seed.ten)}
    login_variables = {"input": {"email": KNOWN_EMAIL, "password": KNOWN_PASSWORD}}
    return {
        "me": Operation("me", dumps({"query": ME}), dumps({"data": me})),
        "users": Operation("users", dumps({"query": USERS}), dumps({"data": users})),
        "ten": Operation("ten", dumps({"query": ten_document([u.id for u in seed.ten])}), dumps({"data": ten})),
        "login": Operation(
            "login",
            dumps({"query": LOGIN, "variables": login_variables}),
            None,
            needles=('{"data":{"login":{"accessToken":"', f'"user":{{"id":"{known.id}"}}}}}}}}'),
        ),
    }


def newest_first(seed: Seed) -> list[SeedUser]:
    """The order of the users page: creation time, then id, both descending (PostgreSQL orders UUIDs as numbers)."""
    return sorted(seed.users, key=lambda u: (u.created_at, u.id.int), reverse=True)


def _iso(user: SeedUser) -> str:
    return user.created_at.isoformat()
