"""The example web app (examples/web) in Chromium, against a real `lunchtogether serve` on PostgreSQL that
runs only the documents in the manifest the app's build wrote, and sends its mail to a real SMTP server.

One user's whole journey, through the pages a person would use: sign up, open the link that arrived,
sign in, page through people, upload an avatar, forget the password and reset it through the link
that arrived (which signs out a second browser), sign in again, sign out everywhere. The app is on
http://localhost:<port> and the API on http://localhost:<another port>: two origins of one site, as a
deployment has them, so the cookie, CORS and the CSRF rule are the real ones.

Without Node, the app's npm packages or Chromium it is skipped in one line (under `CI` it fails). A
failure writes a screenshot of every step so far and names the folder.
"""

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser_support import allow_only, chromium, require_chromium
from tests.email_support import MailServer, eventually, link_received
from tests.servers import STARTUP_SECONDS, free_port
from tests.support import PASSWORD, image

WEB = Path(__file__).resolve().parent.parent / "examples" / "web"
MANIFEST = WEB / "src" / "gql" / "persisted-documents.json"
PAGE_SIZE = 10  # examples/web/src/pages/Users.tsx
OTHER_USERS = PAGE_SIZE + 2  # more than a page, so that "Load more" has something to load
NAME, EMAIL = "Ann Example", "ann@example.com"
NEW_PASSWORD = "a brand new passphrase"


