from datetime import datetime
from uuid import UUID

from sqlalchemy import update

from lunchtogether.models import Session
from lunchtogether.repositories.base import Repository
from lunchtogether.schemas.session import SessionInDB


class SessionRepository(Repository[SessionInDB]):
    model = Session
    record = SessionInDB

    async def revoke(self, token_id: UUID, *, now: datetime) -> bool:
        return await self._revoke_where(Session.id == token_id, now=now) > 0

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
