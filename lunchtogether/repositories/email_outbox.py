from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, literal, select, update

from lunchtogether.database import RequestDatabase
from lunchtogether.models import OutboxEmail, User
from lunchtogether.repositories.base import Repository
from lunchtogether.schemas.email import EmailMessage, OutboxEmailInDB


class EmailOutboxRepository(Repository[OutboxEmailInDB]):
    """The messages waiting to be sent. Senders claim them (`claim_due`), then delete or reschedule each."""

    model = OutboxEmail
    record = OutboxEmailInDB

    def __init__(self, db: RequestDatabase, *, on_stored: Callable[[], None] | None = None) -> None:
        super().__init__(db)
        self._on_stored = on_stored

    async def add(self, message: EmailMessage, *, user_id: UUID | None) -> OutboxEmailInDB:
        """Stores `message` in the request's transaction: it is sent only if the change that caused it commits."""
        stored = await self.create(message.model_dump() | {"user_id": user_id})
        self._ring_after_commit()
        return stored

    async def claim_due(self, *, now: datetime, until: datetime, limit: int) -> list[OutboxEmailInDB]:
        """At most `limit` messages due by `now`, oldest due first, now held by the caller until `until`.

        One statement, so the choice and the hold commit together: PostgreSQL skips the rows another
        sender is claiming at this moment (`FOR UPDATE SKIP LOCKED`), and rows it claimed before are not
        due any more. SQLite runs one writer at a time and has no `FOR UPDATE` (SQLAlchemy leaves it out).
        A sender that stops while holding messages leaves them to be claimed again after `until`.
        """
        table = self.table
        due = (
            select(table.c.id)
            .where(table.c.next_attempt_at <= now)
            .order_by(table.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(table).where(table.c.id.in_(due.scalar_subquery())).values(next_attempt_at=until).returning(table)
        )
        return [self.record.model_validate(row) for row in await self._db.fetch_in_transaction(claim)]

    async def reschedule(self, id: UUID, *, at: datetime, error: str) -> None:
        """Records a failed attempt and when to try again."""
        table = self.table
        statement = (
            update(table)
            .where(table.c.id == id)
            .values(attempts=table.c.attempts + 1, last_error=error, next_attempt_at=at)
            .returning(table.c.id)
        )
        await self._db.fetch_in_transaction(statement)

    async def add_for_active_account(self, message: EmailMessage) -> None:
        """Stores `message` only if an active account has its recipient address, in one INSERT … SELECT either way.

        As `AccountTokenRepository.issue_for_active_account`: the same statement for a known address and an
        unknown one, so that neither the caller nor a client timing it learns which it was.
        """
        users = User.__table__.c
        columns = {"user_id": users.id} | {name: literal(value) for name, value in message.model_dump().items()}
        rows = select(*columns.values()).where(users.email == message.recipient, users.is_active)
        async with self._db.connection(in_transaction=True) as connection:
            await connection.execute(insert(self.table).from_select(list(columns), rows))
        self._ring_after_commit()

    def _ring_after_commit(self) -> None:
        """Once committed, `on_stored` tells this process's sender, which would otherwise find it at its next poll."""
        if self._on_stored is not None:
            self._db.after_commit(self._on_stored)