def require_node() -> None:
    """Skips the test in one line without Node or the example's packages (under `CI` fails it instead)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        reason = "there is no Node.js: install Node 20.19+ with npm to run the example web app's test"
    elif not (WEB / "node_modules").is_dir():
        reason = "the example web app's packages are missing: npm ci --prefix examples/web"
    else:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


def build(api_url: str, out_dir: Path) -> None:
    """`npm run build` as a deployment runs it: codegen (which writes the manifest), type check, bundle."""
    result = subprocess.run(
        ["npm", "run", "build", "--", "--outDir", str(out_dir), "--emptyOutDir"],
        cwd=WEB,
        env=os.environ | {"VITE_API_URL": api_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"npm run build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@asynccontextmanager
async def preview(out_dir: Path, port: int) -> AsyncGenerator[str]:
    """`vite preview` serving the build (every unknown path answers index.html); stopped on exit."""
    log = out_dir.parent / "vite-preview.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *(str(WEB / "node_modules" / ".bin" / "vite"), "preview", "--outDir", str(out_dir)),
            *("--port", str(port), "--strictPort", "--host", "localhost"),
            cwd=WEB,
            stdout=output,
            stderr=output,
        )
    origin = f"http://localhost:{port}"
    try:
        try:
            await eventually(lambda: answers(f"{origin}/sign-in"), within=STARTUP_SECONDS)
        except AssertionError:
            pytest.fail(f"vite preview did not answer at {origin}: {log.read_text()[-2000:]}")
        yield origin
    finally:
        process.terminate()
        await process.wait()


async def answers(url: str) -> bool:
    async with httpx.AsyncClient(timeout=1) as client:
        try:
            return (await client.get(url)).status_code == 200
        except httpx.TransportError:
            return False


async def register_others(api_url: str) -> None:
    """Other people to list, registered by the app's own Register document, named by its id in the
    manifest: the server takes no other document (which is checked first)."""
    documents = json.loads(MANIFEST.read_text())
    [register] = [key for key, text in documents.items() if text.startswith("mutation Register(")]
    async with httpx.AsyncClient(timeout=30) as client:
        refused = (await client.post(api_url, json={"query": documents[register]})).json()
        assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_ONLY"
        for number in range(OTHER_USERS):
            variables = {
                "input": {"email": f"other{number}@example.com", "password": PASSWORD, "fullName": f"Other {number}"}
            }
            answer = await client.post(api_url, json={"documentId": register, "variables": variables})
            assert "errors" not in answer.json(), answer.text


class Journey:
    """The screenshots of each step, kept in memory and written out only when a step fails."""

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.screenshots: list[tuple[str, bytes]] = []

    async def step(self, name: str) -> None:
        for number, page in enumerate(self.pages, start=1):
            self.screenshots.append(
                (f"{len(self.screenshots) + 1:02d}-{name}-browser{number}.png", await page.screenshot())
            )

    async def save(self, folder: Path) -> Path:
        await self.step("failed")
        folder.mkdir(parents=True, exist_ok=True)
        for name, png in self.screenshots:
            (folder / name).write_bytes(png)
        return folder


@asynccontextmanager
async def journey(folder: Path) -> AsyncGenerator[Journey]:
    trail = Journey()
    try:
        yield trail
    except Exception as failure:  # re-raised: whatever failed a step, its screenshots go with it
        saved = await trail.save(folder)
        raise AssertionError(f"{failure}\nScreenshots of every step so far: {saved}") from failure


async def browser_page(browser: Browser, *origins: str) -> tuple[BrowserContext, Page, list[str]]:
    """A browser of its own (cookies and all), allowed to reach only the app and the API."""
    context = await browser.new_context()
    refused = await allow_only(context, *origins)
    return context, await context.new_page(), refused


async def sign_in(page: Page, origin: str, password: str) -> None:
    await page.goto(f"{origin}/sign-in")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_user_journey_through_the_example_app(launch, mail_server: MailServer, tmp_path: Path):
    require_node()
    require_chromium()
    api_port, app_port = free_port(), free_port()
    api = f"http://localhost:{api_port}"
    app_origin = f"http://localhost:{app_port}"
    out_dir = tmp_path / "dist"
    await asyncio.to_thread(build, f"{api}/graphql", out_dir)
    await launch(
        port=api_port,
        TRUSTED_DOCUMENTS=str(MANIFEST),
        TRUSTED_DOCUMENTS_ONLY="true",
        CORS_ORIGINS=app_origin,
        FRONTEND_URL=app_origin,
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(mail_server.port),
        SMTP_SECURITY="none",
    )
    await register_others(f"{api}/graphql")

    async with preview(out_dir, app_port), chromium() as browser, journey(tmp_path / "screenshots") as trail:
        first, page, refused = await browser_page(browser, app_origin, api)
        trail.pages.append(page)

        await page.goto(f"{app_origin}/sign-up")
        await page.get_by_label("Full name").fill(NAME)
        await page.get_by_label("Email").fill(EMAIL)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign up").click()
        await expect(page.get_by_role("status")).to_contain_text(f"We sent a link to {EMAIL}")
        await trail.step("signed-up")

        token = await link_received(mail_server, EMAIL, "verify-email", count=1, frontend_url=app_origin)
        await page.goto(f"{app_origin}/verify-email?token={token}")
        await expect(page.get_by_role("status")).to_have_text(f"{EMAIL} is verified. Thank you!")
        await trail.step("verified")

        await sign_in(page, app_origin, PASSWORD)
        await expect(page.get_by_role("heading", name=NAME)).to_be_visible()
        await expect(page.get_by_text(f"{EMAIL} — verified")).to_be_visible()
        await trail.step("signed-in")

        await page.get_by_role("link", name="People").click()
        people = page.get_by_role("list", name="People").get_by_role("listitem")
        await expect(people).to_have_count(PAGE_SIZE)
        first_page = await people.all_inner_texts()
        await page.get_by_role("button", name="Load more").click()
        await expect(people).to_have_count(OTHER_USERS + 1)
        assert (await people.all_inner_texts())[:PAGE_SIZE] == first_page
        await expect(page.get_by_role("button", name="Load more")).to_have_count(0)
        await trail.step("people")

        await page.get_by_role("link", name="Me").click()
        await page.get_by_label("Avatar").set_input_files(
            {"name": "me.png", "mimeType": "image/png", "buffer": image("PNG", (64, 64))}
        )
        await page.get_by_role("button", name="Upload").click()
        avatar = page.get_by_role("img", name="Your avatar")
        assert await avatar.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
        await trail.step("avatar")

        second, other_page, refused_too = await browser_page(browser, app_origin, api)
        trail.pages.append(other_page)
        await sign_in(other_page, app_origin, PASSWORD)
        await expect(other_page.get_by_role("heading", name=NAME)).to_be_visible()
        await trail.step("second-browser-signed-in")

        await page.goto(f"{app_origin}/sign-in")
        await page.get_by_role("link", name="Forgot your password?").click()
        await page.get_by_label("Email").fill(EMAIL)
        await page.get_by_role("button", name="Send me a link").click()
        await expect(page.get_by_role("status")).to_contain_text("is on its way")
        await trail.step("forgot-password")

        token = await link_received(mail_server, EMAIL, "reset-password", count=2, frontend_url=app_origin)
        await page.goto(f"{app_origin}/reset-password?token={token}")
        await page.get_by_label("New password").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Set the new password").click()
        await expect(page.get_by_role("status")).to_contain_text("Your new password is set")
        await trail.step("password-reset")

        await other_page.reload()
        await expect(other_page.get_by_role("heading", name="You are signed out")).to_be_visible()
        await trail.step("old-session-signed-out")

        await sign_in(page, app_origin, PASSWORD)
        await expect(page.get_by_role("alert")).to_contain_text("email or password")
        await sign_in(page, app_origin, NEW_PASSWORD)
        await expect(page.get_by_role("heading", name=NAME)).to_be_visible()
        await sign_in(other_page, app_origin, NEW_PASSWORD)
        await expect(other_page.get_by_role("heading", name=NAME)).to_be_visible()
        await trail.step("signed-in-with-the-new-password")

        await page.get_by_role("link", name="Sessions").click()
        await expect(page.get_by_role("list", name="Sessions").get_by_role("listitem")).to_have_count(2)
        await page.get_by_role("button", name="Sign out everywhere").click()
        await expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
        await other_page.reload()
        await expect(other_page.get_by_role("heading", name="You are signed out")).to_be_visible()
        await trail.step("signed-out-everywhere")

        assert refused + refused_too == []
        await first.close()
        await second.close()
