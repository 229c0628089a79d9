"""The answers checked before anything is timed: a fast wrong answer would make every number meaningless.

For `me`, `users` and `ten` the server's body, the baseline's body and the body computed from the seed
must be the same bytes. `login` is checked by structure, and each app must accept the other's token.
The peer's answers (another schema) are checked by structure against the seed, with the server's token.
"""

import json
import urllib.error
import urllib.request
from typing import Any
from uuid import UUID

import jwt

from benchmarks.apps import BASELINE, SERVER, App
from benchmarks.database import BenchError
from benchmarks.operations import Operation, dumps
from benchmarks.peer import check_structure

_SIGNED_OUT = dumps({"data": {"me": None}})


def post(url: str, body: str, token: str | None) -> tuple[int, str]:
    """(HTTP status, body) of one GraphQL request, error statuses included."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/graphql", data=body.encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def expect(what: str, status: int, body: str, operation: Operation) -> None:
    """Raises with the first differing byte, unless the answer is HTTP 200 with the operation's expected body."""
    exact = operation.expected is None or body == operation.expected
    contains = all(needle in body for needle in operation.needles)
    if status == 200 and exact and contains and not any(word in body for word in operation.absent):
        return
    expected = operation.expected or " … ".join(operation.needles) + "".join(f" (no {a})" for a in operation.absent)
    at = next(
        (i for i, (a, b) in enumerate(zip(body, expected, strict=False)) if a != b), min(len(body), len(expected))
    )
    start = max(0, at - 80)
    raise BenchError(
        f"{what}: wrong answer (HTTP {status}); first difference at byte {at}:\n"
        f"  got:      …{body[start : at + 120]}\n  expected: …{expected[start : at + 120]}"
    )


def check_answers(server: App, baseline: App, operations: dict[str, Operation], *, secret: str, known: UUID) -> str:
    """Checks both apps' answers, signed in and out; returns the server's token for the timed runs."""
    tokens = {app.kind: check_login(app, operations["login"], secret=secret, known=known) for app in (server, baseline)}
    me = operations["me"]
    for app in (server, baseline):
        for name in ("me", "users", "ten"):
            expect(f"{app.kind} {name}", *post(app.url, operations[name].body, tokens[app.kind]), operations[name])
        # Each app honours the other's token: both logins did the same work.
        other = BASELINE if app.kind == SERVER else SERVER
        expect(f"{app.kind} me with {other}'s token", *post(app.url, me.body, tokens[other]), me)
        signed_out = Operation("me", me.body, _SIGNED_OUT)
        expect(f"{app.kind} me signed out", *post(app.url, me.body, None), signed_out)
    return tokens[SERVER]


def check_peer_answers(app: App, operations: dict[str, Operation], answers: dict[str, Any], *, token: str) -> None:
    """The peer, signed in with the server's token: the seed's users, in the page's order; signed out, no `me`."""
    for name, operation in operations.items():
        check_structure(f"{app.kind} {name}", *post(app.url, operation.body, token), answers[name])
    me = operations["me"]
    expect(f"{app.kind} me signed out", *post(app.url, me.body, None), Operation("me", me.body, _SIGNED_OUT))


def check_login(app: App, operation: Operation, *, secret: str, known: UUID) -> str:
    """A login answer differs every time (a fresh token): its shape, its claims and its fixed bytes are checked."""
    status, body = post(app.url, operation.body, None)
    what = f"{app.kind} login"
    try:
        data = json.loads(body)
        login = data["data"]["login"]
        token = login["accessToken"]
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "jti", "iat", "exp"]})
    except (ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
        raise BenchError(f"{what}: not a login answer ({type(exc).__name__}: {exc}): {body[:500]}") from None
    shape = {"data": {"login": {"accessToken": "…", "user": {"id": str(known)}}}}
    if status != 200 or {**data, "data": {"login": {**login, "accessToken": "…"}}} != shape:
        raise BenchError(f"{what}: HTTP {status}, unexpected answer {body[:500]}")
    if claims["sub"] != str(known) or not all(needle in body for needle in operation.needles):
        raise BenchError(f"{what}: the token or the answer's bytes are not as expected: {body[:500]}")
    return token
