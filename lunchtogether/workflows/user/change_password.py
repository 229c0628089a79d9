from datetime import UTC, datetime

from lunchtogether.core.exceptions import AuthenticationError, InvalidInputError
from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.core.security import PasswordHasher
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import PASSWORD_IS_EMAIL, NewPassword, Password, password_resembles_email
from lunchtogether.workflows.user.authenticate import Identity


class ChangePasswordInput(InputModel):
    current_password: Password
    new_password: NewPassword


class ChangePasswordWorkflow:
    """Replaces the password and signs out every other session of the user."""

    def __init__(
        self,
        *,
        users: UserRepository,
        sessions: SessionRepository,
        hasher: PasswordHasher,
        limiter: AttemptLimiter,
        limits: AttemptLimits,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._limiter = limiter
        self._limits = limits

    async def execute(self, data: ChangePasswordInput, *, actor: Identity) -> None:
        # Each attempt costs two hashes: counted first, so aliases cannot multiply them.
        await self._limiter.hit(self._limits.change_password_per_user, str(actor.user.id))
        # Read again: an earlier mutation of the same request may have changed the password. The
        # read runs before the update begins the transaction, so no connection waits on the hashes.
        user = await self._users.get_by_id(actor.user.id)
        if user is None:
            raise AuthenticationError
        if not await self._hasher.verify(data.current_password, user.hashed_password):
            raise InvalidInputError({"currentPassword": "is incorrect"})
        if password_resembles_email(data.new_password, user.email):
            raise InvalidInputError({"newPassword": PASSWORD_IS_EMAIL})
        await self._users.update(user.id, {"hashed_password": await self._hasher.hash(data.new_password)})
        await self._sessions.revoke_all_for_user(user.id, now=datetime.now(UTC), keep=actor.session_id)
