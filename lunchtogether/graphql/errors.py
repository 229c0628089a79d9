"""The one place where errors become what the client reads."""

import logging
import re
from typing import Any

import sentry_sdk
from graphql import GraphQLError
from pydantic import ValidationError as PydanticValidationError

from lunchtogether.core.exceptions import DomainError, invalid_input_from_pydantic

logger = logging.getLogger("lunchtogether.graphql")

_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
BAD_REQUEST = "BAD_REQUEST"


def is_request_error(error: GraphQLError) -> bool:
    """A parse, validation or variable error of graphql-core's own: nothing was executed."""
    return error.path is None and _cause(error) is None


def _cause(error: GraphQLError) -> Exception | None:
    """The exception behind an error; None for graphql-core's own (which may wrap another)."""
    cause = error.original_error
    return None if isinstance(cause, GraphQLError) else cause


def format_error(error: GraphQLError, *, request_id: str, hide_suggestions: bool) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
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
        logger.error("Unexpected error at %s", error.path or "the operation", exc_info=cause)
        sentry_sdk.capture_exception(cause)
        formatted["message"] = "Internal server error."
        formatted["extensions"] = internal_error_extensions(request_id)
    return formatted


def internal_error_extensions(request_id: str) -> dict[str, Any]:
    return {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
