from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, exists, or_, select, update

from lunchtogether.database import PreparedRead
from lunchtogether.models import Session, User
from lunchtogether.repositories.base import Listing, Repository
from lunchtogether.schemas.pagination import Keyset
from lunchtogether.schemas.session import SessionUser
from lunchtogether.schemas.user import UserInDB

_LIKE_ESCAPE = "\\"

# The users whose email or full name contains a pattern, case-insensitively.
_MATCHING_USERS = Listing(
    User.__table__,
    or_(
        User.email.ilike(bindparam("pattern"), escape=_LIKE_ESCAPE),
        User.full_name.ilike(bindparam("pattern"), escape=_LIKE_ESCAPE),
    ),
)

# Checked on every signed-in request: the user and their session's times, which decide whether
# the session's last use is written down and its token renewed, with no second statement.
_BY_SESSION = PreparedRead(
    select(
        User.__table__,
        Session.created_at.label("session_created_at"),
        Session.last_used_at.label("session_last_used_at"),
        Session.expires_at.label("session_expires_at"),
    )
    .join(Session, Session.user_id == User.id)
    .where(
        Session.id == bindparam("session_id"),
        User.id == bindparam("user_id"),
        Session.revoked_at.is_(None),
        Session.expires_at > bindparam("now"),
        User.is_active,
    )
)


class UserRepository(Repository[UserInDB]):
    model = User
    record = UserInDB
    conflict_message = "An account with this email already exists."

    async def get_by_email(self, email: str) -> UserInDB | None:
        return await self.get(User.email == email)

    async def exists_by_email(self, email: str) -> bool:
        async with self._db.connection() as connection:
            return bool((await connection.execute(select(exists().where(User.email == email)))).scalar())

    async def get_by_session(self, *, user_id: UUID, session_id: UUID, now: datetime) -> SessionUser | None:
        """The active owner of a live session and the session's times, in one round trip."""
        rows = await self._db.fetch(_BY_SESSION, {"session_id": session_id, "user_id": user_id, "now": now})
        if not rows:
            return None
        row = rows[0]
        return SessionUser(
            user=UserInDB.model_validate(row),
            session_created_at=row["session_created_at"],
            session_last_used_at=row["session_last_used_at"],
            session_expires_at=row["session_expires_at"],
        )

    async def mark_verified(self, user_id: UUID, *, email: str) -> UserInDB | None:
        """Marks the user verified if `email` is still their address; None (nothing changed) if not."""
        statement = (
            update(self.table)
            .where(User.id == user_id, User.email == email)
            .values(is_verified=True)
            .returning(self.table)
        )
        return await self._write(statement)

    async def search(self, term: str | None, *, limit: int, after: Keyset | None = None) -> list[UserInDB]:
        if not term:
            return await self.get_multi(limit=limit, after=after)
        return await self.get_multi(limit=limit, after=after, listing=_MATCHING_USERS, parameters=_pattern(term))

    async def count_search(self, term: str | None) -> int:
        return await self.count(_MATCHING_USERS, _pattern(term)) if term else await self.count()


def _pattern(term: str) -> dict[str, str]:
    """`term` anywhere, with `%` and `_` matching themselves."""
    escaped = term.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", r"\%").replace("_", r"\_")
    return {"pattern": f"%{escaped}%"}
