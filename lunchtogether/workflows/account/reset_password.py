from datetime import UTC, datetime

from lunchtogether.core.exceptions import InvalidInputError, InvalidLinkError
from lunchtogether.core.security import PasswordHasher
from lunchtogether.emails import AccountEmails
from lunchtogether.models import AccountTokenPurpose
from lunchtogether.repositories.account_token import AccountTokenRepository
from lunchtogether.repositories.email_outbox import EmailOutboxRepository
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import PASSWORD_IS_EMAIL, NewPassword, password_resembles_email


class ResetPasswordInput(InputModel):
    token: str
    """As the client sent it: whatever is no token of ours is answered as an unknown one."""
    new_password: NewPassword


class ResetPasswordWorkflow:
    """Sets a new password through a reset link, and ends everything the old password opened.

    Every session ends (whoever asked for the reset may not be the one signed in), the user's other
    reset links stop working, the address counts as verified (the link reached it), and a notice
    goes to it.
    """

    def __init__(
        self,
        *,
        users: UserRepository,
        sessions: SessionRepository,
        tokens: AccountTokenRepository,
        outbox: EmailOutboxRepository,
        emails: AccountEmails,
        hasher: PasswordHasher,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._tokens = tokens
        self._outbox = outbox
        self._emails = emails
        self._hasher = hasher

    async def execute(self, data: ResetPasswordInput) -> None:
        purpose = AccountTokenPurpose.RESET_PASSWORD
        # Checked before the hash, so that bad tokens cost no CPU, and read before the transaction
        # begins, so that no connection waits on the hash; `consume` below decides, atomically.
        link = await self._tokens.find_usable(data.token, purpose=purpose, now=datetime.now(UTC))
        if link is None:
            raise InvalidLinkError
        user = await self._users.get_by_id(link.user_id)
        if user is None or not user.is_active:
            raise InvalidLinkError
        # Refused before the link is used: the user can try another password with the same link.
        if password_resembles_email(data.new_password, user.email):
            raise InvalidInputError({"newPassword": PASSWORD_IS_EMAIL})
        hashed_password = await self._hasher.hash(data.new_password)
        now = datetime.now(UTC)
        if await self._tokens.consume(data.token, purpose=purpose, now=now) is None:
            raise InvalidLinkError  # used by a request racing this one
        changes = {"hashed_password": hashed_password} | ({"is_verified": True} if link.email == user.email else {})
        await self._users.update(user.id, changes)
        await self._sessions.revoke_all_for_user(user.id, now=now)
        await self._tokens.end_pending(user.id, purpose=purpose, now=now)
        await self._outbox.add(self._emails.password_was_reset(user.email), user_id=user.id)
