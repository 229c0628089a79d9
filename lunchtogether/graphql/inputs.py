from dataclasses import fields
from typing import Any

import strawberry


@strawberry.input
class RegisterInput:
    email: str
    password: str
    full_name: str


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input(description="Fields left out stay unchanged; an explicit null is refused.")
class UpdateUserInput:
    full_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET
    is_verified: bool | None = strawberry.UNSET
    is_superuser: bool | None = strawberry.UNSET


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class ResetPasswordInput:
    token: str
    new_password: str


def provided_fields(data: object) -> dict[str, Any]:
    """The fields the client sent, explicit nulls included; left-out ones are UNSET."""
    values = {f.name: getattr(data, f.name) for f in fields(data)}  # ty: ignore[invalid-argument-type]
    return {name: value for name, value in values.items() if value is not strawberry.UNSET}
