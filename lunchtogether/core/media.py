from os import PathLike
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

# Stored names are generated and never reused, so a file at a URL never changes.
IMMUTABLE = "public, max-age=31536000, immutable"


class MediaFiles(StaticFiles):
    """Locally stored uploads at `/media/...`: the type from the name this server gave them."""

    def __init__(self, directory: str | PathLike[str]) -> None:
        super().__init__(directory=directory, check_dir=False)

    def file_response(self, full_path: str | PathLike[str], *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(full_path, *args, **kwargs)
        response.headers["Cache-Control"] = IMMUTABLE
        return response
