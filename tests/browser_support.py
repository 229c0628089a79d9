"""A real browser for tests: Debian's Chromium driven by Playwright's library.

Playwright never downloads a browser here: it launches the machine's `chromium` (or `$CHROMIUM`).
Without one the browser tests are skipped with one line, and under `CI` they fail instead.
"""

import os
import shutil
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Route, async_playwright

# Chromium as root in a container, with nothing of its own that calls home: on this machine's
# closed network its background connections would only be refused.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


def require_chromium() -> str:
    """The browser's path; skips the calling test without one (under `CI` fails it instead)."""
    if (path := chromium_path()) is not None:
        return path
    reason = "no Chromium: install Debian's `chromium` (or set CHROMIUM) to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {reason}")
    pytest.skip(reason)


@asynccontextmanager
async def chromium() -> AsyncGenerator[Browser]:
    """A headless Chromium, closed on exit."""
    path = require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            await browser.close()


async def allow_only(context: BrowserContext, *origins: str) -> list[str]:
    """Limits the context's network to `origins` (`http://127.0.0.1:8000`); every other request
    is aborted and its URL appended to the list returned, for the test to assert on."""
    allowed = {_origin(origin) for origin in origins}
    refused: list[str] = []

    async def route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in {"data", "blob"} or _origin(url) in allowed:
            await route.continue_()
        else:
            refused.append(url)
            await route.abort("blockedbyclient")

    await context.route("**/*", route)
    return refused


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
