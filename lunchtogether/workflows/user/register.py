from datetime import UTC, datetime

from pydantic import BaseModel

from lunchtogether.core.exceptions import ConflictError
from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.core.security import PasswordHasher
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.user import UserCreate, UserResponse
from lunchtogether.workflows.account.send_verification_link import (
    SendVerificationLinkInput,
    SendVerificationLinkWorkflow,
)


class RegisterInput(UserCreate):
    pass


class RegisterOutput(BaseModel):
    user: UserResponse


class RegisterWorkflow:
    """Creates an account and sends a link to verify its address. It does not sign in: that is `LoginWorkflow`'s job."""

    def __init__(
        self,
        *,
        users: UserRepository,
        hasher: PasswordHasher,
        send_link: SendVerificationLinkWorkflow,
        limiter: AttemptLimiter,
        limits: AttemptLimits,
    ) -> None:
        self._users = users
        self._send_link = send_link
        self._hasher = hasher
        self._limiter = limiter
        self._limits = limits

    async def execute(self, data: RegisterInput, *, client_ip: str | None, superuser: bool = False) -> RegisterOutput:
        """`client_ip` None is an operator's own call (the CLI), which no limit applies to."""
        if client_ip is not None:
            await self._limiter.hit(self._limits.register_per_ip, client_ip)
        # Checked before hashing to spare the CPU; a registration racing this one
        # is still caught by the unique index, as a ConflictError from `create`.
        if await self._users.exists_by_email(data.email):
            raise ConflictError(UserRepository.conflict_message)
        user = await self._users.create(
            {
                "email": data.email,
                "hashed_password": await self._hasher.hash(data.password),
                "full_name": data.full_name,
                "is_superuser": superuser,
            }
        )
        # Not counted towards the limit of `requestEmailVerification`: the registration limit bounds it.
        link = SendVerificationLinkInput(user_id=user.id, email=user.email, now=datetime.now(UTC))
        await self._send_link.execute(link)
        return RegisterOutput(user=user)
