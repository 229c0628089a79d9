"""The explorer: GraphiQL served by this server alone, under a policy that names no other origin.

The tests on the app run once (`ONCE`, on PostgreSQL): the page and its files do not depend on the
database. The browser's server is a real `lunchtogether serve` process on PostgreSQL.
"""

import hashlib
import re
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Page, Request, expect
from playwright.async_api import Error as PlaywrightError

from lunchtogether.explorer import STATIC
from tests.browser_support import allow_only, chromium
from tests.support import LOGIN, PASSWORD, PRODUCTION_EMAIL, GraphQL

ONCE = pytest.mark.parametrize("suite_pass", ["postgresql"], indirect=True)

PAGE = {"Accept": "text/html"}
# The only sources a directive may name: none of them is another origin.
SOURCES_NAMING_NO_ORIGIN = frozenset({"'self'", "'none'", "'unsafe-inline'", "data:"})
TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2"}
OURS = frozenset({"explorer.js", "explorer.css", "ASSETS.md"})
EMAIL = "ann@example.com"
UI_TIMEOUT_MS = 30_000  # a bound for a busy machine, not a measurement


def policy_of(response: httpx.Response) -> dict[str, list[str]]:
    directives = (part.split() for part in response.headers["content-security-policy"].split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def references(text: str, pattern: str, base: str) -> list[str]:
    """The URLs a page or style sheet refers to, resolved against its own; data: URLs left out."""
    found = (match.strip("'\"") for match in re.findall(pattern, text))
    return [urljoin(base, url) for url in found if not url.startswith("data:")]


async def assets_of_page(client: httpx.AsyncClient) -> list[str]:
    """Every script, style sheet and font the page loads: its own, then those of its style sheets."""
    page = await client.get("/graphql", headers=PAGE)
    assets = references(page.text, r'(?:src|href)="([^"]+)"', "http://testserver/graphql")
    sheets = [url for url in assets if url.endswith(".css")]
    for sheet in sheets:
        assets += references((await client.get(sheet)).text, r"url\(([^)]+)\)", sheet)
    return assets


@ONCE
async def test_the_page_names_no_other_origin_and_runs_no_inline_script(client):
    response = await client.get("/graphql", headers=PAGE)

    policy = policy_of(response)
    named = {source for sources in policy.values() for source in sources}
    assert named <= SOURCES_NAMING_NO_ORIGIN, named - SOURCES_NAMING_NO_ORIGIN
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "<script>" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


@ONCE
async def test_every_script_style_sheet_and_font_is_served_here_with_its_type(client):
    assets = await assets_of_page(client)

    assert {Path(urlsplit(url).path).suffix for url in assets} == set(TYPES)
    for url in assets:
        assert urlsplit(url).netloc == "testserver", url
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] == TYPES[Path(url).suffix], url


@ONCE
async def test_a_browser_revalidates_its_copy_of_an_asset(client):
    first = await client.get("/graphql/explorer/explorer.js")

    again = await client.get("/graphql/explorer/explorer.js", headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304


@ONCE
@pytest.mark.parametrize("path", ["/graphql/explorer/..%2F__init__.py", "/graphql/explorer/%2e%2e/page.html"])
async def test_nothing_outside_the_assets_is_served(client, path):
    response = await client.get(path)

    assert response.status_code == 404


@ONCE
async def test_production_serves_neither_the_page_nor_its_assets(client, make_app):
    assets = await assets_of_page(client)
    production = make_app(environment="production", **PRODUCTION_EMAIL).client

    page = await production.get("/graphql", headers=PAGE)

    assert "graphiql" not in page.text.lower()
    assert [(await production.get(url)).status_code for url in assets] == [404] * len(assets)


def test_every_third_party_file_is_the_one_its_manifest_names():
    """`ASSETS.md` is written with the files (refresh_assets.py): a file changed by hand, or added
    without it, would be served without a record of where it came from."""
    listed = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|", (STATIC / "ASSETS.md").read_text(), re.M))
    present = {str(path.relative_to(STATIC)) for path in STATIC.rglob("*") if path.is_file()} - OURS

    assert set(listed) == present
    for name, sha256 in listed.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == sha256, name


@asynccontextmanager
async def screenshot_on_failure(page: Page, path: Path) -> AsyncGenerator[None]:
    try:
        yield
    except (AssertionError, PlaywrightError) as failure:
        # Playwright's errors include its timeouts: the page never showed what was awaited.
        await page.screenshot(path=path)
        raise AssertionError(f"{failure} (the page at that moment: {path})") from failure


async def sign_in_from(page: Page) -> None:
    """Logs in with a request of the page's own, as a sign-in form of the site would: the cookie is the page's."""
    variables = {"input": {"email": EMAIL, "password": PASSWORD}}
    status = await page.evaluate(
        """async ([query, variables]) => (await fetch("/graphql", {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({query, variables}),
        })).status""",
        [LOGIN, variables],
    )
    assert status == 200


async def test_a_query_typed_into_the_explorer_runs_with_the_page_cookie(launch, tmp_path):
    server = await launch()
    async with httpx.AsyncClient(base_url=server.url) as http:
        await GraphQL(http).register(EMAIL)
    async with chromium() as browser:
        context = await browser.new_context()
        refused = await allow_only(context, server.url)
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: _note_error(message, problems))
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda request: problems.append(_failure(request)))

        async with screenshot_on_failure(page, tmp_path / "explorer.png"):
            await page.goto(f"{server.url}/graphql")
            editor = page.locator(".graphiql-query-editor .CodeMirror")
            await editor.wait_for(timeout=UI_TIMEOUT_MS)
            await sign_in_from(page)
            await editor.click()
            await page.keyboard.press("Control+A")
            await page.keyboard.insert_text("{ me { email } }")
            await page.locator(".graphiql-execute-button").click()
            await expect(page.locator(".graphiql-response")).to_contain_text(EMAIL, timeout=UI_TIMEOUT_MS)
            # A dialog adds inline style (the page's policy allows it for that): none may be refused.
            await page.get_by_label("Open settings dialog").click()
            await expect(page.get_by_role("dialog")).to_contain_text("Theme", timeout=UI_TIMEOUT_MS)

        assert refused == []
        assert problems == []


def _note_error(message: ConsoleMessage, problems: list[str]) -> None:
    """A policy violation or a resource that failed to load is logged by Chromium as an error."""
    if message.type == "error":
        problems.append(f"console: {message.text}")


def _failure(request: Request) -> str:
    return f"failed: {request.url} ({request.failure})"
