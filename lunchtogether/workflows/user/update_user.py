from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from lunchtogether.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from lunchtogether.emails import AccountEmails
from lunchtogether.policies.user import can_update_user
from lunchtogether.repositories.email_outbox import EmailOutboxRepository
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserInDB, UserResponse, UserUpdate
from lunchtogether.workflows.account.send_verification_link import (
    SendVerificationLinkInput,
    SendVerificationLinkWorkflow,
)


class UpdateUserInput(InputModel):
    user_id: UUID
    changes: UserUpdate


class UpdateUserOutput(BaseModel):
    user: UserResponse


class UpdateUserWorkflow:
    """Changes an account's fields, as `can_update_user` allows; deactivation signs it out everywhere.

    A new email address is unverified until its own link is used: the old address's links stop
    working, and the old address is told of the change (without a link: it may no longer be the owner's).
    """

    def __init__(
        self,
        *,
        users: UserRepository,
        sessions: SessionRepository,
        outbox: EmailOutboxRepository,
        emails: AccountEmails,
        send_link: SendVerificationLinkWorkflow,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._outbox = outbox
        self._emails = emails
        self._send_link = send_link

    async def execute(self, data: UpdateUserInput, *, actor: UserInDB) -> UpdateUserOutput:
        # Before the lookup, so that a refusal tells a non-superuser nothing of other ids.
        if not can_update_user(actor, data.user_id, data.changes):
            raise PermissionDeniedError
        # These reads run before the update begins the transaction. What changes in between is
        # still caught there: a deleted target updates no row, a taken email breaks the unique index.
        target = await self._users.get_by_id(data.user_id)
        if target is None:
            raise NotFoundError("No user has this id.")
        changes = data.changes.changes
        email_changes = changes.get("email", target.email) != target.email
        if email_changes:
            if await self._users.exists_by_email(changes["email"]):
                raise ConflictError(UserRepository.conflict_message)
            # A superuser who sets the flag in the same change has the last word.
            changes.setdefault("is_verified", False)
        user = await self._users.update(target.id, changes) if changes else target
        if user is None:
            raise NotFoundError("No user has this id.")
        now = datetime.now(UTC)
        if target.is_active and not user.is_active:
            # Deactivation signs the user out everywhere, and reactivation revives no old token.
            await self._sessions.revoke_all_for_user(user.id, now=now)
        if email_changes:
            await self._send_link.execute(SendVerificationLinkInput(user_id=user.id, email=user.email, now=now))
            await self._outbox.add(self._emails.email_changed(target.email, new_email=user.email), user_id=user.id)
        return UpdateUserOutput(user=user)
