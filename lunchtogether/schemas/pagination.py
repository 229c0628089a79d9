from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, Field

from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import SafeText

MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 100

PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
SearchTerm = Annotated[SafeText, Field(max_length=MAX_SEARCH_LENGTH)]


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page ends: rows come newest first, ties broken by the larger id."""

    created_at: datetime
    id: UUID


class PageRequest(InputModel):
    """A page as the client asks for it; `after` is still the opaque cursor it was given."""

    first: PageSize
    after: SafeText | None = None


class SearchPageRequest(PageRequest):
    search: SearchTerm | None = None


class Page[RecordT](BaseModel):
    """One page of records in keyset order (newest first), and whether pages lie on either side."""

    items: list[RecordT]
    has_next_page: bool
    has_previous_page: bool

    @classmethod
    def of(cls, rows: Sequence[RecordT], *, first: int, has_previous_page: bool) -> Self:
        """From the `first + 1` rows a workflow fetched: the extra one only tells that a next page exists."""
        return cls(items=list(rows[:first]), has_next_page=len(rows) > first, has_previous_page=has_previous_page)


class Count(BaseModel):
    """How many records a listing holds across all its pages."""

    total: int
