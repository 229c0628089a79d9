from pydantic import BaseModel

from lunchtogether.core.exceptions import ConflictError
from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits
from lunchtogether.core.security import PasswordHasher
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.user import UserCreate, UserResponse


class RegisterInput(UserCreate):
    pass


class RegisterOutput(BaseModel):
    user: UserResponse


class RegisterWorkflow:
    """Creates an account. It does not sign in: that is `LoginWorkflow`'s job."""

    def __init__(
        self, *, users: UserRepository, hasher: PasswordHasher, limiter: AttemptLimiter, limits: AttemptLimits
    ) -> None:
        self._users = users
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
        return RegisterOutput(user=user)
