from uuid import UUID

from lunchtogether.models import OutboxEmail
from lunchtogether.repositories.base import Repository
from lunchtogether.schemas.email import EmailMessage, OutboxEmailInDB


class EmailOutboxRepository(Repository[OutboxEmailInDB]):
    model = OutboxEmail
    record = OutboxEmailInDB

    async def add(self, message: EmailMessage, *, user_id: UUID | None) -> OutboxEmailInDB:
        """Stores `message` in the request's transaction: it is sent only if the change that caused it commits."""
        return await self.create(message.model_dump() | {"user_id": user_id})
