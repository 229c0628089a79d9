from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, case, select, update

from lunchtogether.models import Session
from lunchtogether.repositories.base import Repository
from lunchtogether.schemas.session import SessionInDB


class SessionRepository(Repository[SessionInDB]):
    model = Session
    record = SessionInDB

    async def list_live_for_user(self, user_id: UUID, *, now: datetime) -> list[SessionInDB]:
        """The user's sessions that have not ended, most recently used first."""
        statement = (
            select(Session.__table__)
            .where(Session.user_id == user_id, *_live(now))
            .order_by(Session.last_used_at.desc(), Session.created_at.desc(), Session.id.desc())
        )
        return await self._fetch_all(statement)

    async def mark_used(self, session_id: UUID, *, now: datetime, stale_before: datetime) -> None:
        """Sets the last use to `now` unless it is after `stale_before`: a second process that
        saw the same stale value writes nothing. Never part of a mutation's transaction."""
        statement = (
            update(Session)
            .where(Session.id == session_id, Session.last_used_at < stale_before)
            .values(last_used_at=now)
        )
        await self._db.execute_aside(statement)

    async def extend(self, session_id: UUID, *, expires_at: datetime, now: datetime) -> bool:
        """Moves a live session's end to `expires_at` (its newest token's `exp`), never back: two
        concurrent renewals leave the later end. False when the session has ended meanwhile."""
        statement = (
            update(Session)
            .where(Session.id == session_id, *_live(now))
            .values(
                expires_at=case((Session.expires_at < expires_at, expires_at), else_=Session.expires_at),
                last_used_at=now,
            )
            .returning(Session.id)
        )
        return bool(await self._db.fetch_in_transaction(statement))

    async def revoke(self, session_id: UUID, *, now: datetime) -> bool:
        return await self._revoke_where(Session.id == session_id, now=now) > 0

    async def revoke_for_user(self, session_id: UUID, *, user_id: UUID, now: datetime) -> bool:
        """Ends one live session of `user_id`; False for an ended one or another user's."""
        return await self._revoke_where(Session.id == session_id, Session.user_id == user_id, *_live(now), now=now) > 0

    async def revoke_all_for_user(self, user_id: UUID, *, now: datetime, keep: UUID | None = None) -> int:
        conditions = [Session.user_id == user_id]
        if keep is not None:
            conditions.append(Session.id != keep)
        return await self._revoke_where(*conditions, now=now)

    async def _revoke_where(self, *where: object, now: datetime) -> int:
        statement = (
            update(Session)
            .where(*where, Session.revoked_at.is_(None))  # ty: ignore[invalid-argument-type]
            .values(revoked_at=now)
        )
        async with self._db.connection(in_transaction=True) as connection:
            result = await connection.execute(statement)
        return result.rowcount


def _live(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """A session that has not ended: neither revoked nor past its newest token's expiry."""
    return (Session.revoked_at.is_(None), Session.expires_at > now)
