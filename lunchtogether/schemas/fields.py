"""Validated field types shared by the schemas: each input rule of docs/api.md lives here once."""

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from lunchtogether.models.user import EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH

PASSWORD_MIN_CHARACTERS = 8
PASSWORD_MAX_BYTES = 72  # bcrypt refuses anything longer
MAX_TEXT_LENGTH = 1000

# The most used passwords that pass the length rule; a short list, not a breach corpus.
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password12",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "87654321",
        "11111111",
        "00000000",
        "qwertyui",
        "qwertyuiop",
        "qwerty123",
        "1q2w3e4r",
        "1qaz2wsx",
        "abc12345",
        "abcd1234",
        "iloveyou",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "superman",
        "trustno1",
        "letmein1",
        "welcome1",
        "changeme",
        "asdfghjk",
        "zaq12wsx",
    }
)


def _text(value: object) -> object:
    """Refuse what no column should hold: NUL bytes and lone surrogates never reach the driver."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_TEXT_LENGTH:
        raise PydanticCustomError("too_long", "must be at most {max} characters", {"max": MAX_TEXT_LENGTH})
    if "\x00" in value:
        raise PydanticCustomError("nul", "must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError("unicode", "must be valid Unicode text") from None
    return value


def _email(value: str) -> str:
    value = value.strip()
    try:
        address = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise PydanticCustomError("email", "must be a valid email address") from None
    if len(address) > EMAIL_MAX_LENGTH:
        raise PydanticCustomError("email", "must be a valid email address")
    return address.lower()


def email_for_lookup(value: str) -> str:
    """An address as accounts store it; text that is no valid address stays (lower-cased) and so matches none."""
    try:
        return _email(value)
    except PydanticCustomError:
        return value.strip().lower()


def _new_password(value: str) -> str:
    if len(value) < PASSWORD_MIN_CHARACTERS:
        raise PydanticCustomError("password", "must be at least {min} characters", {"min": PASSWORD_MIN_CHARACTERS})
    if value.lower() in COMMON_PASSWORDS:
        raise PydanticCustomError("password", "is too common; choose another")
    return _password(value)


def _password(value: str) -> str:
    if not value:
        raise PydanticCustomError("password", "must not be empty")
    if len(value.encode()) > PASSWORD_MAX_BYTES:
        raise PydanticCustomError("password", "must be at most {max} bytes", {"max": PASSWORD_MAX_BYTES})
    return value


PASSWORD_IS_EMAIL = "must not be your email address"


def password_resembles_email(password: str, email: str) -> bool:
    return password.strip().lower() in {email, email.split("@")[0]}


def _full_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("full_name", "must not be empty")
    if len(value) > FULL_NAME_MAX_LENGTH:
        raise PydanticCustomError("full_name", "must be at most {max} characters", {"max": FULL_NAME_MAX_LENGTH})
    return value


SafeText = Annotated[str, BeforeValidator(_text)]
Email = Annotated[SafeText, AfterValidator(_email)]
Password = Annotated[SafeText, AfterValidator(_password)]
"""A password as typed at sign-in: any length bcrypt accepts."""
NewPassword = Annotated[SafeText, AfterValidator(_new_password)]
"""A password being chosen: long enough, short enough for bcrypt, not a common one."""
FullName = Annotated[SafeText, AfterValidator(_full_name)]
