"""Password hashing and access tokens."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import UUID, uuid4

import jwt
from passlib.context import CryptContext

from lunchtogether.core.workers import WorkerThreads

MAX_TOKEN_LENGTH = 4096
VERIFIED_TOKENS_KEPT = 4096


class PasswordHasher:
    """bcrypt through passlib, off the event loop: bcrypt is slow on purpose, and would stall it."""

    def __init__(self, *, rounds: int, workers: WorkerThreads) -> None:
        self._context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=rounds)
        self._workers = workers
        # Verified against when the account does not exist, so that an unknown email
        # takes as long as a wrong password.
        self._dummy_hash = self._context.hash(uuid4().hex)

    async def hash(self, password: str) -> str:
        return await self._workers.run(self._context.hash, password)

    async def verify(self, password: str, hashed_password: str | None) -> bool:
        """Whether `password` matches; with no hash, spends the same time and says no."""
        matches = await self._workers.run(self._context.verify, password, hashed_password or self._dummy_hash)
        return matches and hashed_password is not None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    session_id: UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: UUID
    session_id: UUID
    expires_at: float
    """Seconds since the epoch."""


class TokenCodec:
    """Signs and reads JWTs; only the configured algorithm is ever accepted.

    Checking a signature costs PyJWT about a tenth of a request's CPU, so the result
    is kept per token string (bounded). That is no cache of token *state*: expiry is
    checked on every use here, and revocation and the user in the database.
    """

    def __init__(self, *, secret: str, algorithm: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self.lifetime = lifetime
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify)

    def issue(
        self, user_id: UUID, session_id: UUID, *, not_after: datetime, now: datetime | None = None
    ) -> IssuedToken:
        """A token of the session (its id is the `jti`) that lives `lifetime`, but never past `not_after`:
        the end of the session's maximum age, which no renewal may pass."""
        issued_at = (now or datetime.now(UTC)).replace(microsecond=0)
        expires_at = self.expiry(not_after=not_after, now=issued_at)
        claims = {"sub": str(user_id), "jti": str(session_id), "iat": issued_at, "exp": expires_at}
        return IssuedToken(jwt.encode(claims, self._secret, algorithm=self._algorithm), session_id, expires_at)

    def expiry(self, *, not_after: datetime, now: datetime) -> datetime:
        """The `exp` of a token issued `now`; whole seconds, as a JWT carries them, so that a
        session's row holds its newest token's exact `exp`."""
        return min(now.replace(microsecond=0) + self.lifetime, not_after.replace(microsecond=0))

    def decode(self, token: str) -> TokenClaims | None:
        """The claims of a well-formed, correctly signed, unexpired token; else None."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        claims = self._verified(token)
        return claims if claims is not None and claims.expires_at > time.time() else None

    def _verify(self, token: str) -> TokenClaims | None:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["sub", "jti", "iat", "exp"], "verify_exp": False},
            )
            return TokenClaims(
                user_id=UUID(str(claims["sub"])),
                session_id=UUID(str(claims["jti"])),
                expires_at=float(claims["exp"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
