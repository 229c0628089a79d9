"""The explorer: GraphiQL at `GET /graphql` in development, served entirely by this server.

Its page loads every script, style sheet and font from `static/` (GraphiQL, React and the fonts at
pinned versions beside their licences, see `static/ASSETS.md`; refreshed by `refresh_assets.py`),
so it works with no internet access, under a Content-Security-Policy that names no other origin
and allows no inline script. In production none of it is mounted.
"""

from pathlib import Path
from string import Template
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphql/explorer"
STATIC = Path(__file__).parent / "static"
# Inline style is allowed because GraphiQL's dialogs (Radix's scroll lock) add a <style> element
# whose text depends on the browser's scrollbar width, so no hash can name it; inline script is not.
EXPLORER_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
REVALIDATE = "no-cache"

_PAGE = Template((Path(__file__).parent / "page.html").read_text()).substitute(assets=ASSETS_PATH)


def explorer_page() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": EXPLORER_CSP})


class ExplorerAssets(StaticFiles):
    """The page's scripts, styles and fonts. Their names carry no version, so a browser keeps its
    copies and revalidates them by ETag: after an upgrade it gets the new files at once."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC)

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = REVALIDATE
        return response


def explorer_routes(enabled: bool) -> list[Mount]:
    """The assets' routes, only where the explorer is on: elsewhere their paths are 404s."""
    return [Mount(ASSETS_PATH, app=ExplorerAssets(), name="explorer")] if enabled else []
