from lunchtogether.core.exceptions import AuthenticationError, InvalidInputError
from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.core.security import PasswordHasher
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import Password
from lunchtogether.schemas.user import UserResponse
from lunchtogether.workflows.user.delete_user import DeleteUserInput, DeleteUserWorkflow


class DeleteAccountInput(InputModel):
    password: Password


class DeleteAccountWorkflow:
    """Deletes the signed-in user's own account once their password confirms it, as `delete-user` would.

    The password guards against a session left open on a shared device. Its attempts count towards
    the `changePassword` limit: both are a password guess on the same account.
    """

    def __init__(
        self,
        *,
        users: UserRepository,
        hasher: PasswordHasher,
        delete_user: DeleteUserWorkflow,
        limiter: AttemptLimiter,
        limits: AttemptLimits,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._delete_user = delete_user
        self._limiter = limiter
        self._limits = limits

    async def execute(self, data: DeleteAccountInput, *, actor: UserResponse) -> None:
        await self._limiter.hit(self._limits.change_password_per_user, str(actor.id))
        # Read again, as `ChangePasswordWorkflow` does: an earlier mutation of the request may have changed it.
        user = await self._users.get_by_id(actor.id)
        if user is None:
            raise AuthenticationError
        if not await self._hasher.verify(data.password, user.hashed_password):
            raise InvalidInputError({"password": "is incorrect"})
        # The password stood in for the superuser's permission: this is the operator's path.
        output = await self._delete_user.execute(DeleteUserInput(user_id=user.id), actor=None)
        if not output.deleted:
            raise AuthenticationError  # deleted by a request racing this one
