from typing import Annotated

from pydantic import Field

from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.fields import SafeText

MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 100


class PageRequest(InputModel):
    first: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
    after: SafeText | None = None
    search: Annotated[SafeText, Field(max_length=MAX_SEARCH_LENGTH)] | None = None
