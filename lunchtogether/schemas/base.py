from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """What a workflow is given, and the client input it is made of: the one base of every input.

    Callers (resolvers, the CLI, the request's authentication) hand over values already typed,
    a UUID as a UUID: strict, so nothing is coerced behind their back. Frozen, so a workflow
    cannot change what its caller passed.
    """

    model_config = ConfigDict(frozen=True, strict=True)


class RecordModel(BaseModel):
    """A row as read from the database."""

    model_config = ConfigDict(from_attributes=True, frozen=True)
