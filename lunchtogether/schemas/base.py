from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class InputModel(BaseModel):
    """Client input. Errors name fields in camelCase, as the client wrote them."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True, strict=True
    )


class RecordModel(BaseModel):
    """A row as read from the database."""

    model_config = ConfigDict(from_attributes=True, frozen=True)
