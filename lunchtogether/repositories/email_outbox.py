from uuid import UUID

from sqlalchemy import insert, literal, select

from lunchtogether.models import OutboxEmail, User
from lunchtogether.repositories.base import Repository
from lunchtogether.schemas.email import EmailMessage, OutboxEmailInDB


class EmailOutboxRepository(Repository[OutboxEmailInDB]):
    model = OutboxEmail
    record = OutboxEmailInDB

    async def add(self, message: EmailMessage, *, user_id: UUID | None) -> OutboxEmailInDB:
        """Stores `message` in the request's transaction: it is sent only if the change that caused it commits."""
        return await self.create(message.model_dump() | {"user_id": user_id})

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
