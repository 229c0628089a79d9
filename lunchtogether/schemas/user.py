from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from lunchtogether.schemas.base import InputModel, RecordModel
from lunchtogether.schemas.fields import (
    PASSWORD_IS_EMAIL,
    Email,
    FullName,
    NewPassword,
    Password,
    password_resembles_email,
)


class UserCreate(InputModel):
    # Email first: the password rule compares against it.
    email: Email
    password: NewPassword
    full_name: FullName

    @field_validator("password")
    @classmethod
    def _password_is_not_the_email(cls, password: str, info: ValidationInfo) -> str:
        email = info.data.get("email")
        if email and password_resembles_email(password, email):
            raise PydanticCustomError("password", PASSWORD_IS_EMAIL)
        return password


class UserLogin(InputModel):
    email: Email
    password: Password


class UserUpdate(InputModel):
    """A partial update: a field left out is unchanged; an explicit null is refused."""

    full_name: FullName | None = None
    email: Email | None = None
    is_active: bool | None = None
    is_verified: bool | None = None
    is_superuser: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null", "must not be null; leave the field out to keep it")
        return value

    @property
    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)

    @property
    def changes_flags(self) -> bool:
        return bool(self.model_fields_set & {"is_active", "is_verified", "is_superuser"})


class UserResponse(RecordModel):
    """A user as the rest of the app sees one: everything but the password hash."""

    id: UUID
    email: str
    full_name: str
    avatar_key: str | None
    """Where the avatar is in `core.storage`; None without one. Its URL is the storage backend's to make."""
    is_active: bool
    is_verified: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime


class UserInDB(UserResponse):
    hashed_password: str
