"""Link tokens: made here, handed out once, and from then on known to the database only as a hash."""

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, insert, literal, select, update

from lunchtogether.models import AccountToken, AccountTokenPurpose, User
from lunchtogether.repositories.base import Repository
from lunchtogether.schemas.account_token import AccountTokenInDB

TOKEN_BYTES = 32  # 256 bits; URL-safe base64 makes 43 characters of it


def token_hash(token: str) -> str:
    """What is stored and looked up: SHA-256 is enough for a random 256-bit token, and a lookup needs no salt.

    Any string a client sends hashes (lone surrogates too), so a malformed token is simply an unknown one.
    """
    return hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()


class AccountTokenRepository(Repository[AccountTokenInDB]):
    model = AccountToken
    record = AccountTokenInDB

    async def issue(
        self, *, user_id: UUID, email: str, purpose: AccountTokenPurpose, lifetime: timedelta, now: datetime
    ) -> str:
        """A new token for `email` of the user; returned once, stored only as its hash."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await self.create(
            {
                "user_id": user_id,
                "purpose": purpose,
                "token_hash": token_hash(token),
                "email": email,
                "expires_at": now + lifetime,
            }
        )
        return token

    async def issue_for_active_account(
        self, email: str, *, purpose: AccountTokenPurpose, lifetime: timedelta, now: datetime
    ) -> str:
        """A token stored only if an active account has `email`, in one INSERT … SELECT either way.

        The caller cannot tell whether a row was written, and neither can a client timing it: the
        same statement runs for a known address and an unknown one.
        """
        token = secrets.token_urlsafe(TOKEN_BYTES)
        users = User.__table__.c
        columns = {
            "user_id": users.id,
            "purpose": literal(str(purpose)),
            "token_hash": literal(token_hash(token)),
            "email": users.email,
            "expires_at": literal(now + lifetime, AccountToken.__table__.c.expires_at.type),
        }
        rows = select(*columns.values()).where(users.email == email, users.is_active)
        async with self._db.connection(in_transaction=True) as connection:
            await connection.execute(insert(self.table).from_select(list(columns), rows))
        return token

    async def find_usable(self, token: str, *, purpose: AccountTokenPurpose, now: datetime) -> AccountTokenInDB | None:
        """The token's row if it would be accepted now; `consume` still decides, atomically."""
        return await self.get(*_usable(token, purpose, now))

    async def consume(self, token: str, *, purpose: AccountTokenPurpose, now: datetime) -> AccountTokenInDB | None:
        """Uses the token up and returns its row; None if it is unknown, used, superseded or expired.

        One UPDATE … RETURNING: of two requests racing with the same token, one gets the row.
        """
        statement = update(self.table).where(*_usable(token, purpose, now)).values(used_at=now).returning(self.table)
        return await self._write(statement)

    async def end_pending(self, user_id: UUID, *, purpose: AccountTokenPurpose, now: datetime) -> None:
        """Every unused token of the user for `purpose` stops working (a newer one supersedes them)."""
        table = AccountToken.__table__.c
        statement = (
            update(self.table)
            .where(table.user_id == user_id, table.purpose == purpose, table.used_at.is_(None))
            .values(used_at=now)
        )
        async with self._db.connection(in_transaction=True) as connection:
            await connection.execute(statement)


def _usable(token: str, purpose: AccountTokenPurpose, now: datetime) -> list[ColumnElement[bool]]:
    table = AccountToken.__table__.c
    return [
        table.token_hash == token_hash(token),
        table.purpose == purpose,
        table.used_at.is_(None),
        table.expires_at > now,
    ]
