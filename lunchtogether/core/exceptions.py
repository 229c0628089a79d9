"""Domain errors. Each carries the GraphQL error code it is answered with, so the
mapping to the wire happens once, in `graphql/errors.py`."""

from collections.abc import Mapping
from typing import ClassVar

from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel


class DomainError(Exception):
    code: ClassVar[str]
    default_message: ClassVar[str]

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code}


class InvalidInputError(DomainError):
    code = "BAD_USER_INPUT"
    default_message = "Invalid input."

    def __init__(self, fields: Mapping[str, str], message: str | None = None) -> None:
        self.fields = dict(fields)
        # The message is what most client UIs show: it names each field, as `extensions.fields` does.
        super().__init__(message or "; ".join(f"{name} {problem}" for name, problem in self.fields.items()) or None)

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "fields": self.fields}


INVALID_LINK_MESSAGE = "This link is invalid or has expired; ask for a new one."


class InvalidLinkError(InvalidInputError):
    """A link token that is unknown, used, superseded or expired: one answer for all, so none is told apart."""

    def __init__(self) -> None:
        super().__init__({"token": "is invalid or has expired"}, INVALID_LINK_MESSAGE)


class AuthenticationError(DomainError):
    code = "UNAUTHENTICATED"
    default_message = "You must be signed in."


class InvalidCredentialsError(AuthenticationError):
    # One message for an unknown email, a wrong password and an inactive account.
    default_message = "Wrong email or password."


class PermissionDeniedError(DomainError):
    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class NotFoundError(DomainError):
    code = "NOT_FOUND"
    default_message = "Not found."


class ConflictError(DomainError):
    code = "CONFLICT"
    default_message = "This conflicts with existing data."


class RateLimitedError(DomainError):
    code = "RATE_LIMITED"
    default_message = "Too many attempts; try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryAfter": self.retry_after}


def invalid_input_from_pydantic(exc: PydanticValidationError) -> InvalidInputError:
    """Name each bad field as the client spells it: in camelCase, as GraphQL does."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = to_camel(str(error["loc"][0])) if error["loc"] else "input"
        message = error["msg"]
        fields.setdefault(name, message[:1].lower() + message[1:])  # "first input should be …"
    return InvalidInputError(fields)


class EmailDeliveryError(Exception):
    """The mail server could not take a message: it is retried later, so this is a delay, not a loss.

    Not a `DomainError`: no client ever sees it (nothing a request does waits for a mail server).
    `reason` is short and safe to store and log: the server's code and answer, never the message.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
