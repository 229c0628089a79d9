from os import PathLike
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

# Stored names are generated and never reused, so a file at a URL never changes.
IMMUTABLE = "public, max-age=31536000, immutable"


class MediaFiles(StaticFiles):
    """Locally stored uploads at `/media/...`: the type from the name this server gave them."""

    def __init__(self, directory: str | PathLike[str]) -> None:
        # Made now: before the first upload a missing file must be a 404, not a missing directory's 500.
        Path(directory).mkdir(parents=True, exist_ok=True)
        super().__init__(directory=directory)

    def file_response(self, full_path: str | PathLike[str], *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(full_path, *args, **kwargs)
        response.headers["Cache-Control"] = IMMUTABLE
        return response
