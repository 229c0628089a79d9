"""The one place where errors become what the client reads."""

import logging
import re
from typing import Any

import sentry_sdk
from graphql import GraphQLError
from pydantic import ValidationError as PydanticValidationError

from lunchtogether.core.exceptions import DomainError, invalid_input_from_pydantic
from lunchtogether.core.http_errors import error_body

logger = logging.getLogger("lunchtogether.graphql")

_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)
# The value a coercion error quotes: after "found" (an input object), or after "value" (a scalar's
# "String cannot represent a non string value: {…}").
_QUOTED_VALUE = re.compile(r"(?:(?<=[Ff]ound)|(?<=value)): .*$", re.DOTALL)

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
INTERNAL_ERROR_MESSAGE = "Internal server error."


def is_request_error(error: GraphQLError) -> bool:
    """A parse, validation or variable error of graphql-core's own: nothing was executed."""
    return error.path is None and _cause(error) is None


def _cause(error: GraphQLError) -> Exception | None:
    """The exception behind an error; None for graphql-core's own (which may wrap another)."""
    cause = error.original_error
    return None if isinstance(cause, GraphQLError) else cause


def format_error(error: GraphQLError, *, request_id: str, hide_suggestions: bool) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    # graphql-core quotes a whole invalid variable back, passwords included.
    formatted["message"] = _without_variable_values(formatted["message"])
    if hide_suggestions:
        # graphql-core suggests names for fields, arguments, input fields and types alike.
        formatted["message"] = _SUGGESTION.sub("", formatted["message"])
    cause = _cause(error)
    if isinstance(cause, PydanticValidationError):
        cause = invalid_input_from_pydantic(cause)
    if isinstance(cause, DomainError):
        formatted["message"] = cause.message
        formatted["extensions"] = cause.extensions
    elif cause is not None:
        report_unexpected(cause, where=error.path or "the operation")
        formatted["message"] = INTERNAL_ERROR_MESSAGE
        formatted["extensions"] = internal_error_extensions(request_id)
    return formatted


def internal_error_body(exc: Exception, request_id: str) -> dict[str, Any]:
    """The answer to a failure outside the resolvers: still a GraphQL error, never a bare 500."""
    report_unexpected(exc, where="the request")
    return error_body(INTERNAL_ERROR_MESSAGE, **internal_error_extensions(request_id))


def report_unexpected(exc: BaseException, *, where: object) -> None:
    """The full error goes to the log and Sentry; the client only learns the request id."""
    logger.error("Unexpected error at %s", where, exc_info=exc)
    sentry_sdk.capture_exception(exc)


def _without_variable_values(message: str) -> str:
    """`Variable '$i' has invalid value: …, found: {…}.` and `Variable '$i' has invalid value at .a:
    String cannot represent a non string value: {…}` keep all but the value."""
    if not message.startswith("Variable '$"):
        return message
    where, separator, reason = message.partition(": ")  # `where` ends in "has invalid value[ at .path]"
    return where + separator + _QUOTED_VALUE.sub(": (not shown).", reason, count=1)


def internal_error_extensions(request_id: str) -> dict[str, Any]:
    return {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}
