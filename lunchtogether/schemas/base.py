from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """Client input, already typed by GraphQL: strict, so nothing is coerced behind its back."""

    model_config = ConfigDict(frozen=True, strict=True)


class RecordModel(BaseModel):
    """A row as read from the database."""

    model_config = ConfigDict(from_attributes=True, frozen=True)
